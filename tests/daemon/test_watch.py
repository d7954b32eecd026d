"""The real watchdog observer on real temp folders, with the real SQLite store."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sleepd.daemon.watch import FolderWatcher
from sleepd.ingest.ingestor import Ingestor
from sleepd.storage import Store


def wait_for(cond: Callable[[], bool], timeout: float = 20.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def status(store: Store, path: Path) -> str | None:
    src = store.get_source(str(path))
    return src.status if src else None


@pytest.fixture
def notes(tmp_path: Path) -> Path:
    folder = tmp_path / "notes"
    folder.mkdir()
    return folder


@pytest.fixture
def watcher(tok_store: Store, ingestor: Ingestor, notes: Path) -> Iterator[FolderWatcher]:
    tok_store.add_watch(str(notes))
    w = FolderWatcher(tok_store, ingestor, debounce_s=0.3)
    w.start()
    assert w.wait_idle()
    yield w
    w.stop()


def test_create_edit_delete(watcher: FolderWatcher, tok_store: Store, notes: Path) -> None:
    f = notes / "boat.md"
    f.write_text("The dinghy is called Pip.")
    wait_for(lambda: bool(tok_store.search("dinghy Pip")))
    f.write_text("The dinghy is called Moss.")
    wait_for(lambda: bool(tok_store.search("Moss")))
    statuses = {p.text: p.status for p in tok_store.passages()}
    assert statuses == {"The dinghy is called Pip.": "superseded", "The dinghy is called Moss.": "pending"}
    f.unlink()
    wait_for(lambda: status(tok_store, f) == "deleted")
    assert {p.status for p in tok_store.passages()} == {"superseded"}


def test_rename_and_editor_save(watcher: FolderWatcher, tok_store: Store, notes: Path) -> None:
    a = notes / "a.md"
    a.write_text("Anchor chain is 30 m.")
    wait_for(lambda: status(tok_store, a) == "ok")
    b = notes / "b.md"
    a.rename(b)
    wait_for(lambda: status(tok_store, a) == "deleted" and status(tok_store, b) == "ok")
    # editors save by writing a temp file and renaming it over the original
    tmp = notes / "b.md.saving"
    tmp.write_text("Anchor chain is 45 m.")
    os.replace(tmp, b)
    wait_for(lambda: bool(tok_store.search("45")))
    assert status(tok_store, tmp) in (None, "deleted")
    live = [p.text for p in tok_store.passages() if p.status == "pending"]
    assert live == ["Anchor chain is 45 m."]


def test_new_subfolder_and_moving_it_out(
    watcher: FolderWatcher, tok_store: Store, notes: Path, tmp_path: Path
) -> None:
    sub = notes / "trips" / "2026"
    sub.mkdir(parents=True)
    (sub / "oslo.txt").write_text("Oslo ferry leaves at 7.")
    (sub / "bergen.txt").write_text("Bergen train is late.")
    wait_for(
        lambda: status(tok_store, sub / "oslo.txt") == "ok" and status(tok_store, sub / "bergen.txt") == "ok"
    )
    (notes / "trips").rename(tmp_path / "elsewhere")
    wait_for(lambda: status(tok_store, sub / "oslo.txt") == "deleted")
    assert status(tok_store, sub / "bergen.txt") == "deleted"


def test_burst_of_500_files_none_lost(watcher: FolderWatcher, tok_store: Store, notes: Path) -> None:
    for i in range(500):
        (notes / f"n{i:03d}.txt").write_text(f"Burst note {i} says the code is {i * 7}.")
    wait_for(lambda: tok_store.counts()["sources"]["ok"] == 500, timeout=120)
    assert tok_store.counts()["passages"]["pending"] == 500
    assert watcher.wait_idle()
    assert not tok_store.list_sources(status="skipped")


def test_restart_reconciles_changes_made_while_down(
    tok_store: Store, ingestor: Ingestor, notes: Path
) -> None:
    (notes / "keep.txt").write_text("Keep this.")
    (notes / "edit.txt").write_text("Version one.")
    (notes / "gone.txt").write_text("Delete me.")
    tok_store.add_watch(str(notes))
    first = FolderWatcher(tok_store, ingestor, debounce_s=0.3)
    first.start()
    assert first.wait_idle()
    first.stop()
    assert tok_store.counts()["sources"]["ok"] == 3

    (notes / "edit.txt").write_text("Version two, longer.")
    (notes / "gone.txt").unlink()
    (notes / "new.txt").write_text("Born while down.")
    second = FolderWatcher(tok_store, ingestor, debounce_s=0.3)
    second.start()
    try:
        assert second.wait_idle()
        assert status(tok_store, notes / "gone.txt") == "deleted"
        assert status(tok_store, notes / "new.txt") == "ok"
        assert tok_store.search("Version two")
        texts = {p.text: p.status for p in tok_store.passages()}
        assert texts["Version one."] == "superseded"
        assert texts["Keep this."] == "pending"
    finally:
        second.stop()


def test_bad_files_never_stop_the_watcher(watcher: FolderWatcher, tok_store: Store, notes: Path) -> None:
    (notes / "blob.bin").write_bytes(bytes(range(256)) * 10)
    os.symlink("loop2", notes / "loop1")
    os.symlink("loop1", notes / "loop2")
    (notes / "fine.md").write_text("Still working.")
    wait_for(lambda: status(tok_store, notes / "fine.md") == "ok")
    wait_for(lambda: status(tok_store, notes / "blob.bin") == "skipped")
    assert tok_store.get_source(str(notes / "blob.bin")).reason == "binary file"  # type: ignore[union-attr]
