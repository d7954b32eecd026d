"""Reliability report: runs the tests/reliability suite and prints what it put sleepd through.

The tests record their figures (kill -9 trials run and survived, bad inputs tried, files written vs
stored under load, the daemon's peak RSS, disk faults survived) into the JSON file named by
SLEEPD_RELIABILITY_FIGURES; this script sets it, runs pytest, prints a table and writes
bench/results/reliability.md. Exit status: pytest's.

Usage: .venv/bin/python bench/reliability.py [-k EXPR]
       .venv/bin/python bench/reliability.py --from FIGURES.json   (a run that set the variable itself,
       e.g. SLEEPD_RELIABILITY_FIGURES=/tmp/f.json .ci/run)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROWS = [
    ("crash_trials", "kill -9 trials run (ingest and every sleep stage)"),
    ("crashes_survived", "kill -9 trials survived (integrity, files, version, pending)"),
    ("bad_inputs_tried", "bad inputs tried (fuzzed files, bad corpus, malformed requests)"),
    ("load_files_written", "files written in the burst (+1 seed note)"),
    ("load_sources_stored", "files stored after the burst"),
    ("load_passages_stored", "passages stored after the burst"),
    ("load_write_s", "burst write time, s"),
    ("load_ingest_s", "time until all were stored, s"),
    ("load_peak_rss_mib", "daemon peak RSS during the burst, MiB"),
    ("disk_faults_survived", "disk faults survived (full disk: sleep, ingest; read-only memory dir)"),
]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("-k", default=None, help="pytest -k expression (default: the whole suite)")
    parser.add_argument("--from", dest="source", type=Path, help="only print the figures of an earlier run")
    args = parser.parse_args()
    if args.source:
        return _write_table(json.loads(args.source.read_text()), 0, None)
    with tempfile.TemporaryDirectory() as tmp:
        figures_path = Path(tmp) / "figures.json"
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/reliability"]
        if args.k:
            cmd += ["-k", args.k]
        started = time.monotonic()
        env = {**os.environ, "SLEEPD_RELIABILITY_FIGURES": str(figures_path)}
        code = subprocess.call(cmd, cwd=HERE.parent, env=env)
        minutes = (time.monotonic() - started) / 60
        figures = json.loads(figures_path.read_text()) if figures_path.exists() else {}
    return _write_table(figures, code, minutes)


def _write_table(figures: dict[str, float], code: int, minutes: float | None) -> int:
    lines = ["| figure | value |", "|---|---|"]
    lines += [f"| {label} | {figures.get(key, '-')} |" for key, label in ROWS]
    if minutes is not None:
        lines.append(f"\nsuite {'passed' if code == 0 else f'FAILED (exit {code})'} in {minutes:.1f} min")
    table = "\n".join(lines)
    print(table)
    out = HERE / "results" / "reliability.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text("# Reliability suite\n\n" + table + "\n")
    print(f"written {out}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
