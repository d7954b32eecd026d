"""LoRA training on the chosen layers, on CPU: length-grouped batches, bf16 autocast, AdamW, progress.

Only the layers in ``layers`` get LoRA weights (peft ``layers_to_transform``); autograd then stops
at the lowest of them, so choosing upper layers also shortens every backward pass.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .dataset import Tokenized, length_grouped_batches

TARGET_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@dataclass(frozen=True)
class TrainConfig:
    rank: int = 32
    alpha: int = 32
    learning_rate: float = 1e-3
    epochs: int = 8
    batch_tokens: int = 2048  # padded tokens per optimizer step (upper bound, see train_lora)
    min_steps_per_epoch: int = 8
    bf16: bool = True
    seed: int = 0
    warmup_steps: int = 4


@dataclass
class TrainStats:
    steps: int = 0
    tokens: int = 0
    seconds: float = 0.0
    losses: list[float] = field(default_factory=list)

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.seconds if self.seconds else 0.0


StepCallback = Callable[[int, int, float], None]  # (step, total steps, loss)


def add_lora(model: Any, layers: Sequence[int] | None, cfg: TrainConfig) -> Any:
    import warnings

    from peft import LoraConfig, get_peft_model

    # peft calls a transformers API deprecated in v5; the warning is theirs, not actionable here
    warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)

    lora = LoraConfig(
        r=cfg.rank,
        lora_alpha=cfg.alpha,
        lora_dropout=0.0,
        target_modules=list(TARGET_MODULES),
        layers_to_transform=sorted(layers) if layers is not None else None,
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, lora)


def collate(batch: Sequence[Tokenized]) -> tuple[Any, Any, Any]:
    """Right-padded tensors: input ids, labels (-100 on prompt and padding), attention mask."""
    import torch

    width = max(len(t.input_ids) for t in batch)
    ids = torch.zeros((len(batch), width), dtype=torch.long)  # [B, T]
    labels = torch.full((len(batch), width), -100, dtype=torch.long)  # [B, T]
    mask = torch.zeros((len(batch), width), dtype=torch.long)  # [B, T]
    for r, t in enumerate(batch):
        n = len(t.input_ids)
        ids[r, :n] = torch.tensor(t.input_ids)
        labels[r, :n] = torch.tensor(t.labels)
        mask[r, :n] = 1
    return ids, labels, mask


def train_lora(
    peft_model: Any,
    examples: Sequence[Tokenized],
    cfg: TrainConfig,
    on_step: StepCallback | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> TrainStats:
    import torch

    torch.manual_seed(cfg.seed)
    rng = random.Random(cfg.seed)
    params = [p for p in peft_model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.learning_rate, weight_decay=0.0)
    # Batches are re-made every epoch from shuffled examples. A small sleep (two notes) would fit
    # in one batch and get one optimizer step per epoch: too few to learn anything, so batches
    # shrink until an epoch has at least min_steps_per_epoch of them (same tokens, more steps).
    longest = max((len(e.input_ids) for e in examples), default=1)
    epoch_tokens = sum(len(e.input_ids) for e in examples)
    batch_tokens = max(longest, min(cfg.batch_tokens, epoch_tokens // cfg.min_steps_per_epoch))
    steps_per_epoch = len(length_grouped_batches(examples, batch_tokens, random.Random(cfg.seed)))
    total = max(1, steps_per_epoch * cfg.epochs)

    def lr_at(step: int) -> float:  # linear warm-up, cosine decay to 10%
        if step < cfg.warmup_steps:
            return (step + 1) / cfg.warmup_steps
        progress = (step - cfg.warmup_steps) / max(1, total - cfg.warmup_steps)
        return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)
    stats = TrainStats()
    peft_model.train()
    start = time.perf_counter()
    step = 0
    for _epoch in range(cfg.epochs):
        for batch in length_grouped_batches(examples, batch_tokens, rng):
            if should_stop and should_stop():
                raise InterruptedError("training stopped")
            ids, labels, mask = collate(batch)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=cfg.bf16):
                out = peft_model(input_ids=ids, attention_mask=mask, labels=labels)
            out.loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
            opt.zero_grad(set_to_none=True)
            loss = float(out.loss.detach())
            stats.losses.append(loss)
            stats.tokens += int(mask.sum())  # real tokens, not padding
            step += 1
            if on_step:
                on_step(step, total, loss)
    stats.steps = step
    stats.seconds = time.perf_counter() - start
    peft_model.eval()
    return stats
