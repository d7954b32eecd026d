"""Memory benchmark: `sleepd eval` on the devset with the general probe, written to bench/results/.

Usage: .venv/bin/python bench/memory.py [--batches 1] [--no-baselines] [--no-speed] [--forget SRC] [--tag T]
The recipe is the config of SLEEPD_HOME (e.g. [sleep] top_k_layers, layer_choice).
Prints the eval table and writes bench/results/memory.md and memory.json.
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
    parser.add_argument("--batches", type=int, default=1)
    parser.add_argument("--no-baselines", action="store_true")
    parser.add_argument("--forget", help="a devset source to forget after the last sleep, e.g. notes/x.md")
    parser.add_argument("--no-speed", action="store_true", help="skip the training speed comparison")
    parser.add_argument("--tag", default="", help="suffix of the result files, e.g. -last10")
    args = parser.parse_args()

    from sleepd.memory.eval_run import run_eval
    from sleepd.memory.evaluate import load_questions
    from sleepd.storage import load_config

    config = load_config()
    trace: list[dict] = []
    result = run_eval(
        config,
        SHARED / "devset" / "docs",
        load_questions(SHARED / "devset" / "questions.json"),
        load_questions(SHARED / "general" / "probe.json"),
        batches=args.batches,
        baselines=not args.no_baselines,
        log=lambda m: print(m, file=sys.stderr, flush=True),
        trace=trace,
        forget=args.forget,
    )
    rows = [
        ("ceiling (note in prompt)", result["ceiling"]),
        ("no memory", result["before"]),
        *[(f"baseline: {k}", v) for k, v in result["baselines"].items()],
        (f"sleepd after {args.batches} sleep(s), closed-book", result["after"]),
    ]
    table = ["| recipe | closed-book recall |", "|---|---|"]
    table += [f"| {name} | {value:.0%} |" for name, value in rows]
    table += [
        "",
        f"- after / ceiling: {result['after'] / result['ceiling']:.2f}" if result["ceiling"] else "",
        f"- general answers kept: {result['general_kept']}",
        f"- train speed: {result['train_tokens_per_s']:.0f} tokens/s",
        f"- sleep time: {result['sleep_seconds_per_1k_new_tokens']:.0f} s per 1k tokens of new text",
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
    name = f"memory-b{args.batches}{args.tag}"
    (out / f"{name}.md").write_text(text + "\n")
    (out / f"{name}.json").write_text(json.dumps(result, indent=2))
    # per-question record of the last sleep's answers: what was recited, kept, dropped
    (out / f"{name}-trace.json").write_text(json.dumps(trace, indent=1))


if __name__ == "__main__":
    main()
