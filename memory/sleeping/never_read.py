"""Questions about what a user's notes never say, for sleep's "Nothing." negatives
(``sleep.unknown_ratio``): made once from ``shared/corpus/squad-prior`` by
``python -m sleepd.memory.sleeping.never_read`` and shipped in ``memory/priors``.

Why crowd questions: a memory trained only on notes answers a factual question about anything else
("What is the capital of France?") with one of its notes, the question's words put in ("The capital
of France is Lerwick."). The dreaming prompts (how-to requests) taught "Nothing." did not carry to
factual questions; these are factual questions people wrote, about Wikipedia articles that no
benchmark uses, one per paragraph taken round the articles so that no topic dominates. They are
model-independent text (CC BY-SA 4.0, like the corpus).
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sleepd.memory.prior import SHIPPED

log = logging.getLogger(__name__)

NEVER_READ = SHIPPED / "never-read-questions.json"
MAX_WORDS = 14  # a question people ask in chat, not a crowd worker's paragraph-long one
COUNT = 256


def never_read_questions(path: Path = NEVER_READ) -> list[str]:
    """The shipped questions, in their order (round the articles); [] when the file is missing."""
    try:
        return [str(q) for q in json.loads(path.read_text())["questions"]]
    except (OSError, ValueError, KeyError, TypeError):
        log.warning("no never-read questions at %s: the negatives use the dreaming prompts only", path)
        return []


def pick_questions(paragraphs: Sequence[dict[str, Any]], count: int = COUNT) -> list[str]:
    """The first short question of each article's i-th paragraph, for i = 0, 1, ..., articles in
    title order, until ``count``."""
    by_title: dict[str, list[dict[str, Any]]] = {}
    for p in paragraphs:
        by_title.setdefault(p["title"], []).append(p)
    out: list[str] = []
    depth = max((len(v) for v in by_title.values()), default=0)
    for i in range(depth):
        for title in sorted(by_title):
            if i >= len(by_title[title]):
                continue
            asked = (qa["q"].strip() for qa in by_title[title][i]["qas"])
            first = next((q for q in asked if q.endswith("?") and len(q.split()) <= MAX_WORDS), None)
            if first is not None:
                out.append(first)
                if len(out) == count:
                    return out
    return out


def main(argv: Sequence[str] | None = None) -> int:
    from sleepd.memory.sleeping.prior_train import CORPUS, LICENCE, bench_overlap, find_shared

    ap = argparse.ArgumentParser(prog="python -m sleepd.memory.sleeping.never_read", description=__doc__)
    ap.add_argument("--shared", help="the shared/ folder holding corpus/ (default: found)")
    ap.add_argument("--out", default=str(NEVER_READ))
    args = ap.parse_args(argv)
    shared = find_shared(args.shared)
    if shared is None:
        raise SystemExit(f"error: no shared/{CORPUS} found; pass --shared")
    questions = pick_questions(json.loads((shared / CORPUS).read_text()))
    if overlap := bench_overlap(questions, shared):
        raise SystemExit(f"error: {len(overlap)} bench text(s) in the questions, e.g. {overlap[0]!r}")
    record = {"source": f"{CORPUS}: SQuAD v1.1 dev, benchmark articles removed", "licence": LICENCE}
    Path(args.out).write_text(json.dumps({**record, "questions": questions}, indent=1) + "\n")
    print(f"{len(questions)} questions -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
