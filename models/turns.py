"""Sharing one model between generations, one decoding step at a time.

A model is not re-entrant, and a LoRA adapter is switched on and off on the model itself. Holding a
lock for a whole answer would let one long (or stalled) answer block every other chat; instead each
generation holds the model for one step, and between two steps hands it to whoever waits, in
arrival order. Every turn sets the adapter the way its holder asked, so an answer read with the
adapter off and a recitation with it on can interleave.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def set_adapter_enabled(model: Any, on: bool) -> None:
    """Switch a peft model's adapter layers on or off (a plain model has none: nothing to do)."""
    base = getattr(model, "base_model", None)
    if hasattr(model, "disable_adapter") and base is not None:
        base.enable_adapter_layers() if on else base.disable_adapter_layers()


class ModelTurns:
    """A fair (FIFO) step-granular lock over one model, remembering its adapter state."""

    def __init__(self, model: Any) -> None:
        self._model = model
        self._cond = threading.Condition()
        self._queue: deque[object] = deque()
        self._held = False
        self._adapter_on: bool | None = None  # unknown until the first turn sets it

    def _acquire(self, adapter_on: bool, fresh: bool = False) -> None:
        me = object()
        with self._cond:
            self._queue.append(me)
            while self._held or self._queue[0] is not me:
                self._cond.wait()
            self._queue.popleft()
            self._held = True
        if fresh:  # code outside any turn (training, a test) may have switched it since
            self._adapter_on = None
        if self._adapter_on is not adapter_on:
            set_adapter_enabled(self._model, adapter_on)
            self._adapter_on = adapter_on

    def _release(self) -> None:
        with self._cond:
            self._held = False
            self._cond.notify_all()

    @contextmanager
    def hold(self, adapter_on: bool = True) -> Iterator[None]:
        """The model is this thread's (adapter as asked) until the block ends or it passes a turn."""
        self._acquire(adapter_on, fresh=True)
        try:
            yield
        finally:
            if self._adapter_on is False:  # leave it as peft's default: code outside turns trains it
                set_adapter_enabled(self._model, True)
                self._adapter_on = True
            self._release()

    @contextmanager
    def hold_adapter(self, name: str) -> Iterator[None]:
        """The model is this thread's for the block with peft adapter ``name`` active in place of
        the served one (the question writer scoring recitations); the served one is back after."""
        self._acquire(True, fresh=True)
        served = self._model.active_adapter
        try:
            self._model.set_adapter(name, inference_mode=True)
            yield
        finally:
            self._model.set_adapter(served, inference_mode=True)
            self._release()

    def pass_turn(self, adapter_on: bool = True) -> None:
        """Between two steps of a held generation: let those waiting go first, then take it back."""
        if not self._queue:  # read without the lock: a newcomer just waits one more step
            return
        self._release()
        self._acquire(adapter_on)

    @property
    def waiting(self) -> int:
        return len(self._queue)
