"""Reads and writes of the SQLite buffer: sources, passages, full-text search, counts.

The daemon, the CLI and the memory pipeline all go through ``Store``; SQL lives here and in
``migrations`` only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Engine, text

from .chats import ChatStore
from .config import RecallConfig
from .records import NewPassage, Passage, SearchHit, Source, insert_passage
from .sources import SourceSync

SOURCE_STATUSES = ("ok", "skipped", "deleted")
PASSAGE_STATUSES = ("pending", "consolidated", "superseded")


_PASSAGE_COLUMNS = (
    "p.id, p.source_id, s.path, p.ordinal, p.text, p.token_count, p.role, p.status, p.consolidated_in"
)


def _passage(row: Sequence[Any]) -> Passage:
    return Passage(*row[:9])


def fts_query(query: str) -> str:
    """Turn free text (a chat question) into an FTS5 OR-query of quoted terms.

    Raw user text is not valid FTS5 syntax ("?", "-", quotes, AND/NOT...); quoting each word makes
    any input safe, and OR lets BM25 rank by how many and how rare the shared words are.
    """
    words = re.findall(r"\w+", query.lower())
    seen: dict[str, None] = dict.fromkeys(w for w in words if len(w) > 1 or w.isdigit())
    return " OR ".join(f'"{w}"' for w in seen)


# FTS5's bm25() gives a word found in half the indexed passages or more an IDF of 1e-6 instead of
# zero or less, so a hit matched only through such words scores ~1e-6 per word: asked "What is the
# capital of France?" with a few boat notes in the buffer, chat read two of them on "the" and "is"
# and answered that the boats were characters of a film. Any word in fewer than half the passages
# scores orders of magnitude above this. With one or two passages every word is in half of them, so
# there (a new install) the search cannot tell, and its hits are read as before.
UNINFORMATIVE_SCORE = 1e-4


class _StoreBase:
    engine: Engine
    writer: Engine

    def __init__(self, engine: Engine) -> None:
        self.engine = engine  # reads
        self.writer = engine.execution_options(sqlite_begin="IMMEDIATE")

    # -- sources -------------------------------------------------------------------------------

    def upsert_source(
        self,
        path: str,
        *,
        kind: str = "docs",
        content_hash: str | None = None,
        mtime: float | None = None,
        size: int | None = None,
        status: str = "ok",
        reason: str | None = None,
    ) -> int:
        if status not in SOURCE_STATUSES:
            raise ValueError(f"bad source status {status!r}")
        with self.writer.begin() as conn:
            row = conn.execute(
                text(
                    "INSERT INTO sources(path, kind, content_hash, mtime, size, status, reason) "
                    "VALUES (:path, :kind, :hash, :mtime, :size, :status, :reason) "
                    "ON CONFLICT(path) DO UPDATE SET kind=excluded.kind, "
                    "content_hash=excluded.content_hash, mtime=excluded.mtime, "
                    "size=excluded.size, status=excluded.status, reason=excluded.reason, "
                    "updated_at=strftime('%Y-%m-%dT%H:%M:%fZ', 'now') RETURNING id"
                ),
                {
                    "path": path,
                    "kind": kind,
                    "hash": content_hash,
                    "mtime": mtime,
                    "size": size,
                    "status": status,
                    "reason": reason,
                },
            ).one()
        return int(row[0])

    def get_source(self, path: str) -> Source | None:
        rows = self.list_sources(path=path)
        return rows[0] if rows else None

    def list_sources(self, status: str | None = None, path: str | None = None) -> list[Source]:
        where: list[str] = []
        params: dict[str, object] = {}
        if status:
            where.append("s.status = :status")
            params["status"] = status
        if path:
            where.append("s.path = :path")
            params["path"] = path
        sql = (
            "SELECT s.id, s.path, s.kind, s.content_hash, s.mtime, s.size, s.status, s.reason, "
            "(SELECT count(*) FROM passages p WHERE p.source_id = s.id AND p.status != 'superseded'), "
            "s.format, s.turns"
            " FROM sources s" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY s.path"
        )
        with self.engine.connect() as conn:
            return [Source(*r) for r in conn.execute(text(sql), params)]

    # -- passages ------------------------------------------------------------------------------

    def add_passages(self, source_id: int, passages: Iterable[NewPassage], start: int = 0) -> list[int]:
        ids = []
        with self.writer.begin() as conn:
            for i, p in enumerate(passages, start=start):
                ids.append(insert_passage(conn, source_id, i, p))
        return ids

    def delete_passage(self, passage_id: int) -> None:
        with self.writer.begin() as conn:
            conn.execute(text("DELETE FROM passages WHERE id = :id"), {"id": passage_id})

    def passages(
        self, status: str | None = None, source_id: int | None = None, limit: int | None = None
    ) -> list[Passage]:
        where: list[str] = []
        params: dict[str, object] = {}
        if status:
            where.append("p.status = :status")
            params["status"] = status
        if source_id is not None:
            where.append("p.source_id = :sid")
            params["sid"] = source_id
        sql = (
            f"SELECT {_PASSAGE_COLUMNS} FROM passages p JOIN sources s ON s.id = p.source_id"
            + (" WHERE " + " AND ".join(where) if where else "")
            + " ORDER BY p.source_id, p.ordinal, p.id"
            + (f" LIMIT {int(limit)}" if limit else "")
        )
        with self.engine.connect() as conn:
            return [_passage(r) for r in conn.execute(text(sql), params)]

    def search(
        self, query: str, k: int = 5, statuses: Sequence[str] = ("pending", "consolidated")
    ) -> list[SearchHit]:
        """Passages matching ``query`` best first, by BM25 over the FTS5 index."""
        match = fts_query(query)
        if not match or k <= 0:
            return []
        bad = set(statuses) - set(PASSAGE_STATUSES)
        if bad:
            raise ValueError(f"bad passage status {sorted(bad)}")
        marks = ", ".join(f"'{s}'" for s in statuses)
        sql = (
            f"SELECT {_PASSAGE_COLUMNS}, bm25(passages_fts) AS rank FROM passages_fts "
            "JOIN passages p ON p.id = passages_fts.rowid JOIN sources s ON s.id = p.source_id "
            f"WHERE passages_fts MATCH :q AND p.status IN ({marks}) ORDER BY rank LIMIT :k"
        )
        with self.engine.connect() as conn:
            rows = conn.execute(text(sql), {"q": match, "k": k}).all()
        return [SearchHit(_passage(r), -float(r[9])) for r in rows]

    def notes_for(self, query: str, recall: RecallConfig) -> list[SearchHit]:
        """What default chat puts in the prompt (chat, the API and eval alike): the best BM25 hits
        over every live passage, ``recall.buffer_notes`` at most, keeping those scoring at least
        ``recall.buffer_score_floor`` of the best one's (see ``RecallConfig``)."""
        if recall.buffer_notes == 0:
            return []
        hits = self.search(query, k=recall.buffer_notes)
        if hits and hits[0].score < UNINFORMATIVE_SCORE and self._passage_count() >= 3:
            return []  # matched only through words in half the notes or more ("the", "is")
        return [h for h in hits if h.score >= recall.buffer_score_floor * hits[0].score]

    def _passage_count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM passages")).scalar() or 0)

    # -- overview ------------------------------------------------------------------------------

    def counts(self) -> dict[str, dict[str, int]]:
        with self.engine.connect() as conn:
            src: dict[str, int] = {
                r[0]: int(r[1])
                for r in conn.execute(text("SELECT status, count(*) FROM sources GROUP BY status"))
            }
            pas: dict[str, int] = {
                r[0]: int(r[1])
                for r in conn.execute(text("SELECT status, count(*) FROM passages GROUP BY status"))
            }
            held = conn.execute(
                text("SELECT count(*) FROM passages WHERE status = 'pending' AND held_reason IS NOT NULL")
            ).scalar()
            deferred = conn.execute(
                text("SELECT count(*) FROM passages WHERE status = 'pending' AND deferred_reason IS NOT NULL")
            ).scalar()
        passages = {s: int(pas.get(s, 0)) for s in PASSAGE_STATUSES}
        # held: pending passages a sleep found nothing to train on (still in the buffer for chat)
        return {
            "sources": {s: int(src.get(s, 0)) for s in SOURCE_STATUSES},
            # deferred: pending passages a budgeted sleep left for the next one (answered from the buffer)
            "passages": passages | {"held": int(held or 0), "deferred": int(deferred or 0)},
        }

    def record_version(
        self,
        version: int,
        base_model: str,
        path: str,
        parent: int | None,
        passage_ids: Sequence[int],
        meta: dict[str, Any],
        forgotten_ids: Sequence[int] = (),
    ) -> None:
        """Record a written memory version, mark what it consolidated and what it unlearned, in one
        transaction."""
        with self.writer.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO memory_versions(id, base_model, path, parent_id, meta) "
                    "VALUES (:id, :b, :p, :parent, :m)"
                ),
                {"id": version, "b": base_model, "p": path, "parent": parent, "m": json.dumps(meta)},
            )
            for pid in passage_ids:
                conn.execute(
                    text(
                        "UPDATE passages SET status = 'consolidated', consolidated_in = :v, "
                        "deferred_reason = NULL, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') "
                        "WHERE id = :id AND status = 'pending'"
                    ),
                    {"v": version, "id": pid},
                )
            for pid in forgotten_ids:
                conn.execute(
                    text("UPDATE passages SET forgotten_in = :v WHERE id = :id AND forgotten_in IS NULL"),
                    {"v": version, "id": pid},
                )

    def hold_passages(self, reasons: dict[int, str]) -> None:
        """Record why a sleep left these passages pending; they stay searchable in the buffer."""
        self._mark_pending("held_reason = :r", reasons)

    def defer_passages(self, reasons: dict[int, str]) -> None:
        """A sleep's budget did not reach these pending passages: recorded, counted, first next time."""
        self._mark_pending("deferred_reason = :r, deferred_count = deferred_count + 1", reasons)

    def _mark_pending(self, assignments: str, reasons: dict[int, str]) -> None:
        with self.writer.begin() as conn:
            for pid, reason in reasons.items():
                conn.execute(
                    text(f"UPDATE passages SET {assignments} WHERE id = :id AND status = 'pending'"),
                    {"r": reason, "id": pid},
                )

    def sleep_order(self) -> list[int]:
        """Pending passages (not held) in the order a budgeted sleep takes them: deferred before
        (most often first), then those of edited files (the file has older passages: what it says
        now must replace what the weights hold), then the newest (a chat turn by its time, a
        document by its file's mtime), then the rest in reading order."""
        sql = (
            "SELECT p.id FROM passages p JOIN sources s ON s.id = p.source_id "
            "WHERE p.status = 'pending' AND p.held_reason IS NULL ORDER BY p.deferred_count DESC, "
            "EXISTS (SELECT 1 FROM passages q "
            "        WHERE q.source_id = p.source_id AND q.status != 'pending') DESC, "
            "coalesce(p.ended_at, strftime('%Y-%m-%dT%H:%M:%S', s.mtime, 'unixepoch'), '') DESC, p.id"
        )
        with self.engine.connect() as conn:
            return [int(r[0]) for r in conn.execute(text(sql))]

    def held_reasons(self) -> dict[int, str]:
        """Pending passages a sleep could not consolidate, with the reason."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT id, held_reason FROM passages "
                    "WHERE status = 'pending' AND held_reason IS NOT NULL"
                )
            ).all()
        return {int(r[0]): str(r[1]) for r in rows}

    def passages_to_forget(self) -> list[Passage]:
        """Passages once consolidated into the weights whose text is gone (superseded, deleted or
        forgotten) and that no sleep has unlearned yet."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                text(
                    f"SELECT {_PASSAGE_COLUMNS} FROM passages p JOIN sources s ON s.id = p.source_id "
                    "WHERE p.status = 'superseded' AND p.consolidated_in IS NOT NULL "
                    "AND p.forgotten_in IS NULL ORDER BY p.id"
                )
            )
            return [_passage(r) for r in rows]

    def rebase_memory(self, version: int | None) -> int:
        """Make the buffer's consolidation marks those of memory ``version`` and its ancestors (after
        a switch of base model: each model has its own memory). A passage one of them learned is
        consolidated (in the first that did), every other live one pending for the next sleep; what
        they unlearned stays unlearned. Returns how many passages are pending now."""
        with self.writer.begin() as conn:
            chain: list[tuple[int, dict[str, Any]]] = []
            v = version
            while v is not None and all(v != c for c, _ in chain):
                row = conn.execute(
                    text("SELECT parent_id, meta FROM memory_versions WHERE id = :v"), {"v": v}
                )
                found = row.first()
                if found is None:
                    break
                chain.append((v, json.loads(found[1] or "{}")))
                v = found[0]
            learned: dict[int, int] = {}
            forgotten: dict[int, int] = {}
            for v, meta in reversed(chain):  # oldest first: the version that first learned it
                for pid in meta.get("passages", []):
                    learned.setdefault(int(pid), v)
                for pid in meta.get("forgotten_passages", []):
                    forgotten.setdefault(int(pid), v)
            conn.execute(
                text(
                    "UPDATE passages SET status = 'pending', consolidated_in = NULL "
                    "WHERE status = 'consolidated'"
                )
            )
            conn.execute(
                text(
                    "UPDATE passages SET consolidated_in = NULL, forgotten_in = NULL "
                    "WHERE status = 'superseded'"
                )
            )
            for pid, v in learned.items():
                conn.execute(
                    text(
                        "UPDATE passages SET consolidated_in = :v, deferred_reason = NULL, status = "
                        "CASE status WHEN 'pending' THEN 'consolidated' ELSE status END WHERE id = :id"
                    ),
                    {"v": v, "id": pid},
                )
            for pid, v in forgotten.items():
                conn.execute(
                    text("UPDATE passages SET forgotten_in = :v WHERE id = :id"), {"v": v, "id": pid}
                )
            return int(
                conn.execute(text("SELECT count(*) FROM passages WHERE status = 'pending'")).scalar() or 0
            )

    def latest_memory_version(self) -> int | None:
        with self.engine.connect() as conn:
            v = conn.execute(text("SELECT max(id) FROM memory_versions WHERE status = 'ready'")).scalar()
        return int(v) if v is not None else None


class Store(SourceSync, ChatStore, _StoreBase):
    """The one entry point to the buffer."""
