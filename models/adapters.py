"""LoRA adapters on a loaded model: put one on (for serving or to train further) and write one
(fp16 on disk: half the bytes, and peft casts it back to fp32 on load)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .model import LoadedModel


def attach_adapter(lm: LoadedModel, adapter_dir: Any, trainable: bool = False) -> LoadedModel:
    from peft import PeftModel

    model = PeftModel.from_pretrained(lm.model, str(adapter_dir), is_trainable=trainable)
    if not trainable:
        model.eval()
    return LoadedModel(model, lm.tokenizer, lm.source)


def with_named_adapter(lm: LoadedModel, adapter_dir: Path, name: str) -> LoadedModel:
    """``lm``'s plain model wrapped with the adapter at ``adapter_dir`` under ``name`` (a model that
    carries no adapter yet; turns switch it on only when asked for by name)."""
    from peft import PeftModel

    model = PeftModel.from_pretrained(lm.model, str(adapter_dir), adapter_name=name)
    model.eval()
    return LoadedModel(model, lm.tokenizer, lm.source, writer=lm.writer)


def adapter_on_a_copy(base_model: Any, adapter_dir: Path) -> Any:
    """The adapter at ``adapter_dir`` on a copy of ``base_model``, in eval mode: the base model
    itself stays as it is."""
    import copy

    from peft import PeftModel

    model = PeftModel.from_pretrained(copy.deepcopy(base_model), str(adapter_dir))
    model.eval()
    return model


def add_adapter_beside(lm: LoadedModel, adapter_dir: Path, name: str) -> bool:
    """Load a second adapter beside ``lm``'s own, inactive until switched to; False when ``lm``
    carries no adapter to sit beside."""
    from peft import PeftModel

    if not isinstance(lm.model, PeftModel):  # (transformers models have a load_adapter of their own)
        return False
    if name not in lm.model.peft_config:
        lm.model.load_adapter(str(adapter_dir), adapter_name=name)
    return True


def remove_adapter(lm: LoadedModel, name: str) -> None:
    if name in getattr(lm.model, "peft_config", {}):
        lm.model.delete_adapter(name)


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
