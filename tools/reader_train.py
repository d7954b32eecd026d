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
from .reading_data import READING, reading_groups
from .reading_group import ReadingExample, ReadingGroup

log = logging.getLogger(__name__)

LICENCES = {
    "squad-train": "CC BY-SA 4.0 (SQuAD v1.0 train, Rajpurkar et al. 2016)",
    "friendsqa": "Apache-2.0 (FriendsQA, Yang and Choi 2019)",
    "molweni": "Apache-2.0 (Molweni, Li et al. 2020)",
    "covidqa": "Apache-2.0 (COVID-QA, Möller et al. 2020)",
    "own-notes": "sleepd's own fictional notes (tools/own_notes.py), same licence as sleepd",
}
DEFAULT_MIX = "squad-train=1800,friendsqa=650,molweni=450,covidqa=250,own-notes=450"
MAX_TOKENS = 1024  # a conversation is cut between questions to fit; a longer first question is left out


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


def follow_up(question: str) -> str:
    """A later question about the notes already in the conversation, worded as the reading prompt."""
    return f"Question: {question}\nAnswer in one short sentence."


def tokenize_group(tokenizer: Any, group: ReadingGroup, max_tokens: int = MAX_TOKENS) -> list[Any]:
    """``group`` as conversations of at most ``max_tokens``: the first question in the reading prompt
    chat uses (``reading_messages``), each later one a follow-up, loss on the answers only. A new
    conversation (the notes again) starts where one would grow too long."""
    from sleepd.memory.serving.recall import reading_messages
    from sleepd.memory.sleeping.dataset import Tokenized
    from sleepd.models.chat_format import chat_text

    def encode(text: str) -> list[int]:
        return tokenizer(text, add_special_tokens=False)["input_ids"]

    out: list[Tokenized] = []
    ids: list[int] = []
    labels: list[int] = []
    messages: list[dict[str, str]] = []
    said = ""  # the conversation so far as text, to find what each turn adds
    for question, answer in group.questions:
        reply = [*encode(answer), tokenizer.eos_token_id]
        if messages:
            asked = [*messages, {"role": "user", "content": follow_up(question)}]
            text = chat_text(tokenizer, asked)
            prompt = encode(text[len(said) :]) if text.startswith(said) else []
            if not prompt or len(ids) + len(prompt) + len(reply) > max_tokens:
                out.append(Tokenized(ids, labels))
                ids, labels, messages = [], [], []
        if not messages:
            asked = reading_messages(question, list(group.notes))
            text = chat_text(tokenizer, asked)
            prompt = encode(text)
            if len(prompt) + len(reply) > max_tokens:
                continue
        ids += prompt + reply
        labels += [-100] * len(prompt) + reply
        messages = [*asked, {"role": "assistant", "content": answer}]
        said = text + answer + (tokenizer.eos_token or "")
    if ids:
        out.append(Tokenized(ids, labels))
    return out


def measure_reading(lm: Any, examples: Sequence[ReadingExample], adapter: bool) -> dict[str, float]:
    """The share of ``examples`` answered right (the gold answer in the answer) by greedy reading,
    in all ("all") and per corpus."""
    from sleepd.memory.serving.generate import GenerationConfig, generate
    from sleepd.memory.serving.recall import reading_messages

    gen = GenerationConfig(max_new_tokens=48, temperature=0.0, repetition_penalty=1.0)
    right: dict[str, list[bool]] = {"all": []}
    for e in examples:
        answer = generate(lm, reading_messages(e.question, list(e.notes)), gen, adapter=adapter)
        ok = hit(answer, e.answer)
        right["all"].append(ok)
        right.setdefault(e.corpus, []).append(ok)
    return {k: round(sum(v) / len(v), 3) for k, v in right.items() if v}


def train_reader(args: argparse.Namespace) -> int:
    from sleepd.models.adapters import save_adapter
    from sleepd.models.model import LoadedModel, load_model

    shared = find_shared(args.shared)
    if shared is None or not (shared / READING).is_dir():
        print(f"cannot find {READING}: pass --shared or set SLEEPD_SHARED", file=sys.stderr)
        return 2
    mix = parse_mix(args.per_corpus)
    pool = reading_groups(shared, mix, seed=args.seed)
    overlap = bench_overlap([t for g in pool for t in (*g.notes, *(q for q, _ in g.questions))], shared)
    if overlap:
        print(f"refusing: {len(overlap)} benchmark text(s) in the reading data, e.g. {overlap[0]!r}")
        return 2
    # one question of each of the first groups is read before and after; none of those notes is trained
    held = [g.examples()[0] for g in pool[: args.held_out]]
    train = pool[args.held_out :]
    if args.limit:
        train = train[: args.limit]
    config = load_config()
    lm = load_model(config)
    tokenized = [t for g in train for t in tokenize_group(lm.tokenizer, g)]
    n_tokens = sum(len(t.input_ids) for t in tokenized)
    log.info(
        "reader: %d questions of %d notes in %d conversations, %d tokens",
        sum(len(g.questions) for g in train),
        len(train),
        len(tokenized),
        n_tokens,
    )

    before = measure_reading(lm, held, adapter=False)
    model, cfg, stats = train_part(lm, tokenized, args, config)
    after = measure_reading(LoadedModel(model, lm.tokenizer, lm.source), held, adapter=True)
    log.info("held-out reading right: %s without the reader, %s with it", before, after)

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
            "mix": args.per_corpus,
            "seed": args.seed,
            "per_corpus": {c: sum(len(g.questions) for g in train if g.corpus == c) for c in mix},
            "licences": {c: LICENCES[c] for c in mix},
            "notes": len(train),
            "conversations": len(tokenized),
            "tokens": n_tokens,
            "bench_overlap": 0,
        },
        "training": training_record(cfg, stats),
        "measured": {"held_out": len(held), "right_without": before, "right_with": after},
    }
    out.mkdir(parents=True, exist_ok=True)
    record_path.write_text(json.dumps(record, indent=1) + "\n")
    print(f"reader written to {out / READER_PART}: held-out right {before['all']:.0%} -> {after['all']:.0%}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m sleepd.tools.reader_train", description=__doc__.split("\n")[0]
    )
    add_training_args(ap, "examples")
    ap.add_argument("--per-corpus", default=DEFAULT_MIX, help=f"examples per corpus (default {DEFAULT_MIX})")
    ap.add_argument("--held-out", type=int, default=80, help="examples read before and after, not trained")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    configure_logging(base_level=logging.INFO, tag="reader")
    random.seed(args.seed)
    return train_reader(args)


if __name__ == "__main__":
    raise SystemExit(main())
