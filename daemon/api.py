"""The local API (FastAPI), served on the unix socket by ``daemon.process``: one router per area.

- ``routes_chat``: ``/chat`` streams NDJSON, one JSON object per line ({"session", "sources"}, then
  {"token"} pieces, then {"done"}; {"error"} if it fails midway), ``/search``, ``/remember``;
- ``routes_sources``: ``/sources``, ``/watch``, ``/watch/remove``, ``/ingest``;
- ``routes_memory``: ``/status``, ``/sleep``, ``/memory``, ``/memory/rollback``, ``/memory/forget``;
- ``openai_api``: ``/v1/models``, ``/v1/chat/completions``.

Bad requests get 4xx with a one-line ``detail`` (OpenAI's error shape under ``/v1/``). Every route
reaches the running ``Daemon`` through ``app.state`` (``api_deps.DaemonDep``).
"""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from . import openai_api, routes_chat, routes_memory, routes_sources
from .core import Daemon
from .openai_api import openai_error

MAX_BODY_BYTES = 1 << 20  # a chat message or a list of paths; anything bigger is a mistake or an attack


def over_tcp(request: Request) -> bool:
    """uvicorn gives a unix-socket request no client address, a TCP one (host, port)."""
    return isinstance(request.scope.get("client"), (tuple, list))


def make_app(daemon: Daemon, token: str | None = None) -> FastAPI:
    """``token``: the bearer token every request over TCP must carry (None: no TCP listener)."""
    app = FastAPI(title="sleepd", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.daemon = daemon
    openai_api.add_error_handler(app)
    for module in (routes_chat, routes_sources, routes_memory, openai_api):
        app.include_router(module.router)

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
            message = f"request body over {MAX_BODY_BYTES:,} bytes"
            if request.url.path.startswith("/v1/"):
                return openai_error(413, message, None, "request_too_large")
            return JSONResponse({"detail": message}, status_code=413)
        return await call_next(request)

    return app
