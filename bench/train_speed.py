"""Training speed: sleepd's training against plain fp32 all-layer LoRA, same examples, same run.

The baseline is LoRA as a plain fine-tuning loop runs it: fp32, every layer trained, examples in
shuffled batches of 8 padded to the longest (attention mask, pad labels ignored). sleepd's variants
train the same examples in length-grouped batches (little padding), in fp32 and in bf16 (autocast,
frozen weights in bf16), on all layers or on the top layers only (backward then stops at the lowest
trained layer, and from the second epoch on the frozen layers' output is cached). The last row is
the sleep as configured, in the number format ``sleep.dtype = "auto"`` picks on this machine
(models/precision.py). Speed = real (non-pad) tokens per second of training.

Usage: .venv/bin/python bench/train_speed.py [--examples 48] [--docs DIR]
Also called by bench/memory.py, so the memory table carries the speed ratio of the same run.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from sleepd.models.architecture import n_layers as layer_count

if TYPE_CHECKING:
    from sleepd.models.precision import Precision

HERE = Path(__file__).resolve().parent
DEVSET = Path("bench") / "devset" / "docs"


def find_devset(explicit: str | None = None) -> Path:
    """The devset's docs: --docs, else $SLEEPD_SHARED/bench/devset/docs, else a shared/ beside the
    checkout or beside (or above) the working directory. Exits with one line if none has files."""
    if explicit:
        candidates = [Path(explicit)]
    else:
        roots = [Path(os.environ["SLEEPD_SHARED"])] if os.environ.get("SLEEPD_SHARED") else []
        roots += [HERE.parent.parent / "shared", Path.cwd() / "shared", Path.cwd().parent / "shared"]
        candidates = [r / DEVSET for r in roots]
    for docs in candidates:
        if docs.is_dir() and any(p.is_file() for p in docs.rglob("*")):
            return docs.resolve()
    tried = ", ".join(str(c) for c in candidates)
    raise SystemExit(f"train_speed: no devset notes in {tried}; pass --docs DIR or set SLEEPD_SHARED")


def devset_examples(tokenizer, n: int, docs: Path | None = None) -> list:  # type: ignore[no-untyped-def]
    """The first ``n`` (shuffled) recitation examples sleepd makes from the devset's notes."""
    from sleepd.ingest.parsers import Parsed, parse_bytes
    from sleepd.memory.facts import WordSignal
    from sleepd.memory.sleeping.dataset import PassageInput, build_examples, tokenize_example

    docs = docs or find_devset()
    passages = []
    for i, path in enumerate(sorted(p for p in docs.rglob("*") if p.is_file())):
        parsed = parse_bytes(path.read_bytes(), path.suffix)
        if isinstance(parsed, Parsed):
            for j, unit in enumerate(parsed.units):
                passages.append(PassageInput(i * 1000 + j, unit.text, str(path), unit.role))
    examples = [tokenize_example(tokenizer, e) for e in build_examples(passages, WordSignal(tokenizer))]
    if not examples:
        raise SystemExit(f"train_speed: the notes in {docs} gave no training examples")
    random.Random(0).shuffle(examples)
    return examples[:n]


def padded_fp32_rate(model, examples: list, batch: int = 8, epochs: int = 2) -> float:  # type: ignore[no-untyped-def]
    """Plain LoRA loop: fp32, padded batches. Returns real tokens per second."""
    import torch

    from sleepd.memory.sleeping.train import collate

    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-3)
    model.train()
    tokens, start = 0, time.perf_counter()
    for i in [start for _ in range(epochs) for start in range(0, len(examples), batch)]:
        ids, labels, mask = collate(examples[i : i + batch])  # in order: no length grouping
        model(input_ids=ids, attention_mask=mask, labels=labels).loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        tokens += int(mask.sum())
    return tokens / (time.perf_counter() - start)


def configured_layers(model, examples: list, config) -> list[int]:  # type: ignore[no-untyped-def]
    """The layers a sleep with ``config`` would train on these examples."""
    from sleepd.memory.sleeping.layers import choose_layers, score_layers

    n_layers = layer_count(model)
    k = config.sleep.layers_of(n_layers)
    if k >= n_layers:
        return list(range(n_layers))
    if config.sleep.layer_choice == "last":
        return list(range(n_layers - k, n_layers))
    return choose_layers(score_layers(model, examples[: config.sleep.fisher_examples], n_layers), k)


def machine_line(config) -> tuple[str, Precision]:  # type: ignore[no-untyped-def]
    """What this CPU offers for bf16 and what the auto choice makes of it (the probe runs here)."""
    from sleepd.models.precision import cpu_flags, cpu_name, native_bf16_flags, probe_matmul, resolve

    native = native_bf16_flags(cpu_flags()) or ["none"]
    probe = probe_matmul("train")
    chosen = resolve(config.sleep.dtype, "train", None)  # not cached: measured in this run
    line = (
        f"CPU: {cpu_name()}; native bf16 flags: {', '.join(native)}; matmul probe: fp32"
        f" {probe.fp32_gflops:.0f} GFLOP/s, bf16 {probe.bf16_gflops:.0f} GFLOP/s ({probe.speedup:.2f}x);"
        f" sleep.dtype = {config.sleep.dtype!r} trains in {chosen.dtype}: {chosen.reason}"
    )
    return line, chosen


def measure(  # type: ignore[no-untyped-def]
    config, n_examples: int = 48, top_k: int = 10, log=print, docs: Path | None = None
) -> dict[str, float]:
    """tokens/s of each variant; keys name them, the first is the baseline, the last is sleepd as
    configured (in the format the auto choice picks). Same examples for every variant."""
    from sleepd.memory.sleeping.layers import set_trainable_layers
    from sleepd.memory.sleeping.train import TrainConfig, add_lora, train_lora
    from sleepd.models.model import load_model

    line, chosen = machine_line(config)
    log(line)
    rates: dict[str, float] = {}
    lm = load_model(config)
    n_layers = layer_count(lm.model)
    examples = devset_examples(lm.tokenizer, n_examples, docs)
    model = add_lora(lm.model, None, TrainConfig.from_sleep(config.sleep, bf16=False))
    rates["plain fp32 LoRA, all layers, padded batches of 8 (baseline)"] = padded_fp32_rate(model, examples)
    chosen_layers = configured_layers(model, examples, config)
    k = len(chosen_layers) if len(chosen_layers) < n_layers else 0
    top = range(n_layers - top_k, n_layers)
    variants = [
        ("fp32, all layers, length-grouped batches", False, range(n_layers)),
        ("bf16, all layers, length-grouped batches", True, range(n_layers)),
        (f"fp32, last {top_k} layers (frozen-prefix cache), length-grouped", False, top),
        (f"bf16, last {top_k} layers (frozen-prefix cache), length-grouped", True, top),
        (
            f"configured: {f'{config.sleep.layer_choice} {k}' if k else 'all'} layers"
            f" (from layer {min(chosen_layers)}), rank {config.sleep.lora_rank}, fp32",
            False,
            chosen_layers,
        ),
        (
            f"configured, as the default sleep runs it ({chosen.dtype}, {config.sleep.dtype})",
            chosen.bf16,
            chosen_layers,
        ),
    ]
    for name, bf16, layers in variants:
        lm = load_model(config)
        # as many epochs as a sleep: from the second on, training the top layers only reuses the
        # frozen layers' cached output (the plain baseline's speed is the same every epoch)
        cfg = TrainConfig.from_sleep(config.sleep, bf16, min_steps_per_epoch=1)
        model = add_lora(lm.model, None, cfg)
        set_trainable_layers(model, list(layers))
        rates[name] = train_lora(model, examples, cfg).tokens_per_s
    base = next(iter(rates.values()))
    for name, rate in rates.items():
        log(f"{name:<72} {rate:6.0f} tokens/s  {rate / base:.2f}x")
    names = list(rates)
    log(f"default sleep against fp32 on the same layers: {rates[names[-1]] / rates[names[-2]]:.2f}x")
    return rates


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--examples", type=int, default=48)
    parser.add_argument("--docs", help="the devset's docs/ folder (default: found from shared/)")
    parser.add_argument("--share", type=float, default=0.0, help="sleep.layer_share; 0: the config's")
    parser.add_argument("--choice", default="", help="sleep.layer_choice to measure (fisher, last)")
    args = parser.parse_args()
    import dataclasses

    from sleepd.storage import load_config

    config = load_config()
    sleep = dataclasses.replace(
        config.sleep,
        layer_share=args.share or config.sleep.layer_share,
        layer_choice=args.choice or config.sleep.layer_choice,
    )
    docs = find_devset(args.docs)
    measure(dataclasses.replace(config, sleep=sleep), args.examples, docs=docs)
    print("(same examples for each variant; ratio against the plain fp32 baseline)", file=sys.stderr)


if __name__ == "__main__":
    main()
