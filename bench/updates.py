"""Update benchmark: edited values, removed lines, a deleted note and `memory forget`, on one set.

Usage: .venv/bin/python bench/updates.py [--set DIR] [--tag T]
The set (default bench/sets/updates) is described in sleepd.evaluation.updates. The recipe is the
config of SLEEPD_HOME. Writes bench/results/updates<tag>.md and .json (with a per-question trace).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

# (figure, key, goal, goal met?) — the goals of the edits-and-deletions work
GOALS = [
    ("default chat right after the edit: new value", "chat_new_after_edit", ">= 90%", lambda v: v >= 0.9),
    ("default chat right after the edit: old value", "chat_old_after_edit", "", None),
    ("closed-book after the next sleep: new value", "closed_new_after_sleep", "", None),
    (
        "closed-book after the next sleep: old value recited",
        "closed_old_after_sleep",
        "<= 10%",
        lambda v: v <= 0.1,
    ),
    ("closed-book after the next sleep: unedited notes", "unedited_after_sleep", "", None),
]


def table(r: dict) -> list[str]:
    lines = [
        f"# updates: {r['questions']} questions",
        "",
        "| figure | value | goal | met |",
        "|---|---|---|---|",
    ]
    for label, key, goal, ok in GOALS:
        lines.append(
            f"| {label} | {r[key]:.0%} | {goal} | {'' if ok is None else ('yes' if ok(r[key]) else 'no')} |"
        )
    ratio = r["new_vs_unedited"]
    met = "-" if ratio is None else ("yes" if ratio >= 0.7 else "no")
    shown = "-" if ratio is None else f"{ratio:.2f}x"
    lines.append(f"| new value closed-book / unedited recall | {shown} | >= 0.7x | {met} |")
    for kind, value in r["recited_after_sleep"].items():
        met = "yes" if value <= 0.1 else "no"
        lines.append(f"| {kind} notes/lines recited after the sleep | {value:.0%} | <= 10% | {met} |")
    learned = ", ".join(f"{k} {v:.0%}" for k, v in r["learned_before_changes"].items())
    chat = r["trace"]["chat_after_edit"]
    alone = sum(t["hit"] for t in chat) / len(chat) if chat else 0.0
    lines += [
        "",
        f"- default chat right after the edit, the answer alone (the notes chat shows beside it not "
        f"counted): {alone:.0%} new value",
        f"- recalled closed-book after the first sleep, before any change (the old value for updated "
        f"questions): {learned}",
        f"- sleeps: {', '.join(f'{s:.0f} s' for s in r['sleep_seconds'])} for {r['new_tokens']} new tokens",
    ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--set", default=str(HERE / "sets" / "updates"))
    parser.add_argument("--tag", default="")
    args = parser.parse_args()

    from sleepd.evaluation.updates import UpdateSet, run_updates
    from sleepd.storage import load_config

    result = run_updates(
        load_config(), UpdateSet.load(Path(args.set)), log=lambda m: print(m, file=sys.stderr, flush=True)
    )
    text = "\n".join(table(result))
    print(text)
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / f"updates{args.tag}.md").write_text(text + "\n")
    (out / f"updates{args.tag}.json").write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
