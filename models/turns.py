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
from contextlib import AbstractContextManager as ContextManager
from contextlib import contextmanager
from typing import Any

Adapter = bool | str  # False: none; True: the served adapter (the memory); a name: that adapter
SERVED = "default"  # peft's name for the first adapter: the memory


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
        self._adapter: Adapter | None = None  # unknown until the first turn sets it

    @property
    def served(self) -> str | None:
        """The adapter ``True`` means: the memory (peft's "default"); None where the model carries
        no memory (a plain model, or one with only a prior's adapter), so ``True`` is ``False``."""
        return SERVED if SERVED in (getattr(self._model, "peft_config", None) or {}) else None

    def _resolve(self, adapter: Adapter) -> Adapter:
        """``True`` as the served adapter's name, or ``False`` where there is none."""
        if adapter is True:
            return self.served if self.served is not None else False
        return adapter

    def _apply(self, adapter: Adapter) -> None:
        if adapter is False:
            set_adapter_enabled(self._model, False)
            return
        if self._model.active_adapter != adapter:
            self._model.set_adapter(adapter, inference_mode=True)
        set_adapter_enabled(self._model, True)

    def _acquire(self, adapter: Adapter, fresh: bool = False) -> None:
        adapter = self._resolve(adapter)
        me = object()
        with self._cond:
            self._queue.append(me)
            while self._held or self._queue[0] is not me:
                self._cond.wait()
            self._queue.popleft()
            self._held = True
        if fresh:  # code outside any turn (training, a test) may have switched it since
            self._adapter = None
        if self._adapter != adapter:
            self._apply(adapter)
            self._adapter = adapter

    def _release(self) -> None:
        with self._cond:
            self._held = False
            self._cond.notify_all()

    @contextmanager
    def hold(self, adapter: Adapter = True) -> Iterator[None]:
        """The model is this thread's (adapter as asked) until the block ends or it passes a turn."""
        self._acquire(adapter, fresh=True)
        try:
            yield
        finally:
            # leave it as peft's default (the served adapter, on): code outside turns trains it
            if self.served is not None and self._adapter != self.served:
                self._apply(self.served)
                self._adapter = self.served
            elif self._adapter is False:
                set_adapter_enabled(self._model, True)
                self._adapter = True
            self._release()

    def hold_adapter(self, name: str) -> ContextManager[None]:
        """The model with peft adapter ``name`` active in place of the served one for the block (the
        question writer scoring recitations); the served one is back after."""
        return self.hold(name)

    def pass_turn(self, adapter: Adapter = True) -> None:
        """Between two steps of a held generation: let those waiting go first, then take it back."""
        if not self._queue:  # read without the lock: a newcomer just waits one more step
            return
        self._release()
        self._acquire(adapter)

    @property
    def waiting(self) -> int:
        return len(self._queue)
