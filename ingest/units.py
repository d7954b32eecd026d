"""What parsers hand to chunking: paragraphs of a document or the turns of a chat."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

ROLES = ("user", "assistant", "system")


@dataclass(frozen=True)
class Unit:
    """A paragraph of a document, or one chat turn; passages are built from whole units.

    A turn has a ``role`` (user / assistant / system) when it comes from a chat with an assistant,
    or a ``speaker`` (a person's name) when people talk to each other; ``time`` when the log says when,
    and ``session`` when the export says which conversation (a ChatGPT conversation's title).
    """

    text: str
    role: str | None = None
    speaker: str | None = None
    time: datetime | None = None
    session: str | None = None

    @property
    def is_turn(self) -> bool:
        return self.role is not None or self.speaker is not None


@dataclass(frozen=True)
class Parsed:
    kind: str  # "docs" or "chat"
    units: list[Unit]
    notes: list[str] = field(default_factory=list)  # e.g. "decoded as cp1252"
    format: str = ""  # the chat format recognised: "whatsapp", "slack", ...


@dataclass(frozen=True)
class Skip:
    reason: str


def from_epoch(value: object) -> datetime | None:
    """A Unix time (seconds, as a number or a string like Slack's "1683540000.000100"), UTC."""
    from datetime import UTC

    try:
        return datetime.fromtimestamp(float(value), UTC)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def from_iso(value: object) -> datetime | None:
    """An ISO-8601 time as exports write it ("2024-05-08T13:56:00.123Z", "+00:00" offsets)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
