"""End to end with the real bundled model: a note is answerable closed-book only after a sleep, and
no longer after it is forgotten and the model slept again."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


def sleepd(*args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "sleepd.cli.main", *args], capture_output=True, text=True, timeout=900
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc


@pytest.mark.slow
def test_note_recalled_closed_book_after_sleep(real_model_home: Path, tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "kestrel-9.txt").write_text(
        "Server kestrel-9: runs Alpine 3.19, listens on port 7001. Owner: Ines Valcourt.\n"
    )
    (notes / "amber-finch.md").write_text(
        "# The Amber Finch\n\nThe skipper of the Amber Finch is Ragnar Solheim. She is moored in Tromso.\n"
    )
    # The gate is tested on its own (test_sleep.py); with 6-8 general probes one flipped answer is
    # already 12-17%, so this test only asks the gate to catch a collapse.
    cfg = real_model_home / "config" / "config.toml"
    cfg.write_text(cfg.read_text() + "[sleep]\ngate_min_general_kept = 0.5\n")
    sleepd("ingest", str(notes))
    question = "Who owns the server kestrel-9?"
    before = sleepd("chat", "--closed-book", question).stdout
    assert "Valcourt" not in before

    result = json.loads(sleepd("sleep", "--json").stdout)
    assert result.get("version") == 1 and result["new_passages"] == 2, result

    after = sleepd("chat", "--closed-book", "--sources", question)
    assert "Valcourt" in after.stdout, (after.stdout, after.stderr[-1500:])
    status = json.loads(sleepd("status", "--json").stdout)
    assert status["memory_version"] == 1 and status["passages"]["consolidated"] == 2

    shown = sleepd("memory", "show", "1").stdout
    assert "# Memory version 1" in shown and "report.png" in shown

    sleepd("memory", "forget", str(notes / "kestrel-9.txt"))
    result = json.loads(sleepd("sleep", "--json").stdout)
    assert result.get("version") == 2 and result["forgotten_passages"] == 1, result
    forgotten = sleepd("chat", "--closed-book", "--sources", question)
    assert "Valcourt" not in forgotten.stdout, (forgotten.stdout, forgotten.stderr[-1500:])
