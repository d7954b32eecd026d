"""Plain records passed between storage and its callers."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


def text_hash(s: str) -> str:
    return hashlib.sha256(s.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class NewPassage:
    text: str
    token_count: int
    role: str | None = None


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
