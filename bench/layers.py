"""Layer selection: recall and forgetting of Fisher-chosen vs all vs the last k layers.

For each policy, `sleepd eval` on the devset in 2 batches with a sleep after each: recall after
both sleeps, batch 1's recall right after its own sleep and after the second (forgetting), and
training speed. Writes bench/results/layers.md.

Usage: .venv/bin/python bench/layers.py [--k 16] [--policies all,fisher,last] [--batches 2] [--tag T]
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
    parser.add_argument("--k", type=int, default=16)
    parser.add_argument("--policies", default="all,fisher,last")
    parser.add_argument("--batches", type=int, default=2, help="2+: batch 1's forgetting")
    parser.add_argument("--tag", default="", help="suffix of the result files")
    args = parser.parse_args()

    from sleepd.memory.eval_run import run_eval
    from sleepd.memory.evaluate import load_questions
    from sleepd.storage import load_config

    base = load_config()
    questions = load_questions(SHARED / "devset" / "questions.json")
    policies = {"all": (0, "fisher"), "fisher": (args.k, "fisher"), "last": (args.k, "last")}
    table = [
        f"| layers trained | ceiling | recall after {args.batches} sleeps | batch 1 after its sleep "
        f"| batch 1 after sleep {args.batches} | general kept | tokens/s |",
        "|---|---|---|---|---|---|---|",
    ]
    results = {}
    for name in args.policies.split(","):
        k, choice = policies[name]
        config = dataclasses.replace(
            base, sleep=dataclasses.replace(base.sleep, top_k_layers=k, layer_choice=choice)
        )
        print(f"== {name} ==", file=sys.stderr, flush=True)
        r = run_eval(
            config,
            SHARED / "devset" / "docs",
            questions,
            load_questions(SHARED / "general" / "probe.json"),
            batches=args.batches,
            baselines=False,
            log=lambda m: print(m, file=sys.stderr, flush=True),
        )
        results[name] = r
        label = "all" if not k else f"{name} top {k}"
        b1, b1_later = r["retention"][0][0], r["retention"][0][-1]
        table.append(
            f"| {label} | {r['ceiling']:.0%} | {r['after']:.0%} | {b1:.0%} | {b1_later:.0%} "
            f"| {r['general_kept'] or 0:.0%} | {r['train_tokens_per_s']:.0f} |"
        )
        print("\n".join(table), flush=True)
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / f"layers{args.tag}.md").write_text("\n".join(table) + "\n")
    (out / f"layers{args.tag}.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
