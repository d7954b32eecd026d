"""Figures the reliability tests report (trials, inputs, files, RSS) for bench/reliability.py.

A test calls ``record(name, value)``; when ``SLEEPD_RELIABILITY_FIGURES`` names a file (the bench
sets it), the figure is added to that JSON object; otherwise nothing is written.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

ENV = "SLEEPD_RELIABILITY_FIGURES"


def record(name: str, value: float | int, add: bool = False) -> None:
    target = os.environ.get(ENV)
    if not target:
        return
    path = Path(target)
    figures = json.loads(path.read_text()) if path.exists() else {}
    figures[name] = figures.get(name, 0) + value if add else value
    path.write_text(json.dumps(figures, indent=1))


def peak_rss_mib(pid: int) -> float:
    """Peak resident memory of a live process (VmHWM), MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0
