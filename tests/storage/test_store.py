from __future__ import annotations

import os
import stat

from sleepd.storage import Config, NewPassage, Store
from sleepd.storage.config import RecallConfig
from sleepd.storage.store import fts_query


def _mode(path) -> int:  # type: ignore[no-untyped-def]
    return stat.S_IMODE(os.stat(path).st_mode)


def test_db_file_is_private(config: Config, store: Store) -> None:
    store.upsert_source("/x.md")  # forces a write, so the WAL and shm files exist
    assert _mode(config.db_path) == 0o600
    for suffix in ("-wal", "-shm"):
        extra = config.db_path.with_name(config.db_path.name + suffix)
        if extra.exists():
            assert _mode(extra) == 0o600
    assert _mode(config.paths.data_dir) == 0o700


def test_search_finds_passage_then_not_after_delete(store: Store) -> None:
    sid = store.upsert_source("/notes/servers.txt")
    keep, gone = store.add_passages(
        sid,
        [
            NewPassage("Server atlas-07 runs Alpine and listens on port 9092.", 14),
            NewPassage("The quokka database is owned by Mirela Vantongeren.", 12),
        ],
    )
    hits = store.search("Who owns the quokka database?", k=5)
    assert hits and hits[0].passage.id == gone
    assert hits[0].score > 0
    assert hits[0].passage.source_path == "/notes/servers.txt"

    store.delete_passage(gone)
    assert all(h.passage.id != gone for h in store.search("quokka database owner"))
    assert [h.passage.id for h in store.search("atlas-07 port")] == [keep]


def test_search_ranks_by_bm25_and_respects_status(store: Store) -> None:
    sid = store.upsert_source("/n.md")
    store.add_passages(
        sid,
        [
            NewPassage("Copper Wren is moored in Split. Copper Wren sleeps five.", 12),
            NewPassage("A wren sang.", 3),
        ],
    )
    hits = store.search("copper wren")
    assert hits[0].passage.text.startswith("Copper Wren")
    assert store.search("copper wren", statuses=("superseded",)) == []


def test_notes_for_reads_nothing_matched_only_through_common_words(store: Store) -> None:
    sid = store.upsert_source("/boats.md")
    store.add_passages(sid, [NewPassage("The skipper of the Amber Curlew is Rosalind Achterberg.", 12)])
    recall = RecallConfig()
    # one or two passages: every word is in half of them, so the search cannot tell; read as before
    assert len(store.notes_for("What is the capital of France?", recall)) == 1
    store.add_passages(
        sid,
        [
            NewPassage("The skipper of the Salt Finch is Matthias Oduya.", 11),
            NewPassage("The Slate Plover is moored in Tromso.", 9),
        ],
    )
    assert store.search("What is the capital of France?")  # "the", "is" still match
    assert store.notes_for("What is the capital of France?", recall) == []
    hits = store.notes_for("Who is the skipper of the Salt Finch?", recall)
    assert hits and hits[0].passage.text.startswith("The skipper of the Salt Finch")


def test_search_survives_fts_syntax_in_questions(store: Store) -> None:
    sid = store.upsert_source("/n.md")
    store.add_passages(sid, [NewPassage("Meeting at 14:00 in the blue room.", 9)])
    for q in ['"unbalanced', "NOT AND OR", "blue-room?*", "(", "14:00"]:
        store.search(q)  # no FTS5 syntax error
    assert store.search("") == []
    assert fts_query('What is "xy" - a 7?') == '"what" OR "is" OR "xy" OR "7"'


def test_counts_and_sources(store: Store) -> None:
    sid = store.upsert_source("/a.md")
    store.upsert_source("/b.bin", status="skipped", reason="binary file")
    store.add_passages(sid, [NewPassage("one", 1), NewPassage("two", 1)])
    counts = store.counts()
    assert counts["sources"] == {"ok": 1, "skipped": 1, "deleted": 0}
    assert counts["passages"]["pending"] == 2
    skipped = store.list_sources(status="skipped")
    assert [(s.path, s.reason) for s in skipped] == [("/b.bin", "binary file")]
    assert store.get_source("/a.md").passages == 2  # type: ignore[union-attr]
