"""kill -9 at seeded random moments: during the ingest of a large folder and during each sleep
stage. After each restart the database passes its integrity check, every file on disk is recorded
with its current content (after a reconcile), the served version is a complete one, and the
passages of an unfinished sleep are still pending."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sleepd.memory.versions import memory_of
from sleepd.storage import Config, NewPassage, Store, open_engine
from tests.daemon.daemon_proc import RunningDaemon, sleepd

from .figures import record

SEED = 20261124


def _integrity_ok(config: Config) -> None:
    with sqlite3.connect(config.db_path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def _write_folder(root: Path, n: int, rng: random.Random) -> None:
    for i in range(n):
        d = root / f"d{i % 7}"
        d.mkdir(parents=True, exist_ok=True)
        words = " ".join(rng.choice(["alpha", "Bravo", "port 80", "Ines", "kestrel-9"]) for _ in range(30))
        (d / f"note-{i}.md").write_text(f"# Note {i}\n\n{words}\n")


@pytest.mark.slow
def test_kill_9_during_ingest_then_reconcile(tiny_config: Config, tmp_path: Path) -> None:
    rng = random.Random(SEED)
    folder = tmp_path / "notes"
    _write_folder(folder, 400, rng)
    for trial in range(8):
        proc = subprocess.Popen(
            [sys.executable, "-m", "sleepd.cli.main", "ingest", str(folder)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(1.0, 4.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        _integrity_ok(tiny_config)
        record("crash_trials", 1, add=True)
        # change some files between trials, as a person would while it was down
        for i in rng.sample(range(400), 5):
            path = folder / f"d{i % 7}" / f"note-{i}.md"
            path.write_text(path.read_text() + f"\nedit {trial}\n")
    sleepd("ingest", str(folder))  # the reconcile after the last restart
    _integrity_ok(tiny_config)
    store = Store(open_engine(tiny_config))
    for path in folder.rglob("*.md"):
        src = store.get_source(str(path))
        assert src is not None and src.status == "ok", path
        assert src.content_hash == hashlib.sha256(path.read_bytes()).hexdigest(), path
        live = [p.text for p in store.passages(source_id=src.id) if p.status != "superseded"]
        assert live, path
        assert path.read_text().strip().splitlines()[-1] in "\n".join(live), path  # the newest text
    record("crashes_survived", 8, add=True)


def _freeze_in_stage(daemon: RunningDaemon, stage: str, timeout: float = 300) -> int | None:
    """Stop (SIGSTOP) the sleep child once the daemon reports it inside ``stage``; return its pid if,
    after the daemon has read everything the frozen child reported, it is still inside that stage."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        sleep = daemon.client.get("/status")["sleep"]
        p = sleep.get("progress") or {}
        if p.get("stage") == stage and p.get("done", 0) < p.get("total", 1) and sleep.get("pid"):
            os.kill(sleep["pid"], signal.SIGSTOP)
            time.sleep(1.5)  # the daemon drains the progress queue every 0.5 s
            p = daemon.client.get("/status")["sleep"].get("progress") or {}
            if p.get("stage") == stage and p.get("done", 0) < p.get("total", 1):
                return int(sleep["pid"])
            os.kill(sleep["pid"], signal.SIGCONT)  # it had moved on before it froze
            return None
        if not sleep["running"] and sleep.get("last"):
            return None  # over before we saw the stage
        time.sleep(0.005)
    return None


@pytest.mark.slow
@pytest.mark.parametrize("stage", ["data", "layers", "train", "write"])
def test_kill_9_during_each_sleep_stage(
    stage: str, tiny_config: Config, sleepd_home: Path, tmp_path: Path
) -> None:
    rng = random.Random(f"{SEED}-{stage}")
    cfg = sleepd_home / "config" / "config.toml"
    # layer_share < 1 makes the layer-scoring stage run; many epochs make training last
    epochs = 2000 if stage == "train" else 3
    cfg.write_text(cfg.read_text().replace("epochs = 2", f"epochs = {epochs}\nlayer_share = 0.5"))
    store = Store(open_engine(tiny_config))
    versions = memory_of(tiny_config)
    for trial in range(2):  # two seeded moments per stage (three cost CI ~3 min more)
        sid = store.upsert_source(f"/notes/{stage}-{trial}.md")
        store.add_passages(sid, [NewPassage(f"Server kestrel-{trial} runs Alpine; owner Ines Valcourt.", 12)])
        before_version = versions.current()
        pending = {p.id for p in store.passages(status="pending")}
        daemon = RunningDaemon(tiny_config, tmp_path / f"daemon-{trial}.log")
        daemon.wait_ready()
        assert daemon.client.post("/sleep")["started"]
        time.sleep(rng.uniform(0.0, 0.2))  # a different point of the sleep's start each trial
        frozen = _freeze_in_stage(daemon, stage)
        assert frozen is not None, f"trial {trial}: never caught the sleep in its {stage} stage"
        daemon.stop(signal.SIGKILL)  # the frozen child dies with it (PDEATHSIG), still in the stage
        record("crash_trials", 1, add=True)
        time.sleep(0.5)
        _integrity_ok(tiny_config)
        served = versions.current()
        if stage == "write":  # killed around the atomic rename: the old version or the whole new one
            assert served in (before_version, (before_version or 0) + 1)
        else:  # killed before anything was written: the old version, untouched
            assert served == before_version
        if served is not None:
            assert versions.is_complete(served)
        if served == before_version:  # the sleep did not finish: nothing it learned is marked
            assert pending <= {p.id for p in store.passages(status="pending")}
        restarted = RunningDaemon(tiny_config, tmp_path / f"daemon-{trial}-restart.log")
        try:
            assert restarted.wait_ready().get("/status")["served_version"] == served
        finally:
            assert restarted.stop() == 0
        record("crashes_survived", 1, add=True)
    cfg.write_text(cfg.read_text().replace(f"epochs = {epochs}", "epochs = 1"))
    out = sleepd("sleep", "--json").stdout  # the next sleep completes and clears any leftovers
    assert '"outcome": "version"' in out or '"outcome": "nothing"' in out, out
    assert not [p for p in versions.versions.iterdir() if p.name.startswith(".tmp-")]
    assert store.passages(status="pending") == []
