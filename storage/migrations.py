"""Ordered schema migrations.

Each migration is a function ``mNNN_name(conn)`` run once, in order, inside one transaction with
the version bump, so a crash mid-migration leaves the previous schema intact. Migrations are history:
never edit one that has shipped; add the next.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from sqlalchemy import Connection, Engine, text

Migration = Callable[[Connection], None]


def _run(conn: Connection, script: str) -> None:
    """Execute a script statement by statement (triggers hold ';' inside BEGIN ... END)."""
    statement = ""
    for line in script.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            conn.exec_driver_sql(statement.strip().rstrip(";"))
            statement = ""
    if statement.strip():
        conn.exec_driver_sql(statement)


def m001_initial(conn: Connection) -> None:
    _run(
        conn,
        """
        CREATE TABLE sources (
            id INTEGER PRIMARY KEY,
            path TEXT NOT NULL UNIQUE,
            kind TEXT NOT NULL DEFAULT 'docs',
            content_hash TEXT,
            mtime REAL,
            size INTEGER,
            status TEXT NOT NULL DEFAULT 'ok' CHECK (status IN ('ok', 'skipped', 'deleted')),
            reason TEXT,
            updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        );
        CREATE TABLE memory_versions (
            id INTEGER PRIMARY KEY,
            created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
            base_model TEXT NOT NULL,
            path TEXT NOT NULL,
            parent_id INTEGER REFERENCES memory_versions(id),
            status TEXT NOT NULL DEFAULT 'ready'
                CHECK (status IN ('ready', 'rejected', 'rolled_back')),
            meta TEXT NOT NULL DEFAULT '{}'
        );
        CREATE TABLE passages (
            id INTEGER PRIMARY KEY,
            source_id INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
            ordinal INTEGER NOT NULL,
            text_hash TEXT NOT NULL,
            text TEXT NOT NULL,
            token_count INTEGER NOT NULL,
            role TEXT,
            status TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'consolidated', 'superseded')),
            consolidated_in INTEGER REFERENCES memory_versions(id),
            created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
            updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        );
        CREATE INDEX passages_source ON passages(source_id, status);
        CREATE INDEX passages_status ON passages(status);
        CREATE INDEX passages_hash ON passages(source_id, text_hash);
        """,
    )


def m002_fts(conn: Connection) -> None:
    # External-content FTS5 index over passages, kept in sync by triggers; 'rebuild' indexes the
    # rows that existed before this migration.
    _run(
        conn,
        """
        CREATE VIRTUAL TABLE passages_fts USING fts5(
            text, content='passages', content_rowid='id', tokenize='porter unicode61'
        );
        CREATE TRIGGER passages_ai AFTER INSERT ON passages BEGIN
            INSERT INTO passages_fts(rowid, text) VALUES (new.id, new.text);
        END;
        CREATE TRIGGER passages_ad AFTER DELETE ON passages BEGIN
            INSERT INTO passages_fts(passages_fts, rowid, text) VALUES ('delete', old.id, old.text);
        END;
        CREATE TRIGGER passages_au AFTER UPDATE OF text ON passages BEGIN
            INSERT INTO passages_fts(passages_fts, rowid, text) VALUES ('delete', old.id, old.text);
            INSERT INTO passages_fts(rowid, text) VALUES (new.id, new.text);
        END;
        INSERT INTO passages_fts(passages_fts) VALUES ('rebuild');
        """,
    )


def m003_chat(conn: Connection) -> None:
    _run(
        conn,
        """
        CREATE TABLE chat_sessions (
            id INTEGER PRIMARY KEY,
            title TEXT,
            system_prompt TEXT,
            created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
            updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        );
        CREATE TABLE chat_messages (
            id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES chat_sessions(id) ON DELETE CASCADE,
            role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
            content TEXT NOT NULL,
            created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        );
        CREATE INDEX chat_messages_session ON chat_messages(session_id, id);
        """,
    )


def m004_watches(conn: Connection) -> None:
    _run(
        conn,
        """
        CREATE TABLE watches (
            id INTEGER PRIMARY KEY,
            path TEXT NOT NULL UNIQUE,
            kind TEXT NOT NULL DEFAULT 'auto' CHECK (kind IN ('auto', 'docs', 'chat')),
            includes TEXT NOT NULL DEFAULT '[]',
            excludes TEXT NOT NULL DEFAULT '[]',
            created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        );
        """,
    )


def m005_forgetting(conn: Connection) -> None:
    # forgotten_in: the memory version whose sleep unlearned a superseded passage that had been
    # consolidated (superseded + consolidated_in set + forgotten_in NULL = still to unlearn).
    # forgotten_sources: paths the person asked to forget; ingestion skips them from then on.
    _run(
        conn,
        """
        ALTER TABLE passages ADD COLUMN forgotten_in INTEGER REFERENCES memory_versions(id);
        CREATE TABLE forgotten_sources (
            path TEXT PRIMARY KEY,
            created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        );
        """,
    )


def m006_held_reason(conn: Connection) -> None:
    """Why a sleep left a passage pending instead of consolidating it (nothing to train on, ...)."""
    _run(conn, "ALTER TABLE passages ADD COLUMN held_reason TEXT")


def m007_chat_turns(conn: Connection) -> None:
    """Who spoke and when, for passages made of chat turns; and per chat source, how many turns were
    read and a digest of them, so a re-export with new messages adds only the new turns."""
    _run(
        conn,
        """
        ALTER TABLE passages ADD COLUMN speakers TEXT;
        ALTER TABLE passages ADD COLUMN started_at TEXT;
        ALTER TABLE passages ADD COLUMN ended_at TEXT;
        ALTER TABLE sources ADD COLUMN format TEXT;
        ALTER TABLE sources ADD COLUMN turns INTEGER;
        ALTER TABLE sources ADD COLUMN turns_digest TEXT;
        """,
    )


def m008_deferred(conn: Connection) -> None:
    """Passages a sleep left for a later one (its budget was spent), why, and how often: deferred
    ones go first next time."""
    _run(
        conn,
        """
        ALTER TABLE passages ADD COLUMN deferred_reason TEXT;
        ALTER TABLE passages ADD COLUMN deferred_count INTEGER NOT NULL DEFAULT 0;
        """,
    )


MIGRATIONS: tuple[Migration, ...] = (
    m001_initial,
    m002_fts,
    m003_chat,
    m004_watches,
    m005_forgetting,
    m006_held_reason,
    m007_chat_turns,
    m008_deferred,
)
LATEST = len(MIGRATIONS)


def current_version(conn: Connection) -> int:
    conn.execute(
        text(
            "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL, "
            "name TEXT NOT NULL, applied_at TEXT NOT NULL DEFAULT "
            "(strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))"
        )
    )
    return int(conn.execute(text("SELECT coalesce(max(version), 0) FROM schema_version")).scalar() or 0)


def migrate(engine: Engine, target: int = LATEST) -> int:
    """Apply every migration above the DB's version up to ``target``; return the new version.

    Each step reads the version and applies the next migration in one IMMEDIATE transaction, so two
    processes starting at once never apply the same migration twice.
    """
    writer = engine.execution_options(sqlite_begin="IMMEDIATE")
    while True:
        with writer.begin() as conn:
            version = current_version(conn)
            if version > LATEST:
                raise RuntimeError(
                    f"database schema version {version} is newer than this sleepd ({LATEST}); upgrade sleepd"
                )
            if version >= target:
                return version
            fn = MIGRATIONS[version]
            fn(conn)
            conn.execute(
                text("INSERT INTO schema_version(version, name) VALUES (:v, :n)"),
                {"v": version + 1, "n": fn.__name__},
            )
