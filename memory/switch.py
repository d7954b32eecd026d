"""Switching base model keeps each model's memory apart.

An adapter fits only the model it was trained on, so each base model has its own memory versions
(``model.memory_of``). The buffer is shared, but its marks ("consolidated in version 3") are one
model's: after a switch they are re-made from the new model's own versions, so its next sleep learns
what it has not, and switching back finds the first model's memory as it was.
"""

from __future__ import annotations

import logging
import os

from sleepd.memory.versions import memory_of
from sleepd.models.model import BUNDLED_NAME
from sleepd.storage import Store
from sleepd.storage.config import Config

log = logging.getLogger(__name__)

MARK_FILE = "buffer-model"  # under the data dir: the model whose memory the buffer's marks are


def model_key(config: Config) -> str:
    return config.model.name_or_path or BUNDLED_NAME


def align_buffer(config: Config, store: Store) -> int | None:
    """Make the buffer's marks those of ``config``'s model if they were another's; returns the
    passages now pending for it, or None when nothing changed (a first start keeps the marks)."""
    mark = config.paths.data_dir / MARK_FILE
    key = model_key(config)
    before = mark.read_text(encoding="utf-8").strip() if mark.exists() else None
    if before == key:
        return None
    pending = store.rebase_memory(memory_of(config).current()) if before is not None else None
    if pending is not None:
        log.info("buffer marks now %s's memory (were %s's): %d passages pending for it", key, before, pending)
    tmp = mark.with_suffix(".tmp")
    tmp.write_text(key + "\n", encoding="utf-8")
    os.replace(tmp, mark)
    return pending
