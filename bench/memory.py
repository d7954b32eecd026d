"""Memory benchmark: `sleepd eval` on a set with the general probe, written to bench/results/.

Usage: .venv/bin/python bench/memory.py [--set devset|squad|squad-large|locomo|DIR] [--batches 1]
           [--no-baselines] [--no-speed] [--forget SRC] [--tag T]
A set is ../shared/bench/<name> or any DIR holding docs/ and questions.json.
The recipe is the config of SLEEPD_HOME (e.g. [sleep] layer_share, layer_choice).
Prints the eval table and writes bench/results/memory-<set>-b<N><tag>.md and .json.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared" / "bench"


def _matrix(rows: list[list[float | None]]) -> str:
    return "; ".join(" ".join("-" if v is None else f"{v:.2f}" for v in row) for row in rows)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--set", default="devset", help="devset, squad, squad-large, locomo or a DIR")
    parser.add_argument("--batches", type=int, default=1)
    parser.add_argument("--no-baselines", action="store_true")
    parser.add_argument("--forget", help="a devset source to forget after the last sleep, e.g. notes/x.md")
    parser.add_argument("--no-speed", action="store_true", help="skip the training speed comparison")
    parser.add_argument("--tag", default="", help="suffix of the result files, e.g. -last10")
    args = parser.parse_args()

    from sleepd.evaluation.questions import load_questions
    from sleepd.evaluation.run import run_eval
    from sleepd.storage import load_config

    config = load_config()
    trace: list[dict] = []
    bench_set = Path(args.set) if Path(args.set).is_dir() else SHARED / args.set
    result = run_eval(
        config,
        bench_set / "docs",
        load_questions(bench_set / "questions.json"),
        load_questions(SHARED / "general" / "probe.json"),
        batches=args.batches,
        baselines=not args.no_baselines,
        log=lambda m: print(m, file=sys.stderr, flush=True),
        trace=trace,
        forget=args.forget,
    )
    rows = [
        ("ceiling (note in prompt)", "ceiling"),
        ("no memory", "before"),
        ("buffer (BM25 notes in prompt, before the sleep)", "buffer"),
        (f"sleepd after {args.batches} sleep(s), closed-book", "after"),
        ("default chat after the sleep(s) (weights + buffer)", "chat"),
    ]
    kinds = sorted({k for row in result["kinds"].values() for k in row})
    ceiling = result["ceiling"]
    table = [f"## {bench_set.name}: {result['questions']} questions", ""]
    table += [
        "| row | right | / ceiling | " + " | ".join(kinds) + " |",
        "|---|---|---|" + "---|" * len(kinds),
    ]
    for name, key in rows:
        per_kind = [f"{result['kinds'][key].get(k, 0):.0%}" for k in kinds]
        vs = f"{result[key] / ceiling:.2f}x" if ceiling else "-"
        table.append(f"| {name} | {result[key]:.0%} | {vs} | " + " | ".join(per_kind) + " |")
    table += [f"| baseline: {k} | {v:.0%} | | |" for k, v in result["baselines"].items() if k != "no_memory"]
    buffer = result["buffer"]
    table += [
        "",
        f"- closed-book / buffer: {result['after'] / buffer:.2f}x" if buffer else "- buffer: 0",
        f"- general answers kept: {result['general_kept']} (of {result['general_base_correct']} base-right)",
        f"- cost: {result['train_tokens_per_new_token']:.1f} training tokens per new token "
        f"({result['new_tokens']} new tokens); {result['sleep_seconds_per_1k_new_tokens']:.0f} s of sleep "
        f"per 1k new tokens; sleeps {', '.join(f'{t:.0f} s' for t in result['sleep_seconds'])}",
        f"- train speed: {result['train_tokens_per_s']:.0f} tokens/s"
        f" in {result['precision']['dtype']} ({result['precision']['reason']})",
        f"- passages left pending (nothing to train on): {result['held_passages']}",
        *(f"- sleep {r['sleep']} rejected by the gate: {r['reason']}" for r in result["rejected_sleeps"]),
        f"- retention (row: batch, column: after sleep j): {_matrix(result['retention'])}",
    ]
    if result.get("forget"):
        f = result["forget"]
        table += [
            f"- forget {f['source']} ({f['questions']} questions), one more sleep: its recall "
            f"{f['forgotten_before']:.0%} -> {f['forgotten_after']:.0%}; other questions "
            f"{f['others_before']:.0%} -> {f['others_after']:.0%} (kept {f['others_kept'] or 0:.2f}x)"
        ]
    if not args.no_speed:
        sys.path.insert(0, str(HERE))
        from train_speed import measure

        rates = measure(config, log=lambda m: print(m, file=sys.stderr, flush=True))
        result["train_speed"] = rates
        base = next(iter(rates.values()))
        table += ["", "| training variant (same examples) | tokens/s | vs baseline |", "|---|---|---|"]
        table += [f"| {name} | {rate:.0f} | {rate / base:.2f}x |" for name, rate in rates.items()]
        configured = list(rates.values())[-1]
        result["train_speed_ratio"] = configured / base
        ratio = f"{configured / base:.2f}x"
        table += ["", f"- training speed of the configured recipe: {ratio} the plain fp32 baseline"]
    text = "\n".join(table)
    print(text)
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    name = f"memory-{bench_set.name}-b{args.batches}{args.tag}"
    (out / f"{name}.md").write_text(text + "\n")
    (out / f"{name}.json").write_text(json.dumps(result, indent=2))
    # per-question record of the last sleep's answers: what was recited, kept, dropped
    (out / f"{name}-trace.json").write_text(json.dumps(trace, indent=1))


if __name__ == "__main__":
    main()
