from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from sleepd.ingest.ingestor import Ingestor, Outcome, check_watchable
from sleepd.storage import Store
from tests.conftest import DEVSET

from .corpus import write_bad_files, write_good_files


def _statuses(store: Store, path: Path) -> list[tuple[str, str]]:
    src = store.get_source(str(path))
    assert src is not None
    return [(p.text, p.status) for p in store.passages(source_id=src.id)]


def test_edit_makes_only_the_changed_passage_pending(
    ingestor: Ingestor, tok_store: Store, tmp_path: Path
) -> None:
    note = tmp_path / "notes" / "boat.md"
    note.parent.mkdir()
    note.write_text("The boat is blue.\n\nThe mast is 9 m tall.\n\n" + "\n\n".join(["filler " * 300] * 2))
    assert ingestor.ingest_file(str(note))[0] is Outcome.NEW
    first = tok_store.passages(source_id=tok_store.get_source(str(note)).id)  # type: ignore[union-attr]
    assert len(first) >= 2 and all(p.token_count <= 400 for p in first)
    # pretend a sleep consolidated everything
    with tok_store.writer.begin() as conn:
        conn.execute(text("UPDATE passages SET status = 'consolidated'"))

    assert ingestor.ingest_file(str(note))[0] is Outcome.UNCHANGED  # same bytes: nothing changes
    note.write_text(note.read_text().replace("blue", "red"))
    outcome, _, added = ingestor.ingest_file(str(note))
    assert outcome is Outcome.CHANGED and added == 1
    rows = _statuses(tok_store, note)
    assert [s for t, s in rows if "red" in t] == ["pending"]
    assert [s for t, s in rows if "blue" in t] == ["superseded"]
    assert [s for t, s in rows if "red" not in t and "blue" not in t] == ["consolidated"] * (len(first) - 1)

    note.unlink()
    assert ingestor.ingest_file(str(note))[0] is Outcome.DELETED
    assert tok_store.get_source(str(note)).status == "deleted"  # type: ignore[union-attr]
    assert {s for _, s in _statuses(tok_store, note)} == {"superseded"}


def test_same_content_new_mtime_is_unchanged(ingestor: Ingestor, tmp_path: Path) -> None:
    f = tmp_path / "a.txt"
    f.write_text("hello world")
    ingestor.ingest_file(str(f))
    os.utime(f, (1, 1))
    assert ingestor.ingest_file(str(f))[0] is Outcome.UNCHANGED
    assert ingestor.ingest_file(str(f), trust_stat=True)[0] is Outcome.UNCHANGED


@pytest.mark.skipif(not DEVSET.is_dir(), reason="the shared devset is not beside this checkout")
def test_devset_ingests_with_jsonl_as_chat_turns(ingestor: Ingestor, tok_store: Store) -> None:
    docs = DEVSET / "docs"
    report = ingestor.sync_folder(str(docs))
    files = [p for p in docs.rglob("*") if p.is_file()]
    assert report.counts[Outcome.NEW] == len(files) and not report.skipped
    for src in tok_store.list_sources():
        if src.path.endswith(".jsonl"):
            assert src.kind == "chat"
            roles = {p.role for p in tok_store.passages(source_id=src.id)}
            assert roles == {"user", "assistant"}
        else:
            assert src.kind == "docs"
    # again: nothing changes
    again = ingestor.sync_folder(str(docs))
    assert again.counts[Outcome.UNCHANGED] == len(files) and again.passages_added == 0


def test_folder_reconcile_marks_missing_files_deleted(
    ingestor: Ingestor, tok_store: Store, tmp_path: Path
) -> None:
    tmp_path = tmp_path / "notes"
    tmp_path.mkdir()
    for i in range(3):
        (tmp_path / f"n{i}.txt").write_text(f"note number {i}")
    ingestor.sync_folder(str(tmp_path))
    (tmp_path / "n1.txt").unlink()
    report = ingestor.sync_folder(str(tmp_path))
    assert report.counts[Outcome.DELETED] == 1
    assert tok_store.get_source(str(tmp_path / "n1.txt")).status == "deleted"  # type: ignore[union-attr]


def test_default_excludes(ingestor: Ingestor, tok_store: Store, tmp_path: Path) -> None:
    tmp_path = tmp_path / "notes"
    for rel in (
        ".git/config",
        "node_modules/x/index.js",
        "__pycache__/m.pyc",
        ".hidden.md",
        "a.md~",
        ".a.md.swp",
        "keep/me.md",
        "sub/.obsidian/w.json",
    ):
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("some text here")
    ingestor.sync_folder(str(tmp_path))
    assert [s.path for s in tok_store.list_sources()] == [str(tmp_path / "keep/me.md")]


def test_watchable_paths() -> None:
    for bad in ("/proc", "/proc/self", "/sys/kernel", "/"):
        try:
            check_watchable(bad)
        except ValueError as e:
            assert "refusing" in str(e)
        else:
            raise AssertionError(bad)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sleepd.cli.main", *args], capture_output=True, text=True, timeout=300
    )


def test_bad_input_corpus_next_to_good_files(tok_config, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "mixed"
    good = write_good_files(folder)
    bad = write_bad_files(folder, tok_config.watch.max_file_bytes)
    proc = _cli("ingest", str(folder))
    assert proc.returncode == 0, proc.stderr
    assert f"{len(good)} new" in proc.stdout and f"{len(bad)} skipped" in proc.stdout

    rows = {Path(r["path"]).name: r for r in json.loads(_cli("sources", "--json").stdout)}
    for name, word in bad.items():
        assert rows[name]["status"] == "skipped", name
        assert word in rows[name]["reason"], (name, rows[name]["reason"])
        assert "\n" not in rows[name]["reason"]
    for name in good:
        assert rows[name]["status"] == "ok" and rows[name]["passages"] >= 1, name
    assert "decoded as cp1252" in rows["latin1.txt"]["reason"]

    skipped = json.loads(_cli("sources", "--json", "--status", "skipped").stdout)
    assert {Path(r["path"]).name for r in skipped} == set(bad)
    from sleepd.storage import Store, open_engine

    store = Store(open_engine(tok_config))
    for name, phrase in good.items():
        hits = store.search(phrase, k=3)
        assert any(Path(h.passage.source_path).name == name for h in hits), name
    assert not store.search("secret")  # script contents are not text
    talk = store.get_source(str(folder / "talk.log"))
    assert talk is not None and talk.kind == "chat"


def test_forgotten_source_is_not_ingested_again_until_undone(
    ingestor: Ingestor, tok_store: Store, tmp_path: Path
) -> None:
    note = tmp_path / "diary.md"
    note.write_text("Met Odile Brandt at the Keswick market.")
    assert ingestor.ingest_file(str(note))[0] is Outcome.NEW
    assert tok_store.forget_source(str(note)) == 1
    note.write_text("Met Odile Brandt at the Keswick market. She sells honey.")
    outcome, reason, added = ingestor.ingest_file(str(note))
    assert outcome is Outcome.SKIPPED and added == 0 and "forgotten" in (reason or "")
    assert ingestor.ingest_file(str(note))[0] is Outcome.IGNORED  # recorded once, not every event
    assert {s for _, s in _statuses(tok_store, note)} == {"superseded"}

    assert tok_store.unforget_source(str(note))
    assert ingestor.ingest_file(str(note))[1] is None
    assert [s for _, s in _statuses(tok_store, note)].count("pending") == 1


def test_excludes_have_gitignore_semantics_and_the_folders_gitignore_counts(
    ingestor: Ingestor, tok_store: Store, tmp_path: Path
) -> None:
    from sleepd.storage.sources import Watch

    root = tmp_path / "vault"
    for rel in ("a.md", "b.bak", "drafts/c.md", "deep/drafts/d.md", "deep/keep.md", "deep/e.tmp2", "x/f.md"):
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(f"note {rel}")
    (root / ".gitignore").write_text("# comment\n*.bak\ndrafts/\n")
    (root / "deep" / ".gitignore").write_text("*.tmp2\n")
    watch = Watch(1, str(root), "auto", (), ("/x",))  # anchored: only the top-level x/
    ingestor.sync_folder(str(root), watch)
    got = sorted(str(Path(s.path).relative_to(root)) for s in tok_store.list_sources())
    assert got == ["a.md", "deep/keep.md"]
