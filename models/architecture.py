"""What sleep needs to know about a decoder model, read from the model itself, not assumed.

Llama, Mistral, Qwen2/3, Gemma 2/3 and Phi-3 all hold their blocks in ``<base>.model.layers`` (a
``ModuleList`` of ``num_hidden_layers`` blocks), but name their projections differently: Phi-3 fuses
``qkv_proj`` and ``gate_up_proj``, Gemma and Llama keep seven. So the LoRA targets are the names of
the ``nn.Linear`` modules found inside the first block, and the block list is found by its length.
"""

from __future__ import annotations

from typing import Any

# Families a sleep is tested on (tests/memory/test_families.py, a tiny random model of each). Any
# other decoder whose blocks are found the same way is tried too, with a warning in `sleepd models`.
TESTED_FAMILIES = ("llama", "mistral", "qwen2", "qwen3", "gemma2", "gemma3", "gemma3_text", "phi3")


def base_of(model: Any) -> Any:
    """The wrapped ``...ForCausalLM`` of a peft model (or the model itself when it has no adapter)."""
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def text_config(model: Any) -> Any:
    config = base_of(model).config
    return config.get_text_config() if hasattr(config, "get_text_config") else config


def n_layers(model: Any) -> int:
    return int(text_config(model).num_hidden_layers)


def decoder_of(model: Any) -> Any:
    """The module whose ``layers`` attribute is the list of decoder blocks (``LlamaModel`` and its
    kind); found by looking, so a family that nests it differently fails here with a clear line."""
    import torch

    want = n_layers(model)
    for module in base_of(model).modules():
        layers = getattr(module, "layers", None)
        if isinstance(layers, torch.nn.ModuleList) and len(layers) == want:
            return module
    raise ValueError(f"cannot find the {want} decoder layers of {type(base_of(model)).__name__}")


def lora_targets(model: Any) -> list[str]:
    """The short names of the ``nn.Linear`` modules in a decoder block, e.g. q_proj ... down_proj."""
    import torch

    block = decoder_of(model).layers[0]
    names = {name.rsplit(".", 1)[-1] for name, m in block.named_modules() if isinstance(m, torch.nn.Linear)}
    if not names:
        raise ValueError(f"no linear layers in a decoder block of {type(base_of(model)).__name__}")
    return sorted(names)


def family_of(model: Any) -> str:
    return str(getattr(text_config(model), "model_type", "unknown"))
