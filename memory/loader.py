"""The served model: the base model with the current memory version's adapter on top, and how an
adapter is written (fp16 on disk: half the bytes, and peft casts it back to fp32 on load)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from sleepd.storage.config import Config

from .model import LoadedModel, load_model, memory_of
from .precision import Precision, resolve, resolve_device
from .prior import Prior, prior_for_source

log = logging.getLogger(__name__)

WRITER_ADAPTER = "prior-writer"


def attach_writer(lm: LoadedModel, prior: Prior | None) -> bool:
    """Load ``prior``'s question writer beside ``lm``'s memory adapter, inactive until a turn asks
    for it (``ModelTurns.hold_adapter``; serving/rerank.py); False where there is none, or ``lm``
    carries no adapter to sit beside."""
    if prior is None or prior.writer_dir is None or not hasattr(lm.model, "load_adapter"):
        return False
    if WRITER_ADAPTER not in lm.model.peft_config:
        lm.model.load_adapter(str(prior.writer_dir), adapter_name=WRITER_ADAPTER)
    lm.writer = WRITER_ADAPTER
    return True


def detach_writer(lm: LoadedModel) -> None:
    """Remove the writer again: a trained model is saved without it."""
    if lm.writer is not None and lm.writer in lm.model.peft_config:
        lm.model.delete_adapter(lm.writer)
    lm.writer = None


def attach_adapter(lm: LoadedModel, adapter_dir: Any, trainable: bool = False) -> LoadedModel:
    from peft import PeftModel

    model = PeftModel.from_pretrained(lm.model, str(adapter_dir), is_trainable=trainable)
    if not trainable:
        model.eval()
    return LoadedModel(model, lm.tokenizer, lm.source)


def save_adapter(model: Any, out_dir: Path) -> None:
    """``model.save_pretrained`` with the adapter's float tensors stored as fp16.

    fp16 keeps 11 significant bits, bf16 only 8; LoRA weights are small (|w| well within fp16's
    normal range). On an adapter with random (not zero-initialised) B matrices the rounding moves
    no greedy answer and no logit by 1e-2 (tests/memory/test_versions.py); peft casts the weights
    back to fp32 on load, so the next sleep trains in fp32 as before.
    """
    from safetensors.torch import load_file, save_file

    model.save_pretrained(str(out_dir))
    for weights in out_dir.glob("*.safetensors"):
        tensors = load_file(str(weights))  # name -> tensor
        half = {k: t.half() if t.is_floating_point() else t for k, t in tensors.items()}
        save_file(half, str(weights), metadata={"format": "pt"})


def serving_precision(config: Config) -> Precision:
    """The number format chat decodes in (``model.dtype``; probed on decoding's shape)."""
    device = resolve_device(config.model.device)
    return resolve(config.model.dtype, "serve", config.paths.state_dir, device=device)


def load_with_memory(config: Config, version: int | None = None) -> tuple[LoadedModel, int | None]:
    """Base model plus memory ``version`` (default: current), in the serving number format, with
    the prior's question writer beside it where there is one; returns the version used."""
    import torch

    lm = load_model(config, dtype=torch.bfloat16 if serving_precision(config).bf16 else torch.float32)
    versions = memory_of(config)
    version = versions.current() if version is None else version
    if version is None:
        return lm, None
    served = attach_adapter(lm, versions.path_of(version))
    # the prior's question writer picks among recitations (serving/rerank.py)
    attach_writer(served, prior_for_source(config, lm.source))
    return served, version
