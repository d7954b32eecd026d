"""`sleepd --help` start-up against `python -c "import typer, rich"` (the CLI's floor), same run.

Both run N times as fresh processes; the figures are medians of wall time and of the CPU time the
process used (user + system, from wait4). Goal: `sleepd --help` <= 1.5x the floor.

Usage: .venv/bin/python bench/cli_startup.py [-n 15]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time


def run_once(args: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one process."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"cli_startup: {' '.join(args)} failed")
    return wall, usage.ru_utime + usage.ru_stime


def measure(args: list[str], n: int) -> tuple[float, float]:
    run_once(args)  # warm the page cache and .pyc files
    runs = [run_once(args) for _ in range(n)]
    return statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=15)
    n = parser.parse_args().n
    floor = measure([sys.executable, "-c", "import typer, rich"], n)
    helped = measure([sys.executable, "-m", "sleepd.cli.main", "--help"], n)
    print(f"{'':<34} {'wall':>8} {'cpu':>8}")
    for name, (wall, cpu) in (('python -c "import typer, rich"', floor), ("sleepd --help", helped)):
        print(f"{name:<34} {wall * 1000:6.0f}ms {cpu * 1000:6.0f}ms")
    print(f"ratio (goal <= 1.5x): wall {helped[0] / floor[0]:.2f}x, cpu {helped[1] / floor[1]:.2f}x")


if __name__ == "__main__":
    main()
