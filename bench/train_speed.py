"""Training speed: sleepd's training settings against plain fp32 all-layer LoRA, same data, same run.

Usage: .venv/bin/python bench/train_speed.py [--steps 12]
Trains each variant for the same number of packed rows of the devset's recitation data and prints
tokens/s and the ratio to the fp32 all-layer baseline.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DOCS = HERE.parent.parent / "shared" / "bench" / "devset" / "docs"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=12)
    args = parser.parse_args()

    from sleepd.daemon.parsers import Parsed, parse_bytes
    from sleepd.memory.dataset import PassageInput, build_examples, pack, tokenize_example
    from sleepd.memory.layers import set_trainable_layers
    from sleepd.memory.model import load_model
    from sleepd.memory.train import TrainConfig, add_lora, train_lora
    from sleepd.storage import load_config

    passages = []
    for i, path in enumerate(sorted(p for p in DOCS.rglob("*") if p.is_file())):
        parsed = parse_bytes(path.read_bytes(), path.suffix)
        if isinstance(parsed, Parsed):
            passages.append(PassageInput(i, "\n\n".join(u.text for u in parsed.units), str(path), None))
    config = load_config()
    import torch

    variants = [
        ("fp32, all 30 layers (baseline)", False, False, None),
        ("bf16 autocast, all 30 layers", True, False, None),
        ("bf16 weights, all 30 layers", True, True, None),
        ("bf16 weights, top 10 layers (20-29)", True, True, list(range(20, 30))),
    ]
    base_rate = None
    for name, bf16, bf16_weights, layers in variants:
        lm = load_model(config, dtype=torch.bfloat16 if bf16_weights else None)
        examples = [tokenize_example(lm.tokenizer, e) for e in build_examples(passages)]
        rows = pack(examples, 1024)[: args.steps]
        cfg = TrainConfig(epochs=1, bf16=bf16, min_rows_per_epoch=1)
        model = add_lora(lm.model, None, cfg)
        set_trainable_layers(model, layers if layers is not None else range(30))
        stats = train_lora(model, rows, cfg)
        rate = stats.tokens_per_s
        base_rate = base_rate or rate
        print(f"{name:<34} {rate:7.0f} tokens/s  {rate / base_rate:.2f}x", flush=True)
    print("(same packed rows for each variant; ratio against the fp32 all-layer baseline)", file=sys.stderr)


if __name__ == "__main__":
    main()
