"""Train the consolidation prior once, offline (``make prior``):
``python -m sleepd.tools.prior_train``.

Today the prior is the question writer (``questions``): a LoRA adapter of the base model trained on
(fact -> the crowd question it answers, and the answer) from ``shared/corpus/squad-prior`` (SQuAD v1.1
dev paragraphs with every benchmark article removed; CC BY-SA 4.0). A fact is cut from its paragraph
exactly as sleep cuts a user's note (``facts.passage_facts``), and a question is paired with the fact
that holds its answer. A few articles are held out: the writer is scored on them (share of facts
it writes a checked question for) and they never reach training.

For the bundled model the result goes into the source tree (``memory/priors/<model>``, shipped in
the package); for a configured model into ``<data_dir>/priors/<model>``, where sleep finds it. It
trains on the CPU, in bf16 where models/precision.py finds it native and faster.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import random
import re
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sleepd.memory.facts import Fact, WordSignal, coverage, passage_facts
from sleepd.memory.prior import RECORD, SHIPPED, WRITER_PART
from sleepd.memory.questions import QuestionWriter, WriterConfig, normalise, writer_prompt, writer_target
from sleepd.models.identity import base_fingerprint, model_slug
from sleepd.storage.config import load_config
from sleepd.storage.logs import configure_logging

log = logging.getLogger("sleepd.prior")

CORPUS = "corpus/squad-prior/paragraphs.json"
LICENCE = "CC BY-SA 4.0"
HELD_OUT_EVERY = 8  # every 8th article (sorted by title) is held out for measuring the writer


def find_shared(explicit: str | None = None) -> Path | None:
    """The shared/ folder: --shared, $SLEEPD_SHARED, or one beside the checkout or the cwd."""
    here = Path(__file__).resolve()
    options = [explicit, os.environ.get("SLEEPD_SHARED")]
    options += [str(p / "shared") for p in (*here.parents, Path.cwd(), *Path.cwd().parents)]
    for o in options:
        if o and (Path(o) / CORPUS).is_file():
            return Path(o)
    return None


def article_split(paragraphs: Sequence[dict[str, Any]]) -> tuple[set[str], set[str]]:
    titles = sorted({p["title"] for p in paragraphs})
    held = {t for i, t in enumerate(titles) if i % HELD_OUT_EVERY == HELD_OUT_EVERY - 1}
    return set(titles) - held, held


def paragraph_text(p: dict[str, Any]) -> str:
    """A corpus paragraph as sleepd stores a note: its article as the heading."""
    return f"# {p['title']}\n\n{p['context']}"


def answering_fact(facts: Sequence[Fact], question: str, answer: str, signal: WordSignal) -> Fact | None:
    """The fact holding the answer; of several, the one sharing most of the question's words."""
    a = f" {normalise(answer)} "
    holding = [f for f in facts if a in f" {normalise(f.body)} "]
    return max(holding, key=lambda f: coverage(question, f.text, signal), default=None)


def writer_pairs(
    paragraphs: Sequence[dict[str, Any]], titles: set[str], signal: WordSignal
) -> list[tuple[Fact, str, str]]:
    """(fact, question, answer) for every corpus question whose answer a fact of its paragraph holds."""
    out = []
    for p in paragraphs:
        if p["title"] not in titles:
            continue
        facts = passage_facts(paragraph_text(p))
        for qa in p["qas"]:
            fact = answering_fact(facts, qa["q"], qa["a"], signal)
            if fact is not None:
                out.append((fact, qa["q"], qa["a"]))
    return out


def bench_texts(shared: Path) -> tuple[list[str], list[str]]:
    """(passage texts, questions) of every set under shared/bench: what the prior must never see."""
    docs, questions = [], []
    for qfile in sorted((shared / "bench").glob("*/questions.json")):
        questions += [q["q"] for q in json.loads(qfile.read_text())]
    for f in sorted((shared / "bench").glob("*/docs/**/*")):
        if f.is_file():
            docs.append(f.read_text(errors="replace"))
    for extra in sorted((shared / "bench").glob("*/*.json")):
        if extra.name != "questions.json":
            questions += [q["q"] for q in json.loads(extra.read_text()) if isinstance(q, dict) and "q" in q]
    return docs, questions


def bench_overlap(training_texts: Sequence[str], shared: Path, min_words: int = 8) -> list[str]:
    """Bench passages' sentences (``min_words`` or more) and bench questions found in the training
    texts: must be empty."""
    docs, questions = bench_texts(shared)
    haystack = "\n".join(normalise(t) for t in training_texts)
    found = [q for q in questions if len(q.split()) >= 4 and normalise(q) in haystack]
    for d in docs:
        for sentence in re.split(r"(?<=[.!?])\s+|\n", d):
            if len(sentence.split()) >= min_words and normalise(sentence) in haystack:
                found.append(sentence)
    return found


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def train_writer(args: argparse.Namespace) -> int:
    from sleepd.memory.sleeping.dataset import Example, tokenize_example
    from sleepd.models.architecture import n_layers as layer_count
    from sleepd.models.model import load_model

    shared = find_shared(args.shared)
    if shared is None:
        print(f"cannot find {CORPUS}: pass --shared or set SLEEPD_SHARED", file=sys.stderr)
        return 2
    corpus = shared / CORPUS
    paragraphs = json.loads(corpus.read_text())
    config = load_config()
    lm = load_model(config)
    signal = WordSignal(lm.tokenizer)
    train_titles, held_titles = article_split(paragraphs)
    pairs = writer_pairs(paragraphs, train_titles, signal)
    random.Random(0).shuffle(pairs)
    if args.limit:
        pairs = pairs[: args.limit]
    examples = [Example(writer_prompt(f.text), writer_target(q, a), None, "writer") for f, q, a in pairs]
    overlap = bench_overlap([e.prompt + e.answer for e in examples], shared)
    if overlap:
        print(f"refusing: {len(overlap)} benchmark text(s) in the training data, e.g. {overlap[0]!r}")
        return 2
    tokenized = [tokenize_example(lm.tokenizer, e) for e in examples]
    n_tokens = sum(len(t.input_ids) for t in tokenized)
    log.info(
        "question writer: %d examples, %d tokens, %d articles", len(examples), n_tokens, len(train_titles)
    )

    n_layers = layer_count(lm.model)
    model, cfg, stats = train_part(lm, tokenized, args, config)

    out = Path(args.out) if args.out else default_out(config, lm.source.name)
    part = out / WRITER_PART
    part.mkdir(parents=True, exist_ok=True)
    from sleepd.models.adapters import save_adapter

    save_adapter(model, part)
    measured = measure_writer(model, lm.tokenizer, paragraphs, held_titles, signal, args.measure_facts)
    data = {
        "summary": f"{len(examples)} SQuAD v1.1 dev questions of {len(train_titles)} articles",
        "corpus": CORPUS,
        "corpus_sha256": _sha256(corpus),
        "source": "SQuAD v1.1 development set (Rajpurkar et al. 2016), benchmark articles removed",
        "licence": LICENCE,
        "train_articles": sorted(train_titles),
        "held_out_articles": sorted(held_titles),
        "examples": len(examples),
        "tokens": n_tokens,
        "bench_overlap": 0,
    }
    record = {
        "name": f"{model_slug(lm.source.name)}-question-writer",
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "base_model": lm.source.name,
        "base_sha256": base_fingerprint(lm.source.path, lm.source.gguf_file),
        "parts": {WRITER_PART: "fact -> crowd question it answers, and the answer (questions.py)"},
        "data": data,
        "training": {**training_record(cfg, stats), "layers": n_layers},
        "measured": measured,
    }
    (out / RECORD).write_text(json.dumps(record, indent=1) + "\n")
    print(
        f"prior written to {out}: {data['summary']}; held-out facts with a checked question: "
        f"{measured['facts_with_question']:.0%}"
    )
    return 0


def train_part(
    lm: Any, tokenized: Sequence[Any], args: argparse.Namespace, config: Any
) -> tuple[Any, Any, Any]:
    """A LoRA adapter on every layer of ``lm``'s model trained on ``tokenized`` with the command's
    rank, learning rate and epochs, in this machine's training format, progress logged:
    (the adapted model, its TrainConfig, its TrainStats)."""
    from sleepd.memory.sleeping.train import TrainConfig, add_lora, train_lora
    from sleepd.models.precision import resolve

    bf16 = resolve(config.sleep.dtype, "train", config.paths.state_dir).bf16
    cfg = TrainConfig(rank=args.rank, alpha=args.rank, learning_rate=args.lr, epochs=args.epochs, bf16=bf16)
    model = add_lora(lm.model, None, cfg)
    started = time.monotonic()

    def on_step(step: int, total: int, loss: float) -> None:
        if step % 25 == 0 or step == total:
            eta = (time.monotonic() - started) / step * (total - step)
            log.info("step %d/%d loss %.3f (eta %.0f min)", step, total, loss, eta / 60)

    stats = train_lora(model, tokenized, cfg, on_step=on_step)
    log.info("trained %d tokens in %.0f s (%.0f tokens/s)", stats.tokens, stats.seconds, stats.tokens_per_s)
    return model, cfg, stats


def training_record(cfg: Any, stats: Any) -> dict[str, Any]:
    """How a prior's part was trained, for its record."""
    return {
        "rank": cfg.rank,
        "lr": cfg.learning_rate,
        "epochs": cfg.epochs,
        "bf16": cfg.bf16,
        "seconds": round(stats.seconds),
        "final_loss": round(sum(stats.losses[-20:]) / max(1, len(stats.losses[-20:])), 3),
    }


def default_out(config: Any, model_name: str) -> Path:
    from sleepd.models.model import BUNDLED_NAME

    if model_name == BUNDLED_NAME:
        return SHIPPED / model_slug(model_name)
    return config.paths.data_dir / "priors" / model_slug(model_name)


def measure_writer(
    model: Any,
    tokenizer: Any,
    paragraphs: Sequence[dict[str, Any]],
    held: set[str],
    signal: WordSignal,
    n: int,
) -> dict[str, Any]:
    """On facts of held-out articles: the share the writer writes a checked question for, and a
    sample of what it wrote."""
    facts = [f for p in paragraphs if p["title"] in held for f in passage_facts(paragraph_text(p))]
    facts = random.Random(1).sample(facts, min(n, len(facts)))
    writer = QuestionWriter(model, tokenizer, "measure")
    written = writer.write(facts, signal, WriterConfig())
    with_q = [f for f in facts if written.get(f.text)]
    return {
        "held_out_facts": len(facts),
        "facts_with_question": len(with_q) / len(facts) if facts else 0.0,
        "questions_per_fact": sum(len(written.get(f.text, [])) for f in facts) / max(1, len(facts)),
        "sample": [{"fact": f.text, "questions": written[f.text]} for f in with_q[:4]],
    }


def add_training_args(ap: argparse.ArgumentParser, what: str) -> None:
    """The options every prior part's trainer takes: where the corpus is, where the prior goes,
    and the LoRA recipe."""
    ap.add_argument("--shared", help="the shared/ folder holding corpus/ (default: found)")
    ap.add_argument("--out", help="prior folder to write into (default: the model's prior folder)")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--rank", type=int, default=16)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--limit", type=int, default=0, help=f"train on this many {what} only (0 = all)")


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m sleepd.tools.prior_train", description=__doc__.split("\n")[0]
    )
    add_training_args(ap, "questions")
    ap.add_argument("--measure-facts", type=int, default=60)
    args = ap.parse_args(argv)
    configure_logging(base_level=logging.INFO, tag="prior")
    return train_writer(args)


if __name__ == "__main__":
    raise SystemExit(main())
