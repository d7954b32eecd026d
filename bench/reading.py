"""Reading bench: what default chat reads of its notes (``recall.note_tokens``), recall against speed.

Usage: .venv/bin/python bench/reading.py [--set squad ...] [--caps 0,64,96,128] [--tag T]
A set is ../shared/bench/<name>, bench/sets/<name>, any DIR holding docs/ and questions.json, or
``vault=DIR``: bench/sets/vault-tldr's questions on DIR, tldr-pages' ``pages/`` (see bench/vault.py).

For each set, in one run on the bundled model with no memory version (the buffer alone, what chat
answers before any sleep): the docs ingested into a throwaway store; the ceiling (the question's
note whole in the prompt); then for each cap (0 = whole notes, today's buffer row) the buffer row
through chat's own path (``answer_with_memory``), the note tokens read and the first token's
latency, p50 / p95, against the same questions asked with an empty buffer (no note in the prompt).
Writes bench/results/reading<tag>.md and .json.
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

from chat import p95

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared" / "bench"


def set_dir(name: str) -> Path:
    if name.startswith("vault="):  # the tldr vault questions, on the pages folder brought at bench time
        return HERE / "sets" / "vault-tldr"
    for d in (SHARED / name, HERE / "sets" / name, Path(name)):
        if (d / "questions.json").is_file():
            return d
    sys.exit(f"no set {name!r} (tried {SHARED / name}, {HERE / 'sets' / name}, {name})")


def timed(stream: Any) -> tuple[float, str]:
    """Seconds to the first piece of a generation stream, and the whole text."""
    t0 = time.perf_counter()
    parts = []
    first = None
    for piece in stream:
        first = first if first is not None else time.perf_counter() - t0
        parts.append(piece)
    return (first if first is not None else time.perf_counter() - t0), "".join(parts)


def lat(xs: list[float]) -> dict[str, float]:
    return {"p50": statistics.median(xs), "p95": p95(xs)}


def run_set(name: str, caps: list[int], log: Any) -> dict[str, Any]:
    from sleepd.evaluation.questions import EVAL_GEN, ceiling, load_questions, share
    from sleepd.evaluation.run import throwaway_config
    from sleepd.ingest.ingestor import make_ingestor
    from sleepd.memory.prompts import hit
    from sleepd.memory.served import load_with_memory
    from sleepd.memory.serving.excerpt import excerpts
    from sleepd.memory.serving.generate import stream_generate
    from sleepd.memory.serving.recall import answer_with_memory, word_signal
    from sleepd.models.tokens import load_token_counter
    from sleepd.storage import Store, load_config, open_engine

    root = set_dir(name)
    docs = Path(name.removeprefix("vault=")) if name.startswith("vault=") else root / "docs"
    questions = load_questions(root / "questions.json")
    config = throwaway_config(load_config(), Path(tempfile.mkdtemp(prefix="sleepd-reading-")))
    store = Store(open_engine(config))
    count = load_token_counter(config)
    ingestor = make_ingestor(store, config, count)
    for f in sorted(p for p in docs.rglob("*") if p.is_file()):
        ingestor.ingest_file(str(f))
    lm, _none = load_with_memory(config)
    signal = word_signal(lm.tokenizer)
    log(f"{name}: {len(questions)} questions; ceiling ...")
    out: dict[str, Any] = {"set": name, "questions": len(questions)}
    out["ceiling"] = share(ceiling(lm, questions, docs))
    timed(stream_generate(lm, [{"role": "user", "content": questions[0].q}], EVAL_GEN, adapter=False))  # warm
    ask = [[{"role": "user", "content": q.q}] for q in questions]
    empty = [timed(stream_generate(lm, m, EVAL_GEN, adapter=False))[0] for m in ask]
    out["empty"] = lat(empty)
    notes = {q.q: [h.passage.text for h in store.notes_for(q.q, config.recall)] for q in questions}
    out["caps"] = {}
    for cap in caps:
        log(f"{name}: note_tokens = {cap} ...")
        firsts, hits, read_tokens = [], [], []  # type: list[float], list[bool], list[float]
        for q in questions:
            read = excerpts(q.q, notes[q.q], cap, signal, count)
            read_tokens.append(sum(count(t) for t in read))
            first, answer = timed(
                answer_with_memory(lm, q.q, EVAL_GEN, recite=False, notes=notes[q.q], note_tokens=cap)[0]
            )
            firsts.append(first)
            hits.append(hit(answer, q.a))
        out["caps"][cap] = {
            "buffer": share(hits),
            "hits": hits,
            "read_tokens": {
                "mean": statistics.mean(read_tokens),
                "p95": p95([float(x) for x in read_tokens]),
            },
            "first": lat(firsts),
        }
    return out


def table(results: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| set | note_tokens | buffer | / ceiling | / whole notes | tokens read mean / p95 "
        "| first token p50 / p95 | p95 / empty buffer |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        whole = r["caps"][min(r["caps"])]["buffer"]
        lines.append(
            f"| {r['set']} ({r['questions']} q; ceiling {r['ceiling']:.0%}) | empty buffer | | | | 0 "
            f"| {r['empty']['p50'] * 1000:.0f} / {r['empty']['p95'] * 1000:.0f} ms | 1.00x |"
        )
        for cap, c in r["caps"].items():
            lines.append(
                f"| | {cap or 'whole'} | {c['buffer']:.0%} "
                f"| {c['buffer'] / r['ceiling'] if r['ceiling'] else 0:.2f}x "
                f"| {c['buffer'] / whole if whole else 0:.2f}x "
                f"| {c['read_tokens']['mean']:.0f} / {c['read_tokens']['p95']:.0f} "
                f"| {c['first']['p50'] * 1000:.0f} / {c['first']['p95'] * 1000:.0f} ms "
                f"| {c['first']['p95'] / r['empty']['p95']:.2f}x |"
            )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--set", action="append", dest="sets")
    parser.add_argument("--caps", default="0,64,96,128")
    parser.add_argument("--tag", default="")
    args = parser.parse_args()
    caps = [int(c) for c in args.caps.split(",")]
    sets = args.sets or ["squad", "locomo", "devset", "household"]
    each_set(
        sets,
        lambda name, log: run_set(name, caps, log),
        table,
        "reading: what default chat reads of its notes",
        f"reading{args.tag}",
    )


def each_set(
    sets: list[str],
    run: Any,
    table_of: Any,
    title: str,
    stem: str,
) -> None:
    """``run(name, log)`` for each set, the table so far written to bench/results/``stem``.md (and
    the figures to .json) as each set lands, then printed."""
    results: list[dict[str, Any]] = []
    text = ""
    for name in sets:
        results.append(run(name, lambda m: print(m, file=sys.stderr, flush=True)))
        text = "\n".join([f"# {title}", "", *table_of(results)])
        (HERE / "results" / f"{stem}.md").write_text(text + "\n")
        (HERE / "results" / f"{stem}.json").write_text(json.dumps(results, indent=1))
    print(text)


if __name__ == "__main__":
    main()
