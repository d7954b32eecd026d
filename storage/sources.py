"""Writes that keep sources and their passages in step with files on disk, and watched folders.

A file's passages have a stable identity: their text hash within the source. Re-ingesting an
unchanged file changes nothing; when a file changes only the passages whose text is new become
``pending``, and those whose text disappeared become ``superseded`` (the sleep uses that to forget).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, text

from .records import NewPassage, insert_passage, text_hash


@dataclass(frozen=True)
class SyncResult:
    added: int
    kept: int
    superseded: int

    @property
    def changed(self) -> bool:
        return bool(self.added or self.superseded)


@dataclass(frozen=True)
class ChatState:
    """What a chat source's last read saw: its format, how many turns, and a digest of them."""

    format: str | None = None
    turns: int | None = None
    digest: str | None = None


@dataclass(frozen=True)
class SourceState:
    status: str
    mtime: float | None
    size: int | None
    content_hash: str | None
    turns: int | None = None  # chat sources: turns read, and their digest (see ``append_turns``)
    turns_digest: str | None = None


@dataclass(frozen=True)
class Watch:
    id: int
    path: str
    kind: str  # auto | docs | chat
    includes: tuple[str, ...]
    excludes: tuple[str, ...]


def _like_prefix(prefix: str) -> str:
    escaped = prefix.rstrip("/").replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "/%"


def _upsert(conn: Connection, path: str, **fields: object) -> int:
    cols = ["path", *fields]
    sets = ", ".join(f"{c}=excluded.{c}" for c in fields)
    row = conn.execute(
        text(
            f"INSERT INTO sources({', '.join(cols)}) VALUES ({', '.join(':' + c for c in cols)}) "
            f"ON CONFLICT(path) DO UPDATE SET {sets}, "
            "updated_at=strftime('%Y-%m-%dT%H:%M:%fZ', 'now') RETURNING id"
        ),
        {"path": path, **fields},
    ).one()
    return int(row[0])


class SourceSync:
    engine: Engine
    writer: Engine

    def sync_source(
        self,
        path: str,
        *,
        kind: str,
        content_hash: str,
        mtime: float,
        size: int,
        passages: Sequence[NewPassage],
        status: str = "ok",
        reason: str | None = None,
        chat: ChatState | None = None,
    ) -> SyncResult:
        """Record ``path`` as read with these passages, diffing by text against what it had."""
        chat = chat or ChatState()
        with self.writer.begin() as conn:
            sid = _upsert(
                conn,
                path,
                kind=kind,
                content_hash=content_hash,
                mtime=mtime,
                size=size,
                status=status,
                reason=reason,
                format=chat.format,
                turns=chat.turns,
                turns_digest=chat.digest,
            )
            live: dict[str, list[int]] = defaultdict(list)
            for pid, h in conn.execute(
                text(
                    "SELECT id, text_hash FROM passages WHERE source_id = :sid "
                    "AND status != 'superseded' ORDER BY ordinal, id"
                ),
                {"sid": sid},
            ):
                live[h].append(int(pid))
            added = kept = 0
            for ordinal, p in enumerate(passages):
                h = text_hash(p.text)
                if live.get(h):
                    pid = live[h].pop(0)
                    conn.execute(
                        text("UPDATE passages SET ordinal = :o WHERE id = :id AND ordinal != :o"),
                        {"o": ordinal, "id": pid},
                    )
                    kept += 1
                    continue
                insert_passage(conn, sid, ordinal, p)
                added += 1
            gone = [pid for ids in live.values() for pid in ids]
            for pid in gone:
                conn.execute(
                    text(
                        "UPDATE passages SET status = 'superseded', "
                        "updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = :id"
                    ),
                    {"id": pid},
                )
        return SyncResult(added, kept, len(gone))

    def append_turns(
        self,
        path: str,
        *,
        content_hash: str,
        mtime: float,
        size: int,
        passages: Sequence[NewPassage],
        chat: ChatState,
        reason: str | None = None,
    ) -> SyncResult:
        """A chat export grew: add the passages of its new turns after the ones it has, touching none
        of those (the caller checked that the turns read before are still the file's first turns)."""
        with self.writer.begin() as conn:
            sid = _upsert(
                conn,
                path,
                kind="chat",
                content_hash=content_hash,
                mtime=mtime,
                size=size,
                status="ok",
                reason=reason,
                format=chat.format,
                turns=chat.turns,
                turns_digest=chat.digest,
            )
            start = conn.execute(
                text("SELECT coalesce(max(ordinal) + 1, 0) FROM passages WHERE source_id = :s"), {"s": sid}
            ).scalar_one()
            for ordinal, p in enumerate(passages, start=int(start)):
                insert_passage(conn, sid, ordinal, p)
        return SyncResult(len(passages), 0, 0)

    def touch_source(self, path: str, mtime: float) -> None:
        """Content unchanged (same hash) but a new mtime: remember it for the fast path."""
        with self.writer.begin() as conn:
            conn.execute(text("UPDATE sources SET mtime = :m WHERE path = :p"), {"m": mtime, "p": path})

    def skip_source(
        self, path: str, reason: str, *, kind: str = "docs", mtime: float | None, size: int | None
    ) -> None:
        """Record why ``path`` can't be read. Its earlier passages stay: a read error is no deletion."""
        with self.writer.begin() as conn:
            _upsert(
                conn,
                path,
                kind=kind,
                content_hash=None,
                mtime=mtime,
                size=size,
                status="skipped",
                reason=reason,
            )

    def mark_deleted(self, path: str) -> int:
        """Mark ``path`` and every source under it deleted; supersede their passages."""
        params = {"p": path, "like": _like_prefix(path)}
        match = "(path = :p OR path LIKE :like ESCAPE '\\')"
        with self.writer.begin() as conn:
            n = conn.execute(
                text(
                    f"UPDATE sources SET status = 'deleted', content_hash = NULL, reason = NULL, "
                    f"updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') "
                    f"WHERE {match} AND status != 'deleted'"
                ),
                params,
            ).rowcount
            conn.execute(
                text(
                    "UPDATE passages SET status = 'superseded', "
                    "updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') "
                    f"WHERE status != 'superseded' AND source_id IN (SELECT id FROM sources WHERE {match})"
                ),
                params,
            )
        return int(n or 0)

    def forget_source(self, path: str) -> int:
        """The person asked to forget ``path`` (a file or a folder): its passages are superseded, so
        the next sleep unlearns what was consolidated, and ingestion skips the path from now on.
        Returns the number of passages that were live; LookupError if nothing was ingested there."""
        params = {"p": path, "like": _like_prefix(path)}
        match = "(path = :p OR path LIKE :like ESCAPE '\\')"
        with self.writer.begin() as conn:
            if conn.execute(text(f"SELECT 1 FROM sources WHERE {match} LIMIT 1"), params).first() is None:
                raise LookupError(f"no ingested source at {path}")
            conn.execute(text("INSERT OR IGNORE INTO forgotten_sources(path) VALUES (:p)"), params)
            n = conn.execute(
                text(
                    "UPDATE passages SET status = 'superseded', "
                    "updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') "
                    f"WHERE status != 'superseded' AND source_id IN (SELECT id FROM sources WHERE {match})"
                ),
                params,
            ).rowcount
        return int(n or 0)

    def resolve_source_path(self, raw: str) -> str:
        """The stored form of a path a person typed: ``sleepd ingest`` keeps absolute paths, a watched
        folder its resolved (symlink-free) path; whichever names a source or a forgotten path wins,
        else the absolute path."""
        import os

        expanded = os.path.expanduser(raw)
        forms = list(dict.fromkeys([os.path.abspath(expanded), os.path.realpath(expanded)]))
        with self.engine.connect() as conn:
            for form in forms:
                params = {"p": form, "like": _like_prefix(form)}
                hit = conn.execute(
                    text(
                        "SELECT 1 FROM sources WHERE path = :p OR path LIKE :like ESCAPE '\\' "
                        "UNION ALL SELECT 1 FROM forgotten_sources WHERE path = :p LIMIT 1"
                    ),
                    params,
                ).first()
                if hit is not None:
                    return form
        return forms[0]

    def unforget_source(self, path: str) -> bool:
        """Let ``path`` be ingested (and learned) again."""
        with self.writer.begin() as conn:
            n = conn.execute(text("DELETE FROM forgotten_sources WHERE path = :p"), {"p": path}).rowcount
        return bool(n)

    def is_forgotten(self, path: str) -> bool:
        """``path`` or a folder above it was forgotten on request."""
        with self.engine.connect() as conn:
            rows = conn.execute(text("SELECT path FROM forgotten_sources")).scalars()
            return any(path == f or path.startswith(f.rstrip("/") + "/") for f in rows)

    def forgotten_paths(self) -> list[str]:
        with self.engine.connect() as conn:
            return list(conn.execute(text("SELECT path FROM forgotten_sources ORDER BY path")).scalars())

    def source_states(self, prefix: str) -> dict[str, SourceState]:
        """path -> what we last recorded, for ``prefix`` itself and every source under it."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT path, status, mtime, size, content_hash, turns, turns_digest FROM sources "
                    "WHERE path = :p OR path LIKE :like ESCAPE '\\'"
                ),
                {"p": prefix, "like": _like_prefix(prefix)},
            )
            return {r[0]: SourceState(*r[1:]) for r in rows}

    # -- watched folders -----------------------------------------------------------------------

    def add_watch(
        self, path: str, kind: str = "auto", includes: Sequence[str] = (), excludes: Sequence[str] = ()
    ) -> Watch:
        with self.writer.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO watches(path, kind, includes, excludes) VALUES (:p, :k, :i, :e) "
                    "ON CONFLICT(path) DO UPDATE SET kind=excluded.kind, includes=excluded.includes, "
                    "excludes=excluded.excludes"
                ),
                {"p": path, "k": kind, "i": json.dumps(list(includes)), "e": json.dumps(list(excludes))},
            )
        return next(w for w in self.list_watches() if w.path == path)

    def list_watches(self) -> list[Watch]:
        with self.engine.connect() as conn:
            rows = conn.execute(text("SELECT id, path, kind, includes, excludes FROM watches ORDER BY path"))
            return [Watch(r[0], r[1], r[2], tuple(json.loads(r[3])), tuple(json.loads(r[4]))) for r in rows]

    def remove_watch(self, path: str) -> bool:
        with self.writer.begin() as conn:
            n = conn.execute(text("DELETE FROM watches WHERE path = :p"), {"p": path}).rowcount
        return bool(n)
