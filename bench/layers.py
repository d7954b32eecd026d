"""Layer selection: recall and forgetting of Fisher-chosen vs all vs the last k layers (with the
buffer and default-chat rows of the same runs).

For each policy, `sleepd eval` on a set in 2 batches with a sleep after each: recall after
both sleeps, batch 1's recall right after its own sleep and after the second (forgetting), and
training speed. Writes bench/results/layers-<set><tag>.md.

Usage: .venv/bin/python bench/layers.py [--set squad] [--share 0.5] [--policies all,fisher,last]
           [--batches 2] [--tag T]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared" / "bench"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--set", default="squad", help="devset, squad, squad-large, locomo or a DIR")
    parser.add_argument("--share", type=float, default=0.5, help="share of the layers trained")
    parser.add_argument("--policies", default="all,fisher,last")
    parser.add_argument("--batches", type=int, default=2, help="2+: batch 1's forgetting")
    parser.add_argument("--tag", default="", help="suffix of the result files")
    args = parser.parse_args()

    from sleepd.evaluation.questions import load_questions
    from sleepd.evaluation.run import EvalOptions, run_eval
    from sleepd.storage import load_config

    base = load_config()
    bench_set = Path(args.set) if Path(args.set).is_dir() else SHARED / args.set
    questions = load_questions(bench_set / "questions.json")
    policies = {"all": (1.0, "last"), "fisher": (args.share, "fisher"), "last": (args.share, "last")}
    table = [
        f"| layers trained | ceiling | buffer | recall after {args.batches} sleeps | default chat "
        f"| batch 1 after its sleep | batch 1 after sleep {args.batches} | general kept | tokens/s "
        "| s per 1k new tokens |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    results = {}
    for name in args.policies.split(","):
        share, choice = policies[name]
        config = dataclasses.replace(
            base, sleep=dataclasses.replace(base.sleep, layer_share=share, layer_choice=choice)
        )
        print(f"== {name} ==", file=sys.stderr, flush=True)
        r = run_eval(
            config,
            bench_set / "docs",
            questions,
            load_questions(SHARED / "general" / "probe.json"),
            EvalOptions(batches=args.batches, baselines=False),
            log=lambda m: print(m, file=sys.stderr, flush=True),
        )
        results[name] = r
        label = "all" if share >= 1 else f"{name}, {share:.0%} of the layers"
        b1, b1_later = r["retention"][0][0], r["retention"][0][-1]
        table.append(
            f"| {label} | {r['ceiling']:.0%} | {r['buffer']:.0%} | {r['after']:.0%} | {r['chat']:.0%} "
            f"| {b1:.0%} | {b1_later:.0%} | {r['general_kept'] or 0:.0%} | {r['train_tokens_per_s']:.0f} "
            f"| {r['sleep_seconds_per_1k_new_tokens']:.0f} |"
        )
        print("\n".join(table), flush=True)
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / f"layers-{bench_set.name}{args.tag}.md").write_text("\n".join(table) + "\n")
    (out / f"layers-{bench_set.name}{args.tag}.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
