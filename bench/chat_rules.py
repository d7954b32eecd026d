"""Default-chat rules bench: what default chat reads when the weights and the buffer disagree.

Usage: .venv/bin/python bench/chat_rules.py [--set squad] [--home DIR] [--tag T]

One sleep over the set in a throwaway home (or ``--home``: a home this script slept before, reused),
then, on the same weights and the same recitations (writer-ranked beams, ``recall.recite_beams``),
each question answered with the prompts of several rules:

- ``buffer``: the buffer's notes alone (``notes_to_read`` with no recitation joining): the row a
  sleep must beat;
- ``shipped``: what chat does now (``answer_with_memory``'s path: ``memory_leads``, else
  ``notes_to_read``): the memory's sentences, then the buffer note the writer prefers unless it
  prefers the memory's;
- ``lead_alone``: the rule shipped before: the memory's sentences alone where the writer prefers
  them, else the buffer's prompt;
- ``alone``: the grounded passage's recited sentences alone, whenever a recitation is grounded;
- ``first``: those sentences first, then the buffer's notes (under the same token cap);
- ``lead_first``: ``first`` where the writer prefers the memory's sentences, else the buffer's prompt;
- ``beams_lead``: as ``shipped``, but every confident beam (not only the writer's best one) that is
  grounded in a stored passage offers that passage's recited sentences, and the writer picks among
  all of them and the buffer's notes: the weights as a retriever, the stored text as what is read.

Also the recitation's latency (the wait before chat's first token) with writer-ranked beams and with
greedy recitations, on the first 15 questions. Writes bench/results/chat-rules-<set><tag>.md, .json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared" / "bench"
RULES = ("buffer", "shipped", "lead_alone", "alone", "first", "lead_first", "beams_lead")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--set", default="squad")
    parser.add_argument("--home", default=None, help="reuse a home this script slept in before")
    parser.add_argument("--tag", default="")
    parser.add_argument("--limit", type=int, default=0, help="only the first N questions (a smoke run)")
    args = parser.parse_args()

    from sleepd.evaluation.questions import EVAL_GEN, load_questions
    from sleepd.evaluation.run import throwaway_config
    from sleepd.ingest.ingestor import make_ingestor
    from sleepd.memory.prompts import hit
    from sleepd.memory.served import load_with_memory
    from sleepd.memory.serving.excerpt import excerpts
    from sleepd.memory.serving.recall import (
        _count,
        ground,
        memory_leads,
        notes_to_read,
        read_notes,
        recite_for,
        word_signal,
    )
    from sleepd.memory.sleeping.pipeline import run_sleep
    from sleepd.models.tokens import load_token_counter
    from sleepd.storage import Store, load_config, open_engine

    bench_set = SHARED / args.set if (SHARED / args.set).is_dir() else Path(args.set)
    questions = load_questions(bench_set / "questions.json")[: args.limit or None]
    root = Path(args.home) if args.home else Path(tempfile.mkdtemp(prefix="sleepd-chat-rules-"))
    fresh = not (root / "data").exists()
    config = throwaway_config(load_config(), root)
    store = Store(open_engine(config))
    sleep_s = None
    if fresh:
        ingest = make_ingestor(store, config, load_token_counter(config))
        for f in sorted(p for p in (bench_set / "docs").rglob("*") if p.is_file()):
            ingest.ingest_file(str(f))
        t0 = time.perf_counter()
        run_sleep(config, store)
        sleep_s = time.perf_counter() - t0
    lm, served = load_with_memory(config)
    if served is None or lm.writer is None:
        sys.exit("no memory version with the prior's writer served: nothing to compare")
    signal, cap, beams = word_signal(lm.tokenizer), config.recall.note_tokens, config.recall.recite_beams

    def count(text: str) -> int:
        return _count(lm.tokenizer, text)

    def search(text: str) -> list[str]:
        return [h.passage.text for h in store.search(text, k=3)]

    answers: dict[tuple[str, tuple[str, ...]], str] = {}

    def answer(q: str, read: list[str]) -> str:
        if (q, tuple(read)) not in answers:
            answers[q, tuple(read)] = read_notes(lm, q, read, EVAL_GEN)
        return answers[q, tuple(read)]

    rows: list[dict[str, Any]] = []
    for q in questions:
        notes = [h.passage.text for h in store.notes_for(q.q, config.recall)]
        rec = recite_for(lm, q.q, config.recall.min_coverage, beams)
        kept = [(g, t) for _q, t in rec.recitations if (g := ground(t, search, signal)) is not None]
        buffer = excerpts(q.q, notes_to_read(q.q, [], notes, signal), cap, signal, count)
        before = excerpts(q.q, notes_to_read(q.q, [g for g, _t in kept], notes, signal), cap, signal, count)
        reads = {rule: before for rule in RULES} | {"buffer": buffer}
        if kept:
            passage, recitation = kept[0]
            focus = excerpts(recitation, [passage], cap, signal, count)
            rest = excerpts(q.q, notes, max(0, cap - sum(count(f) for f in focus)), signal, count)
            first = list(dict.fromkeys([*focus, *rest]))
            led = memory_leads(lm, q.q, kept[:1], notes, cap, signal, count)
            prefers_memory = led is not None and len(led) == 1  # else the buffer's best follows
            reads.update(
                alone=focus,
                first=first,
                lead_first=first if prefers_memory else before,
                lead_alone=led if prefers_memory else before,
            )
            reads["shipped"] = led if led is not None else before
        # every confident beam grounded, not only the writer's best, offered to the same rule
        offered = [
            (g, t) for _q, t in [*rec.recitations, *rec.dropped] if t and (g := ground(t, search, signal))
        ]
        reads["beams_lead"] = memory_leads(lm, q.q, offered, notes, cap, signal, count) or before
        row = {"q": q.q, "a": q.a, "recited": kept[0][1] if kept else None}
        row.update({rule: hit(answer(q.q, read), q.a) for rule, read in reads.items()})
        rows.append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)

    latency: dict[str, list[float]] = {"writer-ranked beams": [], "greedy": []}
    for q in questions[:15]:
        for name, b in (("writer-ranked beams", beams), ("greedy", 1)):
            t0 = time.perf_counter()
            recite_for(lm, q.q, config.recall.min_coverage, b)
            latency[name].append(time.perf_counter() - t0)

    n = len(rows)
    share = {rule: sum(r[rule] for r in rows) for rule in RULES}
    lines = [
        f"# default chat's rules, {bench_set.name}: {n} questions, one sleep, the same recitations",
        "",
        "| rule | right | vs buffer |",
        "|---|---|---|",
        *(
            f"| {rule} | {share[rule]}/{n} ({share[rule] / n:.0%}) | {share[rule] - share['buffer']:+d} |"
            for rule in RULES
        ),
        "",
        "Questions where the rules differ:",
        "",
        *(
            f"- {r['q']} ({', '.join(f'{k} {int(r[k])}' for k in RULES)})"
            for r in rows
            if len({r[k] for k in RULES}) > 1
        ),
        "",
        "Recitation before the first token (s), first 15 questions: "
        + "; ".join(f"{k} p50 {statistics.median(v):.1f}, max {max(v):.1f}" for k, v in latency.items()),
    ]
    if sleep_s is not None:
        lines.append(f"Sleep: {sleep_s:.0f} s.")
    out = HERE / "results" / f"chat-rules-{bench_set.name}{args.tag}"
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    out.with_suffix(".json").write_text(
        json.dumps({"rows": rows, "latency": latency, "sleep_s": sleep_s}, indent=1)
    )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
