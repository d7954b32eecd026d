"""Stage "data", with a prior: the questions its writer writes for the facts a sleep trains.

Facts already written for (an earlier sleep, a replayed passage) come from the cache under the
versions root; the writer is loaded only when some fact is new to it, on its own copy of the base
model, and freed after.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sleepd.memory.facts import Fact, WordSignal, passage_facts
from sleepd.memory.prior import Prior
from sleepd.memory.questions import QuestionCache, QuestionWriter, WriterConfig
from sleepd.models.identity import model_slug
from sleepd.models.model import LoadedModel

from .dataset import PassageInput

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WritingStats:
    prior: str | None
    facts: int = 0
    facts_with_question: int = 0
    questions: int = 0
    newly_written: int = 0  # facts the writer ran on this sleep (the rest were cached)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, object]:
        return {
            "prior": self.prior,
            "facts": self.facts,
            "facts_with_question": self.facts_with_question,
            "questions": self.questions,
            "newly_written": self.newly_written,
            "seconds": round(self.seconds, 1),
        }


def _facts(passages: Iterable[PassageInput]) -> list[Fact]:
    return [f for p in passages if p.role != "assistant" for f in passage_facts(p.text, p.id)]


def writes_questions(prior: Prior | None, per_fact: int) -> bool:
    """Whether a sleep with this prior writes questions: it has a writer part and is asked for some."""
    return prior is not None and prior.writer_dir is not None and per_fact > 0


def write_questions(
    lm: LoadedModel,
    prior: Prior | None,
    passages: Iterable[PassageInput],
    cache_dir: Path,
    per_fact: int,
) -> tuple[dict[str, list[str]], WritingStats]:
    """fact.text -> checked written questions for every fact of ``passages``; empty without a
    prior (or a writer part in it), so a model without one sleeps as before."""
    if not writes_questions(prior, per_fact):
        return {}, WritingStats(prior.name if prior else None)
    assert prior is not None and prior.writer_dir is not None  # what writes_questions checked
    started = time.monotonic()
    facts = list(dict.fromkeys(_facts(passages)))
    signal = WordSignal(lm.tokenizer)
    cache = QuestionCache(cache_dir / f"{model_slug(lm.source.name)}.json", prior.writer_id)
    todo = [f for f in facts if cache.get(f) is None]
    if todo:  # the writer fills the cache; it is loaded only for facts new to it
        writer = QuestionWriter.load(lm.model, lm.tokenizer, prior.writer_dir, prior.writer_id)
        try:
            writer.write(todo, signal, WriterConfig(per_fact=per_fact), cache)
        finally:
            del writer
    written = {f.text: cache.get(f) or [] for f in facts}
    stats = WritingStats(
        prior.name,
        len(facts),
        sum(1 for f in facts if written.get(f.text)),
        sum(len(written.get(f.text, [])) for f in facts),
        len(todo),
        time.monotonic() - started,
    )
    log.info(
        "sleep: %d questions written for %d of %d facts (%d new to the writer) in %.0f s",
        stats.questions,
        stats.facts_with_question,
        stats.facts,
        stats.newly_written,
        stats.seconds,
    )
    return written, stats
