"""``/chat`` (NDJSON stream), ``/search`` and ``/remember``: the buffer and the served model."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, HTTPException
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from sleepd.storage import NewPassage

from .api_deps import DaemonDep
from .openai_api import CLOSED_BOOK_MODEL, model_ids
from .streaming import events

log = logging.getLogger(__name__)
router = APIRouter()


class ChatIn(BaseModel):
    message: str = Field(min_length=1, max_length=100_000)
    session_id: int | None = None
    new_session: bool = False
    system: str | None = None
    closed_book: bool = False
    remember: bool | None = None
    model: str | None = Field(default=None, max_length=100)  # a /v1/models id, as `chat -m` sends it


class RememberIn(BaseModel):
    text: str = Field(min_length=1, max_length=100_000)
    client: str = Field(default="api", min_length=1, max_length=80, pattern=r"^[\w.@ -]+$")


@router.post("/chat")
def chat(body: ChatIn, daemon: DaemonDep) -> StreamingResponse:
    from .prompt_limits import PromptTooLong
    from .serving import ChatRequest

    fields = body.model_dump(exclude={"model"})
    if body.model is not None:
        served = model_ids(daemon)
        if body.model not in served:
            raise HTTPException(404, f"no model {body.model!r} served; choose one of {', '.join(served)}")
        fields["closed_book"] = fields["closed_book"] or body.model == CLOSED_BOOK_MODEL
    req = ChatRequest(**fields)
    if req.session_id is not None and not req.new_session and not daemon.store.session_exists(req.session_id):
        raise HTTPException(404, f"no chat session {req.session_id}")
    try:
        daemon.chat.check(req)
    except PromptTooLong as e:
        raise HTTPException(400, str(e)) from None
    cancel = threading.Event()

    def lines() -> Iterator[bytes]:
        try:
            for event in daemon.chat.chat(req, cancel):
                yield (json.dumps(event) + "\n").encode()
        except Exception as e:  # the stream has begun: report in-band
            log.exception("chat failed")
            yield (json.dumps({"error": f"{type(e).__name__}: {e}"}) + "\n").encode()

    return StreamingResponse(events(lines(), cancel), media_type="application/x-ndjson")


@router.get("/search")
def search(q: str, daemon: DaemonDep, k: int = 5) -> list[dict[str, Any]]:
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


@router.post("/remember")
def remember(body: RememberIn, daemon: DaemonDep) -> dict[str, Any]:
    """A note for the next sleep; searchable (and read by chat) at once."""
    n = daemon.ingestor.count_tokens(body.text)
    pid = daemon.store.remember_note(body.client, NewPassage(body.text, n, "user"))
    return {"passage": pid, "status": "pending", "path": f"sleepd-note://{body.client}"}
