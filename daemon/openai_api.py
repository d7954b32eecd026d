"""An OpenAI-compatible chat API (``/v1/models``, ``/v1/chat/completions``), so any OpenAI client gets
the memory: answered through the same path as ``sleepd chat`` (weights + buffer, or weights alone for
the ``sleepd-closed-book`` model).

Supported: ``messages`` (system / user / assistant text), ``stream`` (SSE chunks, then ``[DONE]``),
``temperature``, ``max_tokens`` / ``max_completion_tokens``, ``stop``, ``user``. Fields asking for what
a local memory model does not do (tools, several choices, JSON mode, logprobs, audio) get OpenAI's
error shape, status 400; so does a bad request body.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from .api_deps import DaemonDep
from .core import Daemon
from .prompt_limits import PromptTooLong
from .serving import ChatRequest
from .streaming import collect, events

log = logging.getLogger(__name__)
router = APIRouter()

CLOSED_BOOK_MODEL = "sleepd-closed-book"
# Fields with these values are what every client sends by default; anything else is unsupported.
_UNSUPPORTED: dict[str, Any] = {
    "tools": None,
    "tool_choice": None,
    "functions": None,
    "function_call": None,
    "logprobs": False,
    "top_logprobs": None,
    "audio": None,
    "prediction": None,
}


class ChatMessage(BaseModel):
    role: str = Field(pattern="^(system|developer|user|assistant)$")
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):  # content parts: only text parts are read
            return "\n".join(str(p.get("text", "")) for p in self.content if p.get("type") == "text")
        return self.content or ""


class CompletionIn(BaseModel):
    model_config = ConfigDict(extra="allow")  # checked against _UNSUPPORTED, others ignored

    model: str
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, ge=1, le=8192)
    max_completion_tokens: int | None = Field(default=None, ge=1, le=8192)
    stop: str | list[str] | None = None
    n: int = 1
    user: str | None = None
    response_format: dict[str, Any] | None = None


def openai_error(
    status: int, message: str, param: str | None = None, code: str | None = None
) -> JSONResponse:
    kind = "invalid_request_error" if status < 500 else "server_error"
    if status == 401:
        kind = "authentication_error"
    body = {"error": {"message": message, "type": kind, "param": param, "code": code}}
    return JSONResponse(body, status_code=status)


def model_ids(daemon: Daemon) -> list[str]:
    """The served memory version (``sleepd-v3``; ``sleepd-base`` before any sleep), closed-book."""
    version = daemon.chat.version
    return [f"sleepd-v{version}" if version is not None else "sleepd-base", CLOSED_BOOK_MODEL]


def _unsupported(body: CompletionIn) -> str | None:
    extra = body.model_extra or {}
    for name, default in _UNSUPPORTED.items():
        if extra.get(name, default) not in (default, [], {}):
            return name
    if body.n != 1:
        return "n"
    if body.response_format and body.response_format.get("type") not in (None, "text"):
        return "response_format"
    return None


class _StopCutter:
    """Cuts streamed text at the first stop string, holding back a tail that might begin one."""

    def __init__(self, stops: list[str]) -> None:
        self.stops = [s for s in stops if s]
        self.hold = max((len(s) for s in self.stops), default=1) - 1
        self.buffer = ""
        self.stopped = False

    def feed(self, piece: str) -> str:
        self.buffer += piece
        cut = min((i for i in (self.buffer.find(s) for s in self.stops) if i >= 0), default=-1)
        if cut >= 0:
            out, self.buffer, self.stopped = self.buffer[:cut], "", True
            return out
        ready = len(self.buffer) - self.hold
        out, self.buffer = (self.buffer[:ready], self.buffer[ready:]) if ready > 0 else ("", self.buffer)
        return out

    def flush(self) -> str:
        out, self.buffer = self.buffer, ""
        return out


def _request(body: CompletionIn, client: str) -> ChatRequest:
    system = "\n\n".join(m.text() for m in body.messages if m.role in ("system", "developer")) or None
    talk = [(m.role, m.text()) for m in body.messages if m.role in ("user", "assistant")]
    if not talk or talk[-1][0] != "user" or not talk[-1][1].strip():
        raise ValueError("the last message must be the user's, with text")
    return ChatRequest(
        message=talk[-1][1],
        system=system,
        closed_book=body.model == CLOSED_BOOK_MODEL,
        history=tuple(talk[:-1]),
        client=client,
        max_tokens=body.max_completion_tokens or body.max_tokens,
        temperature=body.temperature,
    )


def finish_reason(ending: str) -> str:
    """OpenAI's finish_reason for how a sleepd answer ended: "length" for one cut at its token limit
    or for starting to repeat itself (the answer is not whole either way), else "stop"."""
    return "length" if ending in ("length", "repetition") else "stop"


def _tokens(text: str) -> int:
    return max(1, len(text.split())) if text else 0  # whitespace words: no tokenizer on this path


def add_error_handler(app: FastAPI) -> None:
    """Request validation errors: OpenAI's error shape under /v1/, a one-line detail elsewhere."""

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(x) for x in first.get("loc", ()) if x != "body")
        message = f"{where}: {first.get('msg', 'invalid request')}" if where else "invalid request body"
        if request.url.path.startswith("/v1/"):
            return openai_error(400, message, where or None)
        return JSONResponse({"detail": message}, status_code=422)


@router.get("/v1/models")
def models(daemon: DaemonDep) -> dict[str, Any]:
    now = int(time.time())
    return {
        "object": "list",
        "data": [
            {"id": m, "object": "model", "created": now, "owned_by": "sleepd"} for m in model_ids(daemon)
        ],
    }


@router.post("/v1/chat/completions", response_model=None)
async def completions(
    body: CompletionIn, request: Request, daemon: DaemonDep
) -> JSONResponse | StreamingResponse:
    if body.model not in model_ids(daemon) and not body.model.startswith("sleepd"):
        return openai_error(404, f"no model {body.model!r}; see /v1/models", "model", "model_not_found")
    field = _unsupported(body)
    if field is not None:
        return openai_error(400, f"{field} is not supported by sleepd", field, "unsupported_parameter")
    client = body.user or request.headers.get("user-agent", "unknown client")
    try:
        req = _request(body, client[:80])
    except ValueError as e:
        return openai_error(400, str(e), "messages")
    try:
        daemon.chat.check(req)  # before any tokenizing of a huge message: a length check first
    except PromptTooLong as e:
        return openai_error(400, str(e), "messages", "context_length_exceeded")
    cancel = threading.Event()  # set when the client goes: the answer stops at its next step
    stops = [body.stop] if isinstance(body.stop, str) else list(body.stop or [])
    cid, created = f"chatcmpl-{uuid.uuid4().hex[:24]}", int(time.time())
    model = body.model

    def pieces() -> Iterator[tuple[str, str | None]]:
        """(text, finish reason at the end)"""
        cutter = _StopCutter(stops)
        chat_events = daemon.chat.chat(req, cancel)
        finish = "stop"
        try:
            for event in chat_events:
                if "done" in event:
                    finish = finish_reason(event.get("finish", "stop"))
                if "token" in event:
                    text = cutter.feed(event["token"])
                    if text:
                        yield text, None
                    if cutter.stopped:
                        yield "", "stop"
                        return
        finally:
            chat_events.close()
        yield cutter.flush(), finish

    if not body.stream:
        got = await collect(pieces(), request, cancel)
        answer = "".join(text for text, _ in got)
        finish = next((f for _t, f in reversed(got) if f), "stop")
        message = {"role": "assistant", "content": answer}
        return JSONResponse(
            {
                "id": cid,
                "object": "chat.completion",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                "usage": {
                    "prompt_tokens": _tokens(req.message),
                    "completion_tokens": _tokens(answer),
                    "total_tokens": _tokens(req.message) + _tokens(answer),
                },
            }
        )

    def sse() -> Iterator[bytes]:
        def chunk(delta: dict[str, Any], finish: str | None) -> bytes:
            choice = {"index": 0, "delta": delta, "finish_reason": finish}
            data = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model}
            return f"data: {json.dumps({**data, 'choices': [choice]})}\n\n".encode()

        yield chunk({"role": "assistant", "content": ""}, None)
        try:
            for text, finish in pieces():
                if text:
                    yield chunk({"content": text}, None)
                if finish:
                    yield chunk({}, finish)
        except Exception as e:  # the stream has begun: report in-band, as OpenAI does
            log.exception("API chat failed")
            error = {"error": {"message": str(e), "type": "server_error"}}
            yield f"data: {json.dumps(error)}\n\n".encode()
        yield b"data: [DONE]\n\n"

    return StreamingResponse(events(sse(), cancel), media_type="text/event-stream")
