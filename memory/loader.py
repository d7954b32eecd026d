"""The served model: the base model with the current memory version's adapter on top."""

from __future__ import annotations

import logging
from typing import Any

from sleepd.storage.config import Config

from .model import LoadedModel, load_model
from .versions import VersionStore

log = logging.getLogger(__name__)


def attach_adapter(lm: LoadedModel, adapter_dir: Any, trainable: bool = False) -> LoadedModel:
    from peft import PeftModel

    model = PeftModel.from_pretrained(lm.model, str(adapter_dir), is_trainable=trainable)
    if not trainable:
        model.eval()
    return LoadedModel(model, lm.tokenizer, lm.source)


def load_with_memory(config: Config, version: int | None = None) -> tuple[LoadedModel, int | None]:
    """Base model plus memory ``version`` (default: current); returns the version used."""
    lm = load_model(config)
    versions = VersionStore(config.paths.data_dir)
    version = versions.current() if version is None else version
    if version is None:
        return lm, None
    return attach_adapter(lm, versions.path_of(version)), version
