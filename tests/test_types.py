"""mypy is clean on every layer below the CLI (the config in pyproject.toml); ``Any`` stands only
where torch, transformers and peft objects pass.

The editable install maps sleepd.storage <- storage/ with an import hook mypy cannot follow, so the
check runs on a temporary tree of links laid out as the installed namespace.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TYPED = ("storage", "ingest", "models", "memory", "evaluation", "daemon", "tools")


def test_mypy_is_clean_below_the_cli(tmp_path: Path) -> None:
    (tmp_path / "sleepd").mkdir()
    for package in TYPED:
        (tmp_path / "sleepd" / package).symlink_to(REPO / package, target_is_directory=True)
    args = [sys.executable, "-m", "mypy", "--config-file", str(REPO / "pyproject.toml")]
    args += [f"-p=sleepd.{p}" for p in TYPED]
    proc = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "Success: no issues found" in proc.stdout
