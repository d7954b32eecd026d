"""Reader bench: what the reading prior changes in the rows that read notes, before any sleep.

Usage: .venv/bin/python bench/reader.py [--set squad ...] [--prior LABEL=DIR ...] [--tag T]
``--prior``: a prior folder to read with (its ``reader`` part), or ``LABEL=without``: the shipped
prior with no reader (the plain model reads). Default: ``without`` and the shipped prior.

For each set, in one run on the bundled model, each prior on the same throwaway store: the ceiling
(the question's note whole in the prompt), the buffer row through chat's own path
(``answer_with_memory`` with the buffer's notes), the median answer length in words and the first
token's latency p50 / p95; and the general probe asked with the same buffer (what a general
question gets in default chat when the search finds notes for it): the share of the plain model's
right answers kept. Writes bench/results/reader<tag>.md and .json.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import tempfile
from pathlib import Path
from typing import Any

from chat import p95
from reading import each_set, set_dir, timed

HERE = Path(__file__).resolve().parent
GENERAL = HERE.parent.parent / "shared" / "bench" / "general" / "probe.json"


def buffer_answers(
    lm: Any, questions: list[Any], notes: dict[str, list[str]], cap: int
) -> list[dict[str, Any]]:
    """Each question answered as default chat answers before any sleep: (right, words, first token s)."""
    from sleepd.evaluation.questions import EVAL_GEN
    from sleepd.memory.prompts import hit
    from sleepd.memory.serving.recall import answer_with_memory

    rows = []
    for q in questions:
        stream, _rec = answer_with_memory(lm, q.q, EVAL_GEN, recite=False, notes=notes[q.q], note_tokens=cap)
        first, answer = timed(stream)
        rows.append({"q": q.q, "answer": answer, "right": hit(answer, q.a), "first": first})
    return rows


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    firsts = [r["first"] for r in rows]
    return {
        "right": sum(r["right"] for r in rows) / len(rows),
        "words_p50": statistics.median(len(r["answer"].split()) for r in rows),
        "first_p50": statistics.median(firsts),
        "first_p95": p95(firsts),
    }


def run_set(name: str, priors: dict[str, str], log: Any) -> dict[str, Any]:
    from sleepd.evaluation.questions import ceiling, load_questions, share
    from sleepd.evaluation.run import throwaway_config
    from sleepd.ingest.ingestor import make_ingestor
    from sleepd.memory.served import load_with_memory
    from sleepd.models.tokens import load_token_counter
    from sleepd.storage import Store, load_config, open_engine

    root = set_dir(name)
    questions = load_questions(root / "questions.json")
    general = load_questions(GENERAL) if GENERAL.is_file() else []
    config = throwaway_config(load_config(), Path(tempfile.mkdtemp(prefix="sleepd-reader-")))
    store = Store(open_engine(config))
    ingestor = make_ingestor(store, config, load_token_counter(config))
    for f in sorted(p for p in (root / "docs").rglob("*") if p.is_file()):
        ingestor.ingest_file(str(f))
    asked = [*questions, *general]
    notes = {q.q: [h.passage.text for h in store.notes_for(q.q, config.recall)] for q in asked}
    out: dict[str, Any] = {"set": name, "questions": len(questions), "rows": {}}
    plain_general: list[bool] | None = None
    for label, where in priors.items():
        prior = config.sleep.prior if where == "without" else where
        sleep = dataclasses.replace(config.sleep, prior=prior)
        lm, _none = load_with_memory(dataclasses.replace(config, sleep=sleep))
        if where == "without":
            lm.reader = None
        log(f"{name} / {label} (reader: {lm.reader}): ceiling ...")
        row: dict[str, Any] = {"ceiling": share(ceiling(lm, questions, root / "docs"))}
        log(f"{name} / {label}: buffer ...")
        answers = buffer_answers(lm, questions, notes, config.recall.note_tokens)
        row |= {"buffer": summary(answers), "answers": answers}
        general_hits = [r["right"] for r in buffer_answers(lm, general, notes, config.recall.note_tokens)]
        plain_general = general_hits if plain_general is None else plain_general
        base_right = [i for i, h in enumerate(plain_general) if h]
        row["general_kept"] = sum(general_hits[i] for i in base_right) / max(1, len(base_right))
        row["general_right"] = share(general_hits)
        out["rows"][label] = row
        log(f"{name} / {label}: ceiling {row['ceiling']:.0%}, buffer {row['buffer']['right']:.0%}")
    return out


COLUMNS = (
    "set",
    "reader",
    "ceiling",
    "buffer",
    "buffer / ceiling",
    "answer words p50",
    "first token p50 / p95",
    "general kept (with the buffer)",
)


def table(results: list[dict[str, Any]]) -> list[str]:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for r in results:
        first_cell = f"{r['set']} ({r['questions']} q)"
        for label, row in r["rows"].items():
            b = row["buffer"]
            lines.append(
                f"| {first_cell} | {label} "
                f"| {row['ceiling']:.0%} | {b['right']:.0%} "
                f"| {b['right'] / row['ceiling'] if row['ceiling'] else 0:.2f}x | {b['words_p50']:.0f} "
                f"| {b['first_p50'] * 1000:.0f} / {b['first_p95'] * 1000:.0f} ms "
                f"| {row['general_kept']:.2f} |"
            )
            first_cell = ""
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--set", action="append", dest="sets")
    parser.add_argument("--prior", action="append", dest="priors", help="LABEL=DIR or LABEL=without")
    parser.add_argument("--tag", default="")
    args = parser.parse_args()
    pairs = [p.partition("=") for p in args.priors or ["without=without", "reader=auto"]]
    priors = {label: where for label, _, where in pairs}
    sets = args.sets or ["squad", "locomo", "household", "devset"]
    title = "reader: the reading prior's rows, before any sleep"
    each_set(sets, lambda name, log: run_set(name, priors, log), table, title, f"reader{args.tag}")


if __name__ == "__main__":
    main()
