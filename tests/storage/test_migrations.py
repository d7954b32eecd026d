from __future__ import annotations

import pytest
from sqlalchemy import text

from sleepd.storage import Config, Store
from sleepd.storage.db import make_engine, open_engine
from sleepd.storage.migrations import LATEST, migrate


def _tables(engine) -> set[str]:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return set(conn.execute(text("SELECT name FROM sqlite_master WHERE type='table'")).scalars())


def test_fresh_database_gets_every_migration(config: Config) -> None:
    engine = open_engine(config)
    tables = _tables(engine)
    for table in (
        "sources",
        "passages",
        "passages_fts",
        "memory_versions",
        "chat_sessions",
        "chat_messages",
        "watches",
        "schema_version",
    ):
        assert table in tables
    with engine.connect() as conn:
        versions = list(conn.execute(text("SELECT version FROM schema_version ORDER BY version")).scalars())
    assert versions == list(range(1, LATEST + 1))


def test_upgrade_from_v1_keeps_rows_and_indexes_them(config: Config) -> None:
    engine = open_engine(config, target_version=1)
    assert "passages_fts" not in _tables(engine)
    store = Store(engine)
    with engine.begin() as conn:  # the row as the v1 schema held it (today's Store writes newer columns)
        sid = conn.execute(text("INSERT INTO sources(path) VALUES ('/notes/a.md') RETURNING id")).scalar()
        conn.execute(
            text(
                "INSERT INTO passages(source_id, ordinal, text_hash, text, token_count) "
                "VALUES (:s, 0, 'h', 'The heron nests by the old mill.', 8)"
            ),
            {"s": sid},
        )

    assert migrate(engine) == LATEST
    assert "watches" in _tables(engine)
    hits = store.search("where does the heron nest?")
    assert [h.passage.text for h in hits] == ["The heron nests by the old mill."]
    assert migrate(engine) == LATEST  # idempotent


def test_database_newer_than_code_is_refused(config: Config) -> None:
    engine = open_engine(config)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO schema_version(version, name) VALUES (999, 'future')"))
    with pytest.raises(RuntimeError, match="newer than this sleepd"):
        migrate(make_engine(config.db_path))


def test_pragmas(config: Config) -> None:
    engine = open_engine(config)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == config.storage.busy_timeout_ms
