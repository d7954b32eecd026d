"""Answers that stop when their client goes.

A chat is a blocking iterator (the model's steps run in a worker thread). Starlette iterates a
sync iterator in its threadpool and, when the client disconnects, cancels the response without
closing the iterator, so the answer would run on to its token limit while holding the model's turns.
Here the iterator is pulled from the event loop (``events``), and a client that goes sets the
chat's ``cancel`` event, which ends the generation at its next decoding step:

- streamed responses: Starlette cancels the body's iteration; ``finally`` sets ``cancel``;
- whole (non-streamed) answers: ``until_disconnected`` polls the request meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any, TypeVar

import anyio.to_thread

log = logging.getLogger(__name__)
T = TypeVar("T")
_END = object()
POLL_S = 0.25


async def events(it: Iterator[T], cancel: threading.Event) -> AsyncIterator[T]:
    """``it``'s items, each taken in a worker thread; when the consumer stops (a cancelled stream,
    an early close) or ``it`` ends, ``cancel`` is set and ``it`` is run to its end in the background
    (its generation stops at the next step; the chat then stores what it had said)."""
    lock = threading.Lock()  # one thread at a time inside the generator

    def step() -> Any:
        with lock:
            return next(it, _END)

    try:
        while True:
            # abandon_on_cancel: a cancelled stream returns at once, the thread finishes its step
            item = await anyio.to_thread.run_sync(step, abandon_on_cancel=True)
            if item is _END:
                return
            yield item
    finally:
        cancel.set()
        threading.Thread(target=_drain, args=(it, lock), name="sleepd-drain", daemon=True).start()


def _drain(it: Iterator[Any], lock: threading.Lock) -> None:
    with lock:
        try:
            for _ in it:
                pass
        except Exception:  # the client is gone: nobody to tell but the log
            log.exception("an abandoned answer failed while ending")


async def until_disconnected(request: Any, cancel: threading.Event) -> None:
    """Set ``cancel`` once ``request``'s client has gone (run beside a whole answer's work)."""
    while not cancel.is_set():
        if await request.is_disconnected():
            cancel.set()
            return
        await asyncio.sleep(POLL_S)


async def collect(it: Iterator[T], request: Any, cancel: threading.Event) -> list[T]:
    """All of ``it``'s items, stopping early (``cancel``) if the client goes meanwhile."""
    watcher = asyncio.create_task(until_disconnected(request, cancel))
    try:
        return [item async for item in events(it, cancel)]
    finally:
        cancel.set()
        watcher.cancel()
