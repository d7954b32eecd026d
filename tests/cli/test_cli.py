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


def test_cli_import_leaves_torch_and_sqlalchemy_out() -> None:
    code = (
        "import sys, sleepd.cli.main, sleepd.cli; "
        "bad = [m for m in ('torch', 'transformers', 'peft', 'sqlalchemy', 'httpx', 'sleepd.daemon') "
        "if m in sys.modules]; "
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


def _fake_versions(store: Store, data_dir: Path, n: int) -> None:
    """``n`` whole version directories (a stand-in adapter file) recorded as sleeps record them."""
    from sleepd.memory.versions import VersionStore

    versions = VersionStore(data_dir)
    for v in range(1, n + 1):
        path = versions.write(v, lambda tmp: (tmp / "adapter_model.safetensors").write_bytes(b"0" * 1000), {})
        versions.set_current(v)
        store.record_version(v, "tiny", str(path), v - 1 or None, [], {}, [])


def test_status_follows_an_offline_rollback(store: Store, sleepd_home: Path) -> None:
    from sleepd.storage import load_config

    _fake_versions(store, load_config().paths.data_dir, 3)
    assert json.loads(sleepd("status", "--json").stdout)["memory_version"] == 3
    assert "memory version 1" in sleepd("memory", "rollback", "1").stdout
    assert json.loads(sleepd("status", "--json").stdout)["memory_version"] == 1
    missing = sleepd("memory", "rollback", "7", check=False)
    assert missing.returncode == 1 and missing.stderr.count("\n") == 1 and "Traceback" not in missing.stderr


def test_memory_pin_prune_and_json_listing(store: Store, sleepd_home: Path) -> None:
    from sleepd.storage import load_config

    _fake_versions(store, load_config().paths.data_dir, 5)
    assert "pinned" in sleepd("memory", "pin", "2").stdout
    assert (
        "would remove memory version(s) 1, 3" in sleepd("memory", "prune", "--keep", "1", "--dry-run").stdout
    )
    assert len(json.loads(sleepd("memory", "list", "--json").stdout)) == 5
    assert "removed" in sleepd("memory", "prune", "--keep", "1").stdout
    rows = json.loads(sleepd("memory", "list", "--json").stdout)
    assert [(r["version"], r["current"], r["pinned"]) for r in rows] == [
        (2, False, True),
        (4, False, False),
        (5, True, False),
    ]
    bad = sleepd("memory", "pin", "9", check=False)
    assert bad.returncode == 1 and "no memory version 9" in bad.stderr and bad.stderr.count("\n") == 1


def test_watch_list_json(store: Store, tmp_path: Path) -> None:
    store.add_watch(str(tmp_path), "docs", ["*.md"], [])
    assert json.loads(sleepd("watch", "list", "--json").stdout) == [
        {"path": str(tmp_path), "kind": "docs", "include": ["*.md"], "exclude": []}
    ]


def test_forget_finds_a_file_read_through_a_symlinked_folder(store: Store, tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    sid = store.upsert_source(str(real / "a.md"))  # a watched folder keeps its resolved path
    store.add_passages(sid, [NewPassage("alpha", 1)])
    assert "1 passages dropped" in sleepd("memory", "forget", str(tmp_path / "link" / "a.md")).stdout
    assert store.is_forgotten(str(real / "a.md"))
