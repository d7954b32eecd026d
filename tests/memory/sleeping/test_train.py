"""Training mechanics on the tiny model: batching never mixes examples, and caching the frozen
layers' output changes speed, not what is learned."""

from __future__ import annotations

import math
import random

from sleepd.memory.sleeping.dataset import Tokenized, length_grouped_batches
from sleepd.memory.sleeping.layers import set_trainable_layers
from sleepd.memory.sleeping.train import TrainConfig, add_lora, lowest_trained_layer, train_lora
from sleepd.models.model import load_model
from sleepd.storage import Config


def _examples(n: int) -> list[Tokenized]:
    rng = random.Random(1)
    out = []
    for _ in range(n):
        length = rng.randint(5, 40)
        ids = [rng.randint(10, 4000) for _ in range(length)]
        out.append(Tokenized(ids, [-100] * 3 + ids[3:]))
    return out


def test_length_grouped_batches_cover_every_example_once_within_budget() -> None:
    items = _examples(100)
    batches = length_grouped_batches(items, 120, random.Random(0))
    seen = [id(t) for b in batches for t in b]
    assert sorted(seen) == sorted(id(t) for t in items)
    assert all(len(b) == 1 or len(b) * max(len(t.input_ids) for t in b) <= 120 for b in batches)


def _train(config: Config, cache: bool) -> list[float]:
    import torch

    lm = load_model(config)
    cfg = TrainConfig(rank=4, alpha=4, epochs=3, bf16=False, batch_tokens=200, cache_frozen=cache)
    torch.manual_seed(0)
    model = add_lora(lm.model, None, cfg)
    set_trainable_layers(model, [2, 3])
    assert lowest_trained_layer(model) == 2
    return train_lora(model, _examples(24), cfg).losses


def test_cached_frozen_layers_learn_the_same(tiny_config: Config) -> None:
    plain, cached = _train(tiny_config, cache=False), _train(tiny_config, cache=True)
    assert len(plain) == len(cached) > 6
    assert all(abs(a - b) <= 1e-3 * max(1.0, abs(a)) for a, b in zip(plain, cached, strict=True)), (
        plain,
        cached,
    )


def test_answer_loss_matches_the_models_own_loss(tiny_config: Config) -> None:
    import torch

    from sleepd.memory.sleeping.train import AnswerLoss, collate

    model = add_lora(load_model(tiny_config).model, None, TrainConfig(rank=4, alpha=4))
    ids, labels, mask = collate(_examples(6))
    with torch.no_grad():
        own = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        ours = AnswerLoss(model, bf16=False)(labels, mask, input_ids=ids)
    # an untrained model is near-uniform over the vocabulary: its loss is about ln(V)
    vocab = model.get_output_embeddings().weight.shape[0]
    assert abs(own.item() - math.log(vocab)) < 1.0, (own.item(), math.log(vocab))
    assert abs(ours.item() - own.item()) <= 1e-5 * own.item(), (ours.item(), own.item())


def test_bf16_frozen_weights_are_put_back_exactly(tiny_config: Config) -> None:
    import torch

    from sleepd.memory.sleeping.train import frozen_weights_in_bf16

    model = add_lora(load_model(tiny_config).model, None, TrainConfig(rank=4, alpha=4))
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    with frozen_weights_in_bf16(model):
        dtypes = {n: p.dtype for n, p in model.named_parameters()}
    assert dtypes[next(n for n in dtypes if "q_proj.base_layer" in n)] == torch.bfloat16
    assert dtypes[next(n for n in dtypes if "lora_A" in n)] == torch.float32  # what learns stays fp32
    assert dtypes[next(n for n in dtypes if "embed_tokens" in n)] == torch.float32
    after = dict(model.named_parameters())
    assert all(p.dtype == torch.float32 and torch.equal(p, after[n]) for n, p in before.items())


def test_a_small_sleep_gets_at_least_min_steps_per_epoch(tiny_config: Config) -> None:
    from sleepd.storage.config import SleepConfig

    items = _examples(48)  # ~1k tokens: one batch of 2048 would hold them all
    steps = {}
    for minimum in (4, 16):
        sleep = SleepConfig(epochs=2, min_steps_per_epoch=minimum)
        cfg = TrainConfig.from_sleep(sleep, False, rank=4, alpha=4)
        assert cfg.min_steps_per_epoch == minimum  # the user's setting reaches the loop
        model = add_lora(load_model(tiny_config).model, None, cfg)
        stats = train_lora(model, items, cfg)
        steps[minimum] = stats.steps
        assert stats.tokens == 2 * sum(len(t.input_ids) for t in items)  # the same tokens either way
    assert steps[4] >= 2 * 4 and steps[16] >= 2 * 16 and steps[16] > steps[4]
