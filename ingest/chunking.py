"""Packing units (paragraphs, chat turns) into passages of at most ``max_tokens`` tokens.

- Documents: consecutive paragraphs share a passage while they fit.
- Chats with an assistant (turns with a role): each turn is its own passage, so it keeps its role
  (an assistant's "Got it." is not trained on as a fact).
- People talking (turns with a speaker): a conversation is cut into sessions (a new conversation, or
  ``SESSION_GAP`` without a message), and a session's turns share passages while they fit.

A turn's text names its speaker and its date ("On 8 May 2023, Caroline said: ..."), so the model
trains on and reads who said what when. A unit longer than the limit is cut at sentence ends, then at
words.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from .units import Unit

CountTokens = Callable[[str], int]
SESSION_GAP = timedelta(hours=4)  # a pause this long starts a new session of a conversation
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_ROLE_NAMES = {"user": "the user", "assistant": "the assistant", "system": "the system prompt"}


@dataclass(frozen=True)
class Chunk:
    """A passage to store: its text, size, and for chats who spoke and when."""

    text: str
    token_count: int
    role: str | None = None
    speakers: tuple[str, ...] = ()
    started_at: datetime | None = None
    ended_at: datetime | None = None


def day_of(t: datetime) -> str:
    """ "8 May 2023", in local time for an aware time (exports write UTC)."""
    if t.tzinfo is not None:
        t = t.astimezone()
    return f"{t.day} {t:%B %Y}"


def render_turn(unit: Unit) -> str:
    """The turn as the model reads it; a role turn with neither speaker nor time stays as written."""
    if unit.speaker is None and unit.time is None:
        return unit.text
    who = unit.speaker or _ROLE_NAMES.get(unit.role or "", "someone")
    said = f"{who} said: {unit.text}"
    return f"On {day_of(unit.time)}, {said}" if unit.time else said


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


def _pieces(text: str, max_tokens: int, count: CountTokens) -> list[tuple[str, int]]:
    n = count(text)
    if n <= max_tokens:
        return [(text, n)]
    return [(p, count(p)) for p in _split_long(text, max_tokens, count)]


def sessions(turns: Iterable[Unit], gap: timedelta = SESSION_GAP) -> Iterator[list[Unit]]:
    """Consecutive turns of one conversation with no pause longer than ``gap``."""
    current: list[Unit] = []
    for turn in turns:
        if current:
            last = current[-1]
            paused = turn.time is not None and last.time is not None and _gap(last.time, turn.time) > gap
            if paused or turn.session != last.session:
                yield current
                current = []
        current.append(turn)
    if current:
        yield current


def _gap(a: datetime, b: datetime) -> timedelta:
    if (a.tzinfo is None) != (b.tzinfo is None):
        a, b = a.replace(tzinfo=None), b.replace(tzinfo=None)
    return abs(b - a)


def _pack_session(turns: list[Unit], max_tokens: int, count: CountTokens) -> list[Chunk]:
    out: list[Chunk] = []
    buf: list[tuple[Unit, str]] = []
    buf_tokens = 0

    def flush() -> None:
        nonlocal buf, buf_tokens
        if buf:
            text = "\n".join(t for _, t in buf)
            times = [u.time for u, _ in buf if u.time is not None]
            speakers = tuple(dict.fromkeys(u.speaker for u, _ in buf if u.speaker))
            first, last = min(times, default=None), max(times, default=None)
            out.append(Chunk(text, count(text), None, speakers, first, last))
        buf, buf_tokens = [], 0

    for turn in turns:
        for piece, n in _pieces(render_turn(turn), max_tokens, count):
            if buf and buf_tokens + n + 1 > max_tokens:
                flush()
            buf.append((turn, piece))
            buf_tokens += n + (1 if len(buf) > 1 else 0)
    flush()
    return out


def make_passages(units: Iterable[Unit], max_tokens: int, count: CountTokens) -> list[Chunk]:
    """The passages of a file's units, in order."""
    out: list[Chunk] = []
    buf: list[str] = []
    buf_tokens = 0
    talk: list[Unit] = []  # consecutive turns of people talking, packed by session

    def flush() -> None:
        nonlocal buf, buf_tokens
        if buf:
            text = "\n\n".join(buf)
            out.append(Chunk(text, count(text)))
        buf, buf_tokens = [], 0
        for session in sessions(talk):
            out.extend(_pack_session(session, max_tokens, count))
        talk.clear()

    for unit in units:
        if unit.role is None and unit.speaker is not None:
            if buf:
                flush()
            talk.append(unit)
            continue
        if talk:
            flush()
        if unit.role is not None:  # a turn with an assistant: never merged with its neighbours
            flush()
            who = (unit.speaker,) if unit.speaker else ()
            for piece, n in _pieces(render_turn(unit), max_tokens, count):
                out.append(Chunk(piece, n, unit.role, who, unit.time, unit.time))
            continue
        n = count(unit.text)
        if n > max_tokens:
            flush()
            out.extend(Chunk(p, n) for p, n in _pieces(unit.text, max_tokens, count))
            continue
        # +2 approximates the blank line joining paragraphs
        if buf and buf_tokens + n + 2 > max_tokens:
            flush()
        buf.append(unit.text)
        buf_tokens += n + (2 if len(buf) > 1 else 0)
    flush()
    return out
