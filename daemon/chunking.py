"""Packing units (paragraphs, chat turns) into passages of at most ``max_tokens`` tokens.

Consecutive paragraphs of a document share a passage while they fit; a chat turn is its own passage
so that it keeps its role. A unit longer than the limit is cut at sentence ends, then at words.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from .parsers import Unit

CountTokens = Callable[[str], int]
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def _split_long(text: str, max_tokens: int, count: CountTokens) -> list[str]:
    pieces: list[str] = []
    current = ""
    for sentence in _SENTENCE_END.split(text):
        candidate = f"{current} {sentence}".strip() if current else sentence
        if count(candidate) <= max_tokens:
            current = candidate
            continue
        if current:
            pieces.append(current)
        if count(sentence) <= max_tokens:
            current = sentence
            continue
        current = ""  # one sentence over the limit: cut at words
        for word in sentence.split():
            candidate = f"{current} {word}".strip()
            if count(candidate) <= max_tokens or not current:
                current = candidate
            else:
                pieces.append(current)
                current = word
    if current:
        pieces.append(current)
    return pieces


def make_passages(units: Iterable[Unit], max_tokens: int, count: CountTokens) -> list[tuple[Unit, int]]:
    """Return (passage, token count) pairs in document order."""
    out: list[tuple[Unit, int]] = []
    buf: list[str] = []
    buf_tokens = 0

    def flush() -> None:
        nonlocal buf, buf_tokens
        if buf:
            text = "\n\n".join(buf)
            out.append((Unit(text), count(text)))
        buf, buf_tokens = [], 0

    for unit in units:
        n = count(unit.text)
        if unit.role is not None:  # chat turn: never merged with its neighbours
            flush()
            pieces = [unit.text] if n <= max_tokens else _split_long(unit.text, max_tokens, count)
            out.extend((Unit(p, unit.role), count(p)) for p in pieces)
            continue
        if n > max_tokens:
            flush()
            out.extend((Unit(p), count(p)) for p in _split_long(unit.text, max_tokens, count))
            continue
        # +2 approximates the blank line joining paragraphs
        if buf and buf_tokens + n + 2 > max_tokens:
            flush()
        buf.append(unit.text)
        buf_tokens += n + (2 if len(buf) > 1 else 0)
    flush()
    return out
