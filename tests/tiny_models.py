"""Tiny randomly initialised decoders of each family sleepd supports, with the bundled tokenizer."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")
COMMON = {
    "vocab_size": 49152,
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 4,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "max_position_embeddings": 2048,
    "bos_token_id": 1,
    "eos_token_id": 2,
    "pad_token_id": 2,
}
# family -> (config class, model class, extra config fields)
FAMILIES: dict[str, tuple[str, str, dict[str, Any]]] = {
    "llama": ("LlamaConfig", "LlamaForCausalLM", {"tie_word_embeddings": True}),
    "mistral": ("MistralConfig", "MistralForCausalLM", {"sliding_window": None}),
    "qwen2": ("Qwen2Config", "Qwen2ForCausalLM", {"tie_word_embeddings": True}),
    "qwen3": ("Qwen3Config", "Qwen3ForCausalLM", {"head_dim": 16, "tie_word_embeddings": True}),
    "gemma2": ("Gemma2Config", "Gemma2ForCausalLM", {"head_dim": 16, "sliding_window": 16}),
    "gemma3": (
        "Gemma3TextConfig",
        "Gemma3ForCausalLM",
        {"head_dim": 16, "sliding_window": 16, "layer_types": ["sliding_attention"] * 3 + ["full_attention"]},
    ),
    "phi3": ("Phi3Config", "Phi3ForCausalLM", {"original_max_position_embeddings": 2048}),
}


def build_tiny(family: str, tokenizer_dir: Path, out: Path, chat_template: bool = True) -> Path:
    """Write a tiny random ``family`` model to ``out`` (safetensors + the tokenizer of
    ``tokenizer_dir``; without its chat template when ``chat_template`` is False)."""
    import torch
    import transformers

    config_cls, model_cls, extra = FAMILIES[family]
    out.mkdir(parents=True, exist_ok=True)
    for name in TOKENIZER_FILES:
        if (tokenizer_dir / name).exists():
            shutil.copy(tokenizer_dir / name, out / name)
    if chat_template and (tokenizer_dir / "chat_template.jinja").exists():
        shutil.copy(tokenizer_dir / "chat_template.jinja", out / "chat_template.jinja")
    torch.manual_seed(0)
    cfg = getattr(transformers, config_cls)(**{**COMMON, **extra})
    getattr(transformers, model_cls)(cfg).save_pretrained(out)
    return out


def save_random_adapter(config: Any, out: Path, seed: int, scale: float) -> None:
    """A LoRA adapter for ``config``'s model that is not the identity (random B matrices of
    ``scale``), saved as sleepd saves adapters: a prior's part that changes what the model says."""
    import torch

    from sleepd.memory.sleeping.train import TrainConfig, add_lora
    from sleepd.models.adapters import save_adapter
    from sleepd.models.model import load_model

    adapted = add_lora(load_model(config).model, None, TrainConfig(rank=4, alpha=4))
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in adapted.named_parameters():
            if "lora_B" in name:
                p.copy_(torch.randn(p.shape, generator=gen) * scale)
    save_adapter(adapted, out)
