"""The SQLite engine: one file in the data dir, private (0600), WAL, busy timeout, foreign keys."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import Engine, create_engine, event

from .config import Config
from .migrations import LATEST, migrate


def _create_private_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not path.exists():
        # Only when missing: closing any fd of an open SQLite file drops every POSIX lock this
        # process holds on it (other engines' included), after which another process may
        # checkpoint and delete the WAL under our feet and our later writes vanish from its view.
        fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
        os.close(fd)
    # SQLite gives its -wal and -shm files the mode of the database file, so this covers them too.
    os.chmod(path, 0o600)


def make_engine(db_path: Path, busy_timeout_ms: int = 10_000) -> Engine:
    _create_private_file(db_path)
    engine = create_engine(
        f"sqlite:///{db_path}",
        connect_args={"timeout": busy_timeout_ms / 1000, "check_same_thread": False},
    )

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()
        # Let SQLAlchemy, not the sqlite3 module, decide where transactions start: the module
        # does not wrap DDL in a transaction, which would make a migration half-applied on crash.
        dbapi_conn.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(conn):  # type: ignore[no-untyped-def]
        # Writers take the write lock up front (IMMEDIATE): a deferred transaction that later
        # needs to write can fail with SQLITE_BUSY at once, without waiting on busy_timeout.
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def open_engine(config: Config, target_version: int = LATEST) -> Engine:
    """Open (creating if needed) the DB and bring its schema up to ``target_version``."""
    engine = make_engine(config.db_path, config.storage.busy_timeout_ms)
    migrate(engine, target_version)
    return engine
