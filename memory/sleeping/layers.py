"""Choosing which transformer layers a sleep trains: diagonal Fisher of the loss on the new data.

Score of layer l = mean over its LoRA parameters of the squared gradient of the loss on a sample of
this sleep's examples (the diagonal empirical Fisher, restricted to the adapter's subspace), with
scores normalised to sum to 1. Means, not sums, so that no layer wins by having more parameters.

Raw Fisher ranks the lowest layers first for any data (their gradients are larger for everything),
so the choice uses it *relative* to the same layers' Fisher on general text (the dreams): a layer is
chosen where this sleep's data moves the loss more than ordinary text does (SCoL's sparse,
data-specific layers), not where every gradient is large.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from .dataset import Tokenized

_LAYER = re.compile(r"\.layers\.(\d+)\.")


def layer_of(param_name: str) -> int | None:
    m = _LAYER.search(param_name)
    return int(m.group(1)) if m else None


def set_trainable_layers(model: Any, layers: Sequence[int]) -> int:
    """Only the LoRA weights of ``layers`` learn; returns the number of trainable parameters."""
    chosen = set(layers)
    n = 0
    for name, param in model.named_parameters():
        if "lora_" not in name:
            continue
        param.requires_grad = layer_of(name) in chosen
        n += param.numel() if param.requires_grad else 0
    return n


def score_layers(model: Any, examples: Sequence[Tokenized], n_layers: int) -> list[float]:
    import torch

    set_trainable_layers(model, range(n_layers))
    sums = [0.0] * n_layers
    counts = [0] * n_layers
    model.train()
    for ex in examples:
        model.zero_grad(set_to_none=True)
        ids = torch.tensor([ex.input_ids], device=model.device)  # [1, T]
        labels = torch.tensor([ex.labels], device=model.device)  # [1, T]
        model(input_ids=ids, labels=labels).loss.backward()
        for name, param in model.named_parameters():
            layer = layer_of(name)
            if param.grad is None or layer is None:
                continue
            sums[layer] += float(param.grad.pow(2).sum())
            counts[layer] += param.numel()
    model.zero_grad(set_to_none=True)
    model.eval()
    means = [s / c if c else 0.0 for s, c in zip(sums, counts, strict=True)]
    total = sum(means) or 1.0
    return [m / total for m in means]


def relative_scores(task: Sequence[float], general: Sequence[float]) -> list[float]:
    """``task`` Fisher per layer divided by ``general`` Fisher of the same layer, summing to 1."""
    ratios = [t / g if g > 0 else 0.0 for t, g in zip(task, general, strict=True)]
    total = sum(ratios) or 1.0
    return [r / total for r in ratios]


def choose_layers(scores: Sequence[float], k: int) -> list[int]:
    ranked = sorted(range(len(scores)), key=lambda i: scores[i], reverse=True)
    return sorted(ranked[:k])
