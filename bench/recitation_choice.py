"""Which recitation closed-book recall reads: the writer's gain alone and gain + w x its beam score
(shipped with w = 3), on the same weights and the same beams.

Usage: .venv/bin/python bench/recitation_choice.py --home DIR --set devset [--weights 0,3] [--tag T]

``--home``: a home that slept over the set, e.g. the throwaway home ``bench/memory.py`` keeps with
``SLEEPD_EVAL_KEEP=1`` (its ``home`` in the result JSON). Each question's beams are decoded and
ranked once; each weight then picks one and the plain model reads it (the closed-book prompt).
Printed per weight: the questions whose read recitation holds the gold answer, and those answered
right; ``--set general`` is the general probe (read: how many questions read a note at all).
Writes bench/results/recitation-choice-<set><tag>.md, .json.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared" / "bench"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--home", required=True)
    parser.add_argument("--set", default="devset", help="devset, squad, general, locomo or a DIR")
    parser.add_argument("--weights", default="0,3")
    parser.add_argument("--tag", default="")
    args = parser.parse_args()

    from sleepd.evaluation.questions import EVAL_GEN, load_questions
    from sleepd.evaluation.run import throwaway_config
    from sleepd.memory.prompts import hit
    from sleepd.memory.served import load_with_memory
    from sleepd.memory.serving.recall import choose_recitation, read_notes, recite_candidates
    from sleepd.storage import load_config

    name = Path(args.set).name
    path = SHARED / args.set if (SHARED / args.set).exists() else Path(args.set)
    questions = load_questions(path / "probe.json" if name == "general" else path / "questions.json")
    config = throwaway_config(load_config(), Path(args.home))
    lm, served = load_with_memory(config)
    if served is None or lm.writer is None:
        sys.exit("no memory version with the prior's writer served in that home")
    weights = [float(w) for w in args.weights.split(",")]

    rows = []
    for q in questions:
        _unlearned, candidates = recite_candidates(lm, q.q, config.recall.recite_beams)
        row: dict = {"q": q.q, "a": q.a, "in_beams": any(hit(c.text, q.a) for c in candidates)}
        for w in weights:
            chosen = choose_recitation(candidates, w)
            answer = read_notes(lm, q.q, [chosen.text] if chosen else [], EVAL_GEN)
            row[f"w{w:g}"] = {
                "read": chosen.text if chosen else None,
                "holds": bool(chosen) and hit(chosen.text, q.a),
                "right": hit(answer, q.a),
            }
        rows.append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)

    n = len(rows)
    lines = [
        f"# which recitation closed-book reads, {name}: {n} questions, one sleep, the same beams",
        "",
        f"Home: `{args.home}` (memory version {served}). The answer is in some confident beam for "
        f"{sum(r['in_beams'] for r in rows)} of {n}.",
        "",
        "| rule | a note read | the read note holds the answer | answered right |",
        "|---|---|---|---|",
    ]
    rules = [(f"w{w:g}", "writer gain alone" if w == 0 else f"gain + {w:g} x beam score") for w in weights]
    for k, label in rules:
        read = sum(r[k]["read"] is not None for r in rows)
        holds = sum(r[k]["holds"] for r in rows)
        right = sum(r[k]["right"] for r in rows)
        lines.append(f"| {label} | {read}/{n} | {holds}/{n} | {right}/{n} ({right / n:.0%}) |")
    text = "\n".join(lines) + "\n"
    print(text)
    out = HERE / "results" / f"recitation-choice-{name}{args.tag}"
    out.with_suffix(".md").write_text(text)
    out.with_suffix(".json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
