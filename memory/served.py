"""The served model: the base model with the current memory version's adapter on top, and the
consolidation prior's question writer beside it."""

from __future__ import annotations

import logging

from sleepd.models.adapters import add_adapter_beside, attach_adapter, remove_adapter, with_named_adapter
from sleepd.models.model import LoadedModel, load_model
from sleepd.models.precision import serving_precision
from sleepd.storage.config import Config

from .prior import Prior, prior_for_source
from .versions import memory_of

log = logging.getLogger(__name__)

WRITER_ADAPTER = "prior-writer"
READER_ADAPTER = "prior-reader"


def attach_writer(lm: LoadedModel, prior: Prior | None) -> bool:
    """Load ``prior``'s question writer beside ``lm``'s memory adapter, inactive until a turn asks
    for it (``ModelTurns.hold_adapter``; serving/rerank.py); False where there is none, or ``lm``
    carries no adapter to sit beside."""
    if (
        prior is None
        or prior.writer_dir is None
        or not add_adapter_beside(lm, prior.writer_dir, WRITER_ADAPTER)
    ):
        return False
    lm.writer = WRITER_ADAPTER
    return True


def attach_reader(lm: LoadedModel, prior: Prior | None) -> LoadedModel:
    """``lm`` with ``prior``'s reader beside its memory (or alone on a model without one yet), the
    adapter notes are read with; ``lm`` itself where the prior has no reader."""
    if prior is None or prior.reader_dir is None:
        return lm
    if not add_adapter_beside(lm, prior.reader_dir, READER_ADAPTER):
        lm = with_named_adapter(lm, prior.reader_dir, READER_ADAPTER)
    lm.reader = READER_ADAPTER
    return lm


def detach_reader(lm: LoadedModel) -> None:
    """Remove the reader again: a trained model is saved without it."""
    if lm.reader is not None:
        remove_adapter(lm, lm.reader)
    lm.reader = None


def detach_writer(lm: LoadedModel) -> None:
    """Remove the writer again: a trained model is saved without it."""
    if lm.writer is not None:
        remove_adapter(lm, lm.writer)
    lm.writer = None


def load_with_memory(config: Config, version: int | None = None) -> tuple[LoadedModel, int | None]:
    """Base model plus memory ``version`` (default: current), in the serving number format, with
    the prior's question writer and reader beside it where there are; returns the version used."""
    import torch

    lm = load_model(config, dtype=torch.bfloat16 if serving_precision(config).bf16 else torch.float32)
    prior = prior_for_source(config, lm.source)
    versions = memory_of(config)
    version = versions.current() if version is None else version
    if version is None:
        return attach_reader(lm, prior), None
    served = attach_adapter(lm, versions.path_of(version))
    # the prior's question writer picks among recitations (serving/rerank.py)
    attach_writer(served, prior)
    return attach_reader(served, prior), version
