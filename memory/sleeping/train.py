"""LoRA training on the chosen layers, on the model's device (CPU, or CUDA where configured): length-grouped
batches, bf16 autocast where the hardware runs it natively (models/precision.py), AdamW, progress.

Only the layers in ``layers`` get LoRA weights (peft ``layers_to_transform``); autograd then stops
at the lowest of them, so choosing upper layers also shortens every backward pass. Two more levers:
in bf16 mode the frozen weights are held in bf16 while training (autocast would re-cast each fp32
weight on every forward and backward), and the LM head runs only on the answer positions (prompt and
padding have no labels, and the [B, T, vocab] logits are the largest tensor of a step).
"""

from __future__ import annotations

import contextlib
import math
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sleepd.models.architecture import base_of, decoder_of, lora_targets
from sleepd.storage.config import SleepConfig

from .dataset import Tokenized, length_grouped_batches


@dataclass(frozen=True)
class TrainConfig:
    """The training loop's settings. The ones a user sets live in ``SleepConfig`` (one source):
    a sleep builds this with ``from_sleep``, and the defaults here are the sleep config's."""

    rank: int = SleepConfig.lora_rank
    alpha: int = SleepConfig.lora_rank
    learning_rate: float = SleepConfig.learning_rate
    epochs: int = SleepConfig.epochs
    batch_tokens: int = 2048  # padded tokens per optimizer step (upper bound, see train_lora)
    min_steps_per_epoch: int = SleepConfig.min_steps_per_epoch
    bf16: bool = False  # callers pass models.precision's choice: bf16 is slow where it is emulated
    seed: int = 0
    warmup_steps: int = 4
    cache_frozen: bool = True  # training top layers only: cache what the frozen ones output

    @classmethod
    def from_sleep(cls, sleep: SleepConfig, bf16: bool, **overrides: Any) -> TrainConfig:
        """The sleep config's training settings, in the number format chosen for this machine."""
        fields = {
            "rank": sleep.lora_rank,
            "alpha": sleep.lora_rank,
            "learning_rate": sleep.learning_rate,
            "epochs": sleep.epochs,
            "min_steps_per_epoch": sleep.min_steps_per_epoch,
            "bf16": bf16,
        }
        return cls(**{**fields, **overrides})


@dataclass
class TrainStats:
    steps: int = 0
    tokens: int = 0
    seconds: float = 0.0
    losses: list[float] = field(default_factory=list)
    cut: bool = False  # ended at the deadline before its last step

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
        target_modules=lora_targets(model),
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


class FrozenPrefixCache:
    """Hidden states entering the lowest trained layer, per example, kept from the first epoch on.

    The layers below it are frozen, so what they output for an example never changes: later epochs
    feed the cached states as ``inputs_embeds`` to the trained layers alone, skipping the frozen
    ones' forward pass too (backward already stops there). Used when training the top k layers.
    """

    def __init__(self, peft_model: Any, lowest: int, budget_bytes: int = 1_500_000_000) -> None:
        self.decoder = decoder_of(peft_model)
        self.lowest = lowest
        self.budget = budget_bytes
        self.states: dict[int, Any] = {}  # id(example) -> [T, H]
        self.bytes = 0
        self._captured: Any = None

    def has(self, batch: Sequence[Tokenized]) -> bool:
        return all(id(t) in self.states for t in batch)

    @contextlib.contextmanager
    def capturing(self, batch: Sequence[Tokenized]) -> Iterator[None]:
        """Around a whole-model forward of ``batch``: keep what enters the lowest trained layer."""

        def grab(_module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
            self._captured = (args[0] if args else kwargs["hidden_states"]).detach()

        hook = self.decoder.layers[self.lowest].register_forward_pre_hook(grab, with_kwargs=True)
        try:
            yield
        finally:
            hook.remove()
        for r, t in enumerate(batch):
            state = self._captured[r, : len(t.input_ids)].clone()  # [T, H]
            if self.bytes + state.numel() * state.element_size() > self.budget:
                break  # a very large sleep: the rest runs whole, every epoch
            self.states[id(t)] = state
            self.bytes += state.numel() * state.element_size()

    def states_for(self, batch: Sequence[Tokenized]) -> Any:
        """The cached states of ``batch``, right-padded: [B, T, H]."""
        import torch

        first = self.states[id(batch[0])]
        width = max(len(t.input_ids) for t in batch)
        states = torch.zeros(
            (len(batch), width, first.shape[-1]), dtype=first.dtype, device=first.device
        )  # [B, T, H]
        for r, t in enumerate(batch):
            states[r, : len(t.input_ids)] = self.states[id(t)]
        return states

    @contextlib.contextmanager
    def top_only(self) -> Iterator[None]:
        """Only the layers from ``lowest`` up in the decoder, for a forward from cached states."""
        import torch

        full = self.decoder.layers
        self.decoder.layers = torch.nn.ModuleList(list(full)[self.lowest :])
        # Qwen2/3 and Gemma 2/3 pick each block's mask (and Gemma 3 its rope) by the block's index
        # in config.layer_types: shift it with the blocks, or layer i runs with layer 0's kind.
        config = self.decoder.config
        types = getattr(config, "layer_types", None)
        if types is not None:
            config.layer_types = list(types)[self.lowest :]
        try:
            yield
        finally:
            self.decoder.layers = full
            if types is not None:
                config.layer_types = types


@contextlib.contextmanager
def frozen_weights_in_bf16(model: Any, enabled: bool = True) -> Iterator[None]:
    """The frozen decoder Linear weights as bf16 copies for the duration; the fp32 ones come back
    after, so generation and the gate see exactly the weights that are served. The input embedding
    (tied to the LM head in small models) stays fp32 so the residual stream keeps its precision."""
    import torch

    embedding = model.get_input_embeddings().weight
    saved: list[tuple[Any, Any]] = []
    if enabled:
        for module in model.modules():
            w = getattr(module, "weight", None)
            if not isinstance(module, torch.nn.Linear) or w is None or w.requires_grad:
                continue
            if w is embedding or w.dtype != torch.float32:
                continue
            saved.append((module, w.data))
            w.data = w.data.to(torch.bfloat16)
    try:
        yield
    finally:
        for module, data in saved:
            module.weight.data = data


@contextlib.contextmanager
def training_fast_paths(peft_model: Any) -> Iterator[None]:
    """For the training loop only, two kernels that are the same maths but faster on CPU for the
    short sequences sleepd trains on (profiled on the bundled model, 2 cores):

    - eager attention: SDPA's CPU flash kernel's backward is slow at the short lengths sleep trains;
    - no fp32 round trip of each LoRA input: peft casts x to the adapter weights' dtype (fp32)
      and autocast casts it straight back to bf16, two copies per adapted Linear.
    """
    from peft.helpers import disable_input_dtype_casting

    base = base_of(peft_model)
    before = getattr(base.config, "_attn_implementation", None)
    switch = before not in (None, "eager") and hasattr(base, "set_attn_implementation")
    if switch:
        base.set_attn_implementation("eager")
    try:
        with disable_input_dtype_casting(peft_model):
            yield
    finally:
        if switch:
            base.set_attn_implementation(before)


class AnswerLoss:
    """Causal LM loss computed with the LM head on labelled positions only.

    Same value as the model's own loss (mean cross-entropy over next tokens whose label is not
    -100), but the logits are [N, vocab] for the N answer tokens instead of [B, T, vocab]. Models
    whose head does more than a matmul (logit soft-capping) use their own forward instead.
    """

    def __init__(self, peft_model: Any, bf16: bool) -> None:
        import torch

        base = base_of(peft_model)
        head = base.get_output_embeddings()
        softcap = getattr(base.config, "final_logit_softcapping", None)
        self.peft_model = peft_model
        self.decoder = decoder_of(peft_model)
        self.direct = head is not None and softcap is None and getattr(head, "bias", None) is None
        weight = head.weight.detach() if head is not None else None
        self.head_weight = weight.to(torch.bfloat16) if bf16 and weight is not None else weight  # [V, H]

    def __call__(self, labels: Any, attention_mask: Any, **inputs: Any) -> Any:
        """The mean loss over the answer tokens of the batch."""
        import torch.nn.functional as F

        if not self.direct:
            # no KV cache: training never decodes, and a cache sized for the whole model breaks
            # when only the top blocks run from cached states (their layer_idx starts above 0)
            return self.peft_model(
                attention_mask=attention_mask, labels=labels, use_cache=False, **inputs
            ).loss
        target = labels[:, 1:]  # [B, T-1]: position t predicts token t+1
        keep = target != -100  # [B, T-1]
        hidden = self.decoder(
            attention_mask=attention_mask, use_cache=False, **inputs
        ).last_hidden_state  # [B, T, H]
        h = hidden[:, :-1][keep]  # [N, H]
        assert self.head_weight is not None  # direct: the model has a plain head
        logits = F.linear(h.to(self.head_weight.dtype), self.head_weight)  # [N, V]
        token = F.cross_entropy(logits.float(), target[keep], reduction="none")  # [N]
        return token.mean()


def lowest_trained_layer(peft_model: Any) -> int | None:
    from .layers import layer_of

    found = [layer_of(n) for n, p in peft_model.named_parameters() if p.requires_grad]
    layers = [i for i in found if i is not None]
    return min(layers) if layers else None


def train_lora(
    peft_model: Any,
    examples: Sequence[Tokenized],
    cfg: TrainConfig,
    on_step: StepCallback | None = None,
    should_stop: Callable[[], bool] | None = None,
    deadline: float | None = None,
    anchors: Sequence[Tokenized] = (),
) -> TrainStats:
    """Train ``examples`` and ``anchors`` for ``cfg.epochs``; ``should_stop`` ends it with
    InterruptedError (nothing is kept), ``deadline`` (time.monotonic()) ends it early but normally
    (``stats.cut``).

    ``anchors`` (replayed memories, rehearsed general answers) are what the model already knows:
    they are there to hold it in place while ``examples`` move it."""
    import torch

    torch.manual_seed(cfg.seed)
    rng = random.Random(cfg.seed)
    params = [p for p in peft_model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.learning_rate, weight_decay=0.0)
    everything = [*examples, *anchors]
    # Batches are re-made every epoch from shuffled examples. A small sleep (two notes) would fit
    # in one batch and get one optimizer step per epoch: too few to learn anything, so batches
    # shrink until an epoch has at least min_steps_per_epoch of them (same tokens, more steps).
    longest = max((len(e.input_ids) for e in everything), default=1)
    epoch_tokens = sum(len(e.input_ids) for e in everything)
    batch_tokens = max(longest, min(cfg.batch_tokens, epoch_tokens // cfg.min_steps_per_epoch))
    steps_per_epoch = len(length_grouped_batches(everything, batch_tokens, random.Random(cfg.seed)))
    total = max(1, steps_per_epoch * cfg.epochs)

    def lr_at(step: int) -> float:  # linear warm-up, cosine decay to 10%
        if step < cfg.warmup_steps:
            return (step + 1) / cfg.warmup_steps
        progress = (step - cfg.warmup_steps) / max(1, total - cfg.warmup_steps)
        return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)
    lowest = lowest_trained_layer(peft_model)
    cache = FrozenPrefixCache(peft_model, lowest) if lowest and cfg.epochs > 1 and cfg.cache_frozen else None
    loss_of = AnswerLoss(peft_model, cfg.bf16)
    device = base_of(peft_model).device
    stats = TrainStats()
    shown_total = total
    peft_model.train()
    with frozen_weights_in_bf16(peft_model, cfg.bf16), training_fast_paths(peft_model):
        start = time.perf_counter()
        step = 0
        for epoch in range(cfg.epochs):
            batches = length_grouped_batches(everything, batch_tokens, rng)
            if epoch:  # the progress total follows what is left (the lr schedule does not)
                shown_total = step + len(batches) * (cfg.epochs - epoch)
            for batch in batches:
                if should_stop and should_stop():
                    raise InterruptedError("training stopped")
                if deadline is not None and step and time.monotonic() >= deadline:
                    stats.cut = True
                    break
                ids, labels, mask = (t.to(device) for t in collate(batch))
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=cfg.bf16):
                    if cache is not None and cache.has(batch):
                        with cache.top_only():
                            loss_t = loss_of(labels, mask, inputs_embeds=cache.states_for(batch))
                    elif cache is not None:
                        with cache.capturing(batch):
                            loss_t = loss_of(labels, mask, input_ids=ids)
                    else:
                        loss_t = loss_of(labels, mask, input_ids=ids)
                loss_t.backward()
                torch.nn.utils.clip_grad_norm_(params, 1.0)
                opt.step()
                sched.step()
                opt.zero_grad(set_to_none=True)
                loss = float(loss_t.detach())
                stats.losses.append(loss)
                stats.tokens += int(mask.sum())  # real tokens, not padding
                step += 1
                if on_step:
                    on_step(step, shown_total, loss)
                stats.seconds = time.perf_counter() - start
            if stats.cut:
                break
    stats.steps = step
    peft_model.eval()
    return stats
