"""What the reading prior is trained on: notes as sleepd shows them, and the questions asked of them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class ReadingExample:
    notes: tuple[str, ...]  # as the reading prompt shows them
    question: str
    answer: str
    corpus: str


@dataclass(frozen=True)
class ReadingGroup:
    """Notes and every question asked of them: trained as one conversation, the notes read once."""

    notes: tuple[str, ...]
    questions: tuple[tuple[str, str], ...]  # (question, answer), in the order they are asked
    corpus: str

    def examples(self) -> list[ReadingExample]:
        return [ReadingExample(self.notes, q, a, self.corpus) for q, a in self.questions]


def said(speaker: str, text: str, day: datetime | None) -> str:
    """A chat turn as sleepd renders it (ingest/chunking.py ``render_turn``)."""
    line = f"{speaker} said: {text}"
    return f"On {day.day} {day:%B %Y}, {line}" if day else line
