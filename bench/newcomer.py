"""A newcomer's first minutes: four short notes (a garden list, a car sheet, an on-call runbook, a
family WhatsApp export) in a watched folder of a real daemon, then questions through the socket as
`sleepd chat` asks them, before any sleep. Per question: right or not, seconds to the whole
answer, how the answer ended (a loop is cut), and the answer itself.

Usage: .venv/bin/python bench/newcomer.py [--set bench/sets/newcomer] [--prior DIR] [--tag T]
``--prior``: the prior folder the daemon uses (``sleep.prior``; default: the shipped one).
Writes bench/results/newcomer<tag>.md and .json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--set", default=str(HERE / "sets" / "newcomer"))
    parser.add_argument("--prior", help="prior folder (sleep.prior) instead of the shipped one")
    parser.add_argument("--tag", default="")
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    from throwaway_daemon import throwaway_daemon

    from sleepd.memory.prompts import hit

    bench_set = Path(args.set)
    questions = json.loads((bench_set / "questions.json").read_text())
    rows = []
    settings = f'[sleep]\nprior = "{Path(args.prior).resolve()}"\n' if args.prior else ""
    with throwaway_daemon(settings) as d:
        d.client.post("/watch", {"path": str((bench_set / "docs").resolve())})
        while len(d.client.get("/sources")) < len(list((bench_set / "docs").iterdir())):
            time.sleep(0.5)  # the watcher reads the folder as soon as it is added
        for q in questions:
            start = time.perf_counter()
            events = list(d.client.chat({"message": q["q"], "new_session": True, "remember": False}))
            seconds = time.perf_counter() - start
            answer = "".join(e.get("token", "") for e in events).strip()
            finish = next((e.get("finish", "stop") for e in events if e.get("done")), "stop")
            rows.append(
                {**q, "answer": answer, "right": hit(answer, q["a"]), "seconds": seconds, "finish": finish}
            )
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    n = len(rows)
    right = sum(r["right"] for r in rows)
    times = sorted(r["seconds"] for r in rows)
    lines = [
        f"# newcomer: {n} questions over four notes, buffer chat before any sleep"
        + (f" (prior {args.prior})" if args.prior else ""),
        "",
        f"Right: {right} of {n}; seconds per whole answer p50 {statistics.median(times):.1f}, "
        f"max {times[-1]:.1f}; cut: {sum(r['finish'] != 'stop' for r in rows)}.",
        "",
        "| question | gold | right | s | finish | answer |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        answer = r["answer"].replace("\n", " ").replace("|", "/")[:120]
        mark = "yes" if r["right"] else "no"
        lines.append(f"| {r['q']} | {r['a']} | {mark} | {r['seconds']:.1f} | {r['finish']} | {answer} |")
    text = "\n".join(lines) + "\n"
    print(text)
    out = HERE / "results" / f"newcomer{args.tag}"
    out.with_suffix(".md").write_text(text)
    out.with_suffix(".json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
