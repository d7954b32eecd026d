"""Plain records passed between storage and its callers."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import Connection, text


def text_hash(s: str) -> str:
    return hashlib.sha256(s.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class NewPassage:
    text: str
    token_count: int
    role: str | None = None
    speakers: tuple[str, ...] = ()  # chat turns: who spoke, in order of first turn
    started_at: str | None = None  # ISO-8601 time of the first and last turn
    ended_at: str | None = None


INSERT_PASSAGE = text(
    "INSERT INTO passages(source_id, ordinal, text_hash, text, token_count, role, speakers, "
    "started_at, ended_at) VALUES (:sid, :o, :h, :t, :n, :r, :sp, :t0, :t1) RETURNING id"
)


def insert_passage(conn: Connection, source_id: int, ordinal: int, p: NewPassage) -> int:
    row = conn.execute(
        INSERT_PASSAGE,
        {
            "sid": source_id,
            "o": ordinal,
            "h": text_hash(p.text),
            "t": p.text,
            "n": p.token_count,
            "r": p.role,
            "sp": ", ".join(p.speakers) or None,
            "t0": p.started_at,
            "t1": p.ended_at,
        },
    ).one()
    return int(row[0])


@dataclass(frozen=True)
class Passage:
    id: int
    source_id: int
    source_path: str
    ordinal: int
    text: str
    token_count: int
    role: str | None
    status: str
    consolidated_in: int | None


@dataclass(frozen=True)
class SearchHit:
    passage: Passage
    score: float  # higher is better (negated BM25)


@dataclass(frozen=True)
class Source:
    id: int
    path: str
    kind: str
    content_hash: str | None
    mtime: float | None
    size: int | None
    status: str
    reason: str | None
    passages: int = 0
    format: str | None = None  # the chat format recognised ("whatsapp", ...)
    turns: int | None = None  # chat turns read

    def as_dict(self) -> dict[str, object]:
        """What `sleepd sources --json` and the API's /sources show of it."""
        keys = ("path", "kind", "status", "reason", "passages", "size", "format", "turns")
        return {k: getattr(self, k) for k in keys}
