"""Train the reading prior: a LoRA adapter with which the model answers from the notes in its prompt,
briefly and in the notes' own words, or says the notes do not hold the answer.

    python -m sleepd.tools.reader_train [--shared DIR] [--out DIR] [--per-corpus squad-train=6000,...]

The data (``reading_data.py``) are read in the reading prompt chat uses (``reading_messages``), so
the adapter learns exactly the step it serves. A share is held out and read twice, with the adapter
and without, and both figures go into the prior's record beside the data, their licences and the
base model's weights hash. The reader is written as the ``reader`` part of the model's prior folder,
beside the question writer.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sleepd.memory.prior import READER_PART, RECORD
from sleepd.memory.prompts import hit
from sleepd.models.identity import base_fingerprint
from sleepd.storage.config import load_config
from sleepd.storage.logs import configure_logging

from .prior_train import (
    add_training_args,
    bench_overlap,
    default_out,
    find_shared,
    train_part,
    training_record,
)
from .reading_data import READING, ReadingExample, reading_examples

log = logging.getLogger(__name__)

LICENCES = {
    "squad-train": "CC BY-SA 4.0 (SQuAD v1.0 train, Rajpurkar et al. 2016)",
    "friendsqa": "Apache-2.0 (FriendsQA, Yang and Choi 2019)",
    "molweni": "Apache-2.0 (Molweni, Li et al. 2020)",
    "covidqa": "Apache-2.0 (COVID-QA, Möller et al. 2020)",
}
DEFAULT_MIX = "squad-train=6000,friendsqa=2000,molweni=2000,covidqa=500"
MAX_TOKENS = 768  # an example longer than this is left out, not cut (its answer may be at the end)


def parse_mix(text: str) -> dict[str, int]:
    """ "squad-train=6000,friendsqa=2000" -> {"squad-train": 6000, "friendsqa": 2000}."""
    out = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, n = part.partition("=")
        if name not in LICENCES or not n.isdigit():
            raise SystemExit(
                f"--per-corpus: {part!r} is not NAME=COUNT with NAME one of {', '.join(LICENCES)}"
            )
        out[name] = int(n)
    return out


def reading_prompt(tokenizer: Any, example: ReadingExample) -> str:
    """The prompt chat reads notes with (memory/serving/recall.py), in the model's chat format."""
    from sleepd.memory.serving.recall import reading_messages
    from sleepd.models.chat_format import chat_text

    return chat_text(tokenizer, reading_messages(example.question, list(example.notes)))


def measure_reading(lm: Any, examples: Sequence[ReadingExample], adapter: bool) -> float:
    """The share of ``examples`` answered right (the gold answer in the answer) by greedy reading."""
    from sleepd.memory.serving.generate import GenerationConfig, generate
    from sleepd.memory.serving.recall import reading_messages

    gen = GenerationConfig(max_new_tokens=48, temperature=0.0, repetition_penalty=1.0)
    right = 0
    for e in examples:
        answer = generate(lm, reading_messages(e.question, list(e.notes)), gen, adapter=adapter)
        right += hit(answer, e.answer)
    return right / len(examples) if examples else 0.0


def train_reader(args: argparse.Namespace) -> int:
    from sleepd.memory.sleeping.dataset import Example, tokenize_example
    from sleepd.models.adapters import save_adapter
    from sleepd.models.model import LoadedModel, load_model

    shared = find_shared(args.shared)
    if shared is None or not (shared / READING).is_dir():
        print(f"cannot find {READING}: pass --shared or set SLEEPD_SHARED", file=sys.stderr)
        return 2
    mix = parse_mix(args.per_corpus)
    pool = reading_examples(shared, mix, seed=args.seed)
    overlap = bench_overlap([t for e in pool for t in (*e.notes, e.question)], shared)
    if overlap:
        print(f"refusing: {len(overlap)} benchmark text(s) in the reading data, e.g. {overlap[0]!r}")
        return 2
    held, train = pool[: args.held_out], pool[args.held_out :]
    if args.limit:
        train = train[: args.limit]
    config = load_config()
    lm = load_model(config)
    tokenized = []
    for e in train:
        t = tokenize_example(
            lm.tokenizer, Example(reading_prompt(lm.tokenizer, e), e.answer, None, "reader"), 10**6
        )
        if len(t.input_ids) <= MAX_TOKENS:
            tokenized.append(t)
    n_tokens = sum(len(t.input_ids) for t in tokenized)
    log.info(
        "reader: %d examples (%d too long left out), %d tokens",
        len(tokenized),
        len(train) - len(tokenized),
        n_tokens,
    )

    before = measure_reading(lm, held, adapter=False)
    model, cfg, stats = train_part(lm, tokenized, args, config)
    after = measure_reading(LoadedModel(model, lm.tokenizer, lm.source), held, adapter=True)
    log.info("held-out reading: %.0f%% without the reader, %.0f%% with it", 100 * before, 100 * after)

    out = Path(args.out) if args.out else default_out(config, lm.source.name)
    save_adapter(model, out / READER_PART)
    record_path = out / RECORD
    record: dict[str, Any] = json.loads(record_path.read_text()) if record_path.is_file() else {}
    record.setdefault("base_model", lm.source.name)
    record.setdefault("base_sha256", base_fingerprint(lm.source.path, lm.source.gguf_file))
    record.setdefault("parts", {})[READER_PART] = "notes and a question -> a short answer in the notes' words"
    record["reader"] = {
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "data": {
            "per_corpus": {c: sum(e.corpus == c for e in train) for c in mix},
            "licences": {c: LICENCES[c] for c in mix},
            "examples": len(tokenized),
            "tokens": n_tokens,
            "bench_overlap": 0,
        },
        "training": training_record(cfg, stats),
        "measured": {"held_out": len(held), "right_without": before, "right_with": after},
    }
    out.mkdir(parents=True, exist_ok=True)
    record_path.write_text(json.dumps(record, indent=1) + "\n")
    print(f"reader written to {out / READER_PART}: held-out reading {before:.0%} -> {after:.0%}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m sleepd.tools.reader_train", description=__doc__.split("\n")[0]
    )
    add_training_args(ap, "examples")
    ap.add_argument("--per-corpus", default=DEFAULT_MIX, help=f"examples per corpus (default {DEFAULT_MIX})")
    ap.add_argument("--held-out", type=int, default=200, help="examples read before and after, not trained")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    configure_logging(base_level=logging.INFO, tag="reader")
    random.seed(args.seed)
    return train_reader(args)


if __name__ == "__main__":
    raise SystemExit(main())
