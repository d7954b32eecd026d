"""A full disk and a read-only memory folder: the sleep fails with a clear message, the old version
keeps serving, no partial version directory is left; an ingest that can't write is retried and
lands once there is room again. The data dir is a small tmpfs (real ENOSPC), so these need root."""

from __future__ import annotations

import errno
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sleepd.memory.versions import VersionStore, memory_of
from sleepd.storage import Config, NewPassage, Store, open_engine
from tests.conftest import write_tiny_config
from tests.daemon.daemon_proc import RunningDaemon, sleepd

from .figures import record


def _mount(*args: str) -> None:
    r = subprocess.run(["mount", *args], capture_output=True, text=True)
    if r.returncode:
        pytest.skip(f"cannot mount ({' '.join(args)}): {r.stderr.strip()}")


@pytest.fixture
def small_home(sleepd_home: Path, tiny_model_dir: Path) -> Iterator[Config]:
    """SLEEPD_HOME on its own 48 MiB tmpfs, configured for the tiny model."""
    if os.geteuid() != 0:
        pytest.skip("needs root to mount a small tmpfs as the data dir")
    sleepd_home.mkdir(parents=True, exist_ok=True)
    _mount("-t", "tmpfs", "-o", "size=48m,mode=0700", "tmpfs", str(sleepd_home))
    try:
        yield write_tiny_config(sleepd_home, tiny_model_dir)
    finally:
        subprocess.run(["umount", "-l", str(sleepd_home)], check=False)


def _fill(folder: Path) -> Path:
    """Fill the file system holding ``folder`` to the last byte."""
    filler = folder / "filler"
    with open(filler, "wb", buffering=0) as fh:  # unbuffered: nothing left to flush at close
        for chunk in (1 << 20, 4096, 1):  # MiBs, then the last pages
            try:
                while True:
                    fh.write(b"\0" * chunk)
            except OSError as e:
                assert e.errno == errno.ENOSPC, e
    return filler


def _sleep(daemon: RunningDaemon) -> dict:
    before = (daemon.client.get("/status")["sleep"].get("last") or {}).get("finished_at")
    assert daemon.client.post("/sleep")["started"]
    end = time.monotonic() + 300
    while time.monotonic() < end:
        last = daemon.client.get("/status")["sleep"].get("last") or {}
        if last.get("finished_at") != before:
            return last
        time.sleep(0.3)
    raise AssertionError("sleep did not finish")


def _no_partial(versions: VersionStore) -> None:
    assert not [p.name for p in versions.versions.iterdir() if p.name.startswith(".tmp-")]


def _add_pending(store: Store, name: str) -> set[int]:
    sid = store.upsert_source(f"/notes/{name}.md")
    store.add_passages(sid, [NewPassage(f"The {name} key hangs by the door; Ines Valcourt has a copy.", 14)])
    return {p.id for p in store.passages(status="pending")}


@pytest.mark.slow
def test_disk_full_fails_the_sleep_cleanly_and_ingest_retries(small_home: Config, tmp_path: Path) -> None:
    config = small_home
    store = Store(open_engine(config))
    versions = memory_of(config)
    notes = tmp_path / "notes"
    notes.mkdir()
    _add_pending(store, "shed")
    daemon = RunningDaemon(config, tmp_path / "daemon.log")  # the log lives off the full disk
    filler = None
    try:
        daemon.wait_ready()
        sleepd("watch", "add", str(notes))
        assert _sleep(daemon)["outcome"] == "version"
        pending = _add_pending(store, "garage")

        filler = _fill(config.paths.data_dir)
        last = _sleep(daemon)
        assert last["outcome"] == "failed" and "No space left on device" in last["message"], last
        assert "\n" not in last["message"]
        assert daemon.client.get("/status")["served_version"] == 1
        assert versions.current() == 1 and versions.ids() == [1]
        _no_partial(versions)
        assert pending == {p.id for p in store.passages(status="pending")}

        # a note written while the disk is full: the ingest fails, is retried, lands after
        (notes / "boat.md").write_text("The dinghy is moored at pontoon C.\n")
        end = time.monotonic() + 60
        while "retry" not in daemon.log.read_text() and time.monotonic() < end:
            time.sleep(0.5)
        assert "ingest of" in daemon.log.read_text() and "retry" in daemon.log.read_text()
        filler.unlink()
        filler = None
        end = time.monotonic() + 90
        while store.get_source(str(notes / "boat.md")) is None and time.monotonic() < end:
            time.sleep(0.5)
        src = store.get_source(str(notes / "boat.md"))
        assert src is not None and src.status == "ok"

        assert daemon.proc.poll() is None
        assert _sleep(daemon)["outcome"] == "version"  # room again: the next sleep completes
        assert versions.current() == 2 and store.passages(status="pending") == []
        record("disk_faults_survived", 2, add=True)  # the full disk: sleep and ingest
    finally:
        if filler is not None:
            filler.unlink()
        assert daemon.stop() == 0, daemon.log.read_text()[-3000:]


@pytest.mark.slow
def test_read_only_memory_folder_fails_the_sleep_cleanly(small_home: Config, tmp_path: Path) -> None:
    config = small_home
    store = Store(open_engine(config))
    versions = memory_of(config)
    _add_pending(store, "shed")
    daemon = RunningDaemon(config, tmp_path / "daemon.log")
    folder = str(versions.versions)
    mounted = False
    try:
        daemon.wait_ready()
        assert _sleep(daemon)["outcome"] == "version"
        pending = _add_pending(store, "garage")
        _mount("--bind", folder, folder)
        mounted = True
        _mount("-o", "remount,bind,ro", folder)
        last = _sleep(daemon)
        assert last["outcome"] == "failed" and "Read-only file system" in last["message"], last
        assert daemon.client.get("/status")["served_version"] == 1 and versions.current() == 1
        assert pending == {p.id for p in store.passages(status="pending")}
        subprocess.run(["umount", folder], check=True)
        mounted = False
        _no_partial(versions)
        assert versions.ids() == [1]
        assert _sleep(daemon)["outcome"] == "version"
        assert versions.current() == 2
        record("disk_faults_survived", 1, add=True)
    finally:
        if mounted:
            subprocess.run(["umount", "-l", folder], check=False)
        assert daemon.stop() == 0, daemon.log.read_text()[-3000:]
