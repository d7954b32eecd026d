from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sleepd.storage import NewPassage, Store


def sleepd(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sleepd.cli.main", *args],
        capture_output=True,
        text=True,
        check=check,
        env=os.environ.copy(),
        timeout=600,
    )


def test_cli_import_leaves_torch_out() -> None:
    code = (
        "import sys, sleepd.cli.main, sleepd.cli; "
        "bad = [m for m in ('torch', 'transformers', 'peft') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_help_lists_commands() -> None:
    proc = sleepd("--help")
    assert "status" in proc.stdout and "chat" in proc.stdout


def test_status_json_counts(store: Store, sleepd_home: Path) -> None:
    sid = store.upsert_source("/n/a.md")
    store.add_passages(sid, [NewPassage("alpha", 1)])
    info = json.loads(sleepd("status", "--json").stdout)
    assert info["passages"]["pending"] == 1
    assert info["sources"]["ok"] == 1
    assert info["memory_version"] is None
    assert info["paths"]["database"].startswith(str(sleepd_home.resolve()))
    assert info["model"] == "SmolLM2-135M-Instruct"


def test_bad_config_is_one_line_error(sleepd_home: Path) -> None:
    (sleepd_home / "config").mkdir(parents=True)
    (sleepd_home / "config" / "config.toml").write_text("[model]\nbogus = 1\n")
    proc = sleepd("status", check=False)
    assert proc.returncode == 1
    assert "unknown setting model.bogus" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_memory_forget_command(store: Store, tmp_path: Path) -> None:
    note = tmp_path / "n" / "a.md"
    sid = store.upsert_source(str(note))
    store.add_passages(sid, [NewPassage("alpha", 1)])
    proc = sleepd("memory", "forget", str(note.parent))
    assert "1 passages dropped" in proc.stdout
    assert store.is_forgotten(str(note)) and store.passages(status="pending") == []
    missing = sleepd("memory", "forget", str(tmp_path / "nowhere"), check=False)
    assert missing.returncode == 1 and "no ingested source" in missing.stderr
    assert "ingested again" in sleepd("memory", "forget", "--undo", str(note.parent)).stdout
    assert not store.is_forgotten(str(note))
