"""Measuring memory: ceiling, closed-book recall, retention across sleeps, general ability kept.

An answer counts when it contains the gold string, case-insensitively. Evaluation questions are only
ever asked, never written into training data: the sleep pipeline reads passages, not this module.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sleepd.memory.prompts import hit
from sleepd.memory.serving.generate import GenerationConfig
from sleepd.memory.serving.recall import Search, answer_with_memory, read_notes
from sleepd.models.model import LoadedModel
from sleepd.storage.config import RecallConfig

EVAL_GEN = GenerationConfig(max_new_tokens=48, temperature=0.0, repetition_penalty=1.1)


@dataclass(frozen=True)
class Question:
    q: str
    a: str
    source: str = ""  # path relative to the docs dir
    kind: str = ""  # question type, where the set gives one (single-hop, temporal, ...)


def load_questions(path: Path) -> list[Question]:
    raw = json.loads(Path(path).read_text())
    return [Question(item["q"], str(item["a"]), item.get("source", ""), item.get("kind", "")) for item in raw]


NotesFor = Callable[[str], Sequence[str]]  # question -> buffer passages put in the prompt


def source_text(docs: Path, source: str) -> str:
    """The note a question is about, as the model would read it (parsed, not raw JSONL)."""
    from sleepd.ingest.chunking import render_turn
    from sleepd.ingest.parsers import Parsed, parse_bytes

    path = docs / source
    parsed = parse_bytes(path.read_bytes(), path.suffix, path=str(path))
    if not isinstance(parsed, Parsed):
        return ""
    return ("\n" if parsed.kind == "chat" else "\n\n").join(render_turn(u) for u in parsed.units)


def ceiling(lm: LoadedModel, questions: Sequence[Question], docs: Path) -> list[bool]:
    """The same model with the one relevant note in its prompt."""
    return [hit(read_notes(lm, q.q, [source_text(docs, q.source)], EVAL_GEN), q.a) for q in questions]


def closed_book(
    lm: LoadedModel,
    questions: Sequence[Question],
    recite: bool = True,
    on_each: Callable[[], None] | None = None,
    trace: list[dict[str, Any]] | None = None,
    notes_for: NotesFor | None = None,
    min_coverage: float = RecallConfig.min_coverage,
    search: Search | None = None,
    note_tokens: int = 0,
    beams: int = 1,
) -> list[bool]:
    """Answers from the weights alone (recite, then read), or with ``notes_for`` also from the
    buffer, as default chat answers (``recite=False``: the buffer alone, what chat said before any
    sleep).

    ``beams``: recitations per query ranked by the prior's writer (``RecallConfig.recite_beams``).
    ``trace`` (if given) gets one record per question: what was recited, kept and dropped, the answer.
    """
    hits = []
    rule: dict[str, Any] = {
        "recite": recite,
        "min_coverage": min_coverage,
        "search": search,
        "note_tokens": note_tokens,
    }
    for q in questions:
        notes = notes_for(q.q) if notes_for else ()
        stream, rec = answer_with_memory(lm, q.q, EVAL_GEN, notes=notes, beams=beams, **rule)
        answer = "".join(stream)
        hits.append(hit(answer, q.a))
        if trace is not None:
            trace.append(
                {
                    "q": q.q,
                    "gold": q.a,
                    "source": q.source,
                    "hit": hits[-1],
                    "answer": answer,
                    "kept": rec.recitations,
                    "dropped": rec.dropped,
                    "logprob": rec.logprob,
                }
            )
        if on_each:
            on_each()
    return hits


def share(hits: Sequence[bool]) -> float:
    return sum(hits) / len(hits) if hits else 0.0


def by_kind(questions: Sequence[Question], hits: Sequence[bool]) -> dict[str, float]:
    """Share right per question kind (empty when the set gives no kinds)."""
    kinds = sorted({q.kind for q in questions if q.kind})
    return {k: share([h for q, h in zip(questions, hits, strict=True) if q.kind == k]) for k in kinds}
