"""The local API (FastAPI), served on the unix socket by ``daemon.process``.

Chat streams NDJSON: one JSON object per line ({"session", "sources"}, then {"token"} pieces, then
{"done"}; {"error"} if it fails midway). Bad requests get 4xx with a one-line ``detail``.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field

from sleepd.memory.versions import VersionStore
from sleepd.storage import NewPassage
from sleepd.storage.errors import VersionError

from .core import Daemon
from .openai_api import CLOSED_BOOK_MODEL, add_openai_routes, model_ids, openai_error

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1 << 20  # a chat message or a path; anything bigger is a mistake or an attack


class ChatIn(BaseModel):
    message: str = Field(min_length=1, max_length=100_000)
    session_id: int | None = None
    new_session: bool = False
    system: str | None = None
    closed_book: bool = False
    remember: bool | None = None
    model: str | None = Field(default=None, max_length=100)  # a /v1/models id, as `chat -m` sends it


class WatchIn(BaseModel):
    path: str = Field(min_length=1, max_length=4096)
    kind: str = Field(default="auto", pattern="^(auto|docs|chat)$")
    include: list[str] = []
    exclude: list[str] = []


class PathIn(BaseModel):
    path: str = Field(min_length=1, max_length=4096)
    undo: bool = False


class VersionIn(BaseModel):
    version: int = Field(ge=0)


class RememberIn(BaseModel):
    text: str = Field(min_length=1, max_length=100_000)
    client: str = Field(default="api", min_length=1, max_length=80, pattern=r"^[\w.@ -]+$")


def over_tcp(request: Request) -> bool:
    """uvicorn gives a unix-socket request no client address, a TCP one (host, port)."""
    return isinstance(request.scope.get("client"), (tuple, list))


def make_app(daemon: Daemon, token: str | None = None) -> FastAPI:
    """``token``: the bearer token every request over TCP must carry (None: no TCP listener)."""
    app = FastAPI(title="sleepd", docs_url=None, redoc_url=None, openapi_url=None)
    add_openai_routes(app, daemon)

    @app.middleware("http")
    async def bearer_on_tcp(request: Request, call_next: Any) -> Any:
        if over_tcp(request):
            sent = request.headers.get("authorization", "")
            if token is None or not hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
                return openai_error(401, "missing or wrong bearer token (see `sleepd token`)")
        return await call_next(request)

    @app.middleware("http")
    async def limit_body(request: Request, call_next: Any) -> Any:
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
            return JSONResponse({"detail": f"request body over {MAX_BODY_BYTES} bytes"}, status_code=413)
        return await call_next(request)

    @app.get("/status")
    def status() -> dict[str, Any]:
        return {
            **daemon.status(),
            **daemon.store.counts(),
            "memory_version": VersionStore(daemon.config.paths.data_dir).current(),
        }

    @app.post("/chat")
    def chat(body: ChatIn) -> StreamingResponse:
        from .serving import ChatRequest

        fields = body.model_dump(exclude={"model"})
        if body.model is not None:
            served = model_ids(daemon)
            if body.model not in served:
                raise HTTPException(404, f"no model {body.model!r} served; choose one of {', '.join(served)}")
            fields["closed_book"] = fields["closed_book"] or body.model == CLOSED_BOOK_MODEL
        req = ChatRequest(**fields)
        if (
            req.session_id is not None
            and not req.new_session
            and not daemon.store.session_exists(req.session_id)
        ):
            raise HTTPException(404, f"no chat session {req.session_id}")

        def lines() -> Iterator[bytes]:
            try:
                for event in daemon.chat.chat(req):
                    yield (json.dumps(event) + "\n").encode()
            except Exception as e:  # the stream has begun: report in-band
                log.exception("chat failed")
                yield (json.dumps({"error": f"{type(e).__name__}: {e}"}) + "\n").encode()

        return StreamingResponse(lines(), media_type="application/x-ndjson")

    @app.get("/search")
    def search(q: str, k: int = 5) -> list[dict[str, Any]]:
        """Buffer passages (pending and consolidated) for ``q``, best first, with their paths."""
        return [
            {
                "path": h.passage.source_path,
                "status": h.passage.status,
                "score": round(h.score, 3),
                "text": h.passage.text,
            }
            for h in daemon.store.search(q, k=max(1, min(k, 50)))
        ]

    @app.post("/remember")
    def remember(body: RememberIn) -> dict[str, Any]:
        """A note for the next sleep; searchable (and read by chat) at once."""
        n = daemon.ingestor.count_tokens(body.text)
        pid = daemon.store.remember_note(body.client, NewPassage(body.text, n, "user"))
        return {"passage": pid, "status": "pending", "path": f"sleepd-note://{body.client}"}

    @app.get("/sources")
    def sources(status: str | None = None) -> list[dict[str, Any]]:
        if status not in (None, "ok", "skipped", "deleted"):
            raise HTTPException(400, "status must be ok, skipped or deleted")
        return [
            {
                "path": s.path,
                "kind": s.kind,
                "status": s.status,
                "reason": s.reason,
                "passages": s.passages,
                "format": s.format,
                "turns": s.turns,
            }
            for s in daemon.store.list_sources(status=status)
        ]

    @app.post("/watch")
    def watch_add(body: WatchIn) -> dict[str, Any]:
        try:
            folder = daemon.add_watch(body.path, body.kind, body.include, body.exclude)
        except ValueError as e:
            raise HTTPException(400, str(e)) from None
        return {"watching": folder}

    @app.post("/watch/remove")
    def watch_remove(body: PathIn) -> dict[str, Any]:
        folder = os.path.realpath(os.path.expanduser(body.path))
        if not daemon.remove_watch(folder):
            raise HTTPException(404, f"not watched: {folder}")
        return {"removed": folder}

    @app.post("/sleep")
    def sleep() -> dict[str, Any]:
        started = daemon.sleep_now("requested")
        return {"started": started, **daemon.sleeper.snapshot()}

    @app.get("/memory")
    def memory() -> list[dict[str, Any]]:
        versions = VersionStore(daemon.config.paths.data_dir)
        current = versions.current()
        return [
            {
                "version": v.id,
                "current": v.id == current,
                "passages": len(v.meta.get("passages", [])),
                "layers": len(v.meta.get("layers", [])),
                "final_loss": (v.meta.get("losses") or [None])[-1],
            }
            for v in versions.list()
        ]

    @app.post("/memory/rollback")
    def rollback(body: VersionIn) -> dict[str, Any]:
        try:
            VersionStore(daemon.config.paths.data_dir).set_current(body.version or None)
        except VersionError as e:
            raise HTTPException(404, str(e)) from None
        daemon.chat.swap_to(body.version or None)
        return {"serving": body.version or None}

    @app.post("/memory/forget")
    def forget(body: PathIn) -> dict[str, Any]:
        path = daemon.store.resolve_source_path(body.path)
        if body.undo:
            if not daemon.store.unforget_source(path):
                raise HTTPException(404, f"{path} is not forgotten")
            return {"unforgotten": path}
        try:
            return {"forgotten": path, "passages": daemon.store.forget_source(path)}
        except LookupError as e:
            raise HTTPException(404, str(e)) from None

    return app
