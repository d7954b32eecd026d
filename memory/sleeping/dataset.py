"""Making training data from passages: recite-then-read, routed by the question itself.

A model this small does not turn memorised statements into answers to questions, but it can learn
to *recite* a note when asked about it, and it answers well when that recitation is put in its
prompt. So each passage is cut into facts (a few sentences under their heading, see ``facts``), and
each fact becomes a few examples "<recall prompt with a rule-made query>" -> the fact. At answer time
the question goes into the same recall prompt. Evaluation questions never enter here: the queries are
made from the passage alone.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sleepd.memory.facts import Fact, WordSignal, cloze_queries, keyword_queries, passage_facts
from sleepd.memory.prompts import recall_prompt
from sleepd.storage.config import SleepConfig


@dataclass(frozen=True)
class Example:
    prompt: str
    answer: str
    passage_id: int | None  # None for rehearsal of general ability
    kind: str  # "recite" | "general" | "forget"


@dataclass(frozen=True)
class PassageInput:
    id: int
    text: str
    source_path: str
    role: str | None


@dataclass(frozen=True)
class DataConfig:
    """Queries per fact; set in ``SleepConfig`` (``from_sleep``), whose defaults these are."""

    keyword_queries: int = SleepConfig.keyword_queries
    cloze_queries: int = SleepConfig.cloze_queries
    written_queries: int = SleepConfig.written_queries

    @classmethod
    def from_sleep(cls, sleep: SleepConfig) -> DataConfig:
        return cls(sleep.keyword_queries, sleep.cloze_queries, sleep.written_queries)


DEFAULT_DATA = DataConfig()
Written = Mapping[str, Sequence[str]]  # fact.text -> questions the prior's writer wrote for it
NO_WRITTEN: Written = {}


def queries_for(fact: Fact, signal: WordSignal, cfg: DataConfig, written: Written = NO_WRITTEN) -> list[str]:
    """The fact's training queries. Written questions (``memory/questions.py``) take the place of
    rule-made ones, down to one keyword run and one cloze question, so a fact costs the same
    training with a prior as without: the questions people ask are the queries that pay most, the
    rule-made ones keep the word-sharing route that the keyword form of a question takes."""
    asked = list(dict.fromkeys(written.get(fact.text, ())))[: cfg.written_queries]
    rule = cfg.keyword_queries + cfg.cloze_queries
    n_kw, n_cloze = cfg.keyword_queries, cfg.cloze_queries
    while asked and n_kw + n_cloze > max(rule - len(asked), min(rule, 2)):
        if n_kw >= n_cloze and n_kw > 1:
            n_kw -= 1
        elif n_cloze > 1:
            n_cloze -= 1
        else:
            break
    made = keyword_queries(fact, signal, n_kw) + cloze_queries(fact, signal, n_cloze)
    return list(dict.fromkeys(made + asked))


def fact_examples(
    fact: Fact, signal: WordSignal, cfg: DataConfig, written: Written = NO_WRITTEN
) -> list[Example]:
    """One example per query, each reciting the whole fact."""
    return [
        Example(recall_prompt(q), fact.text, fact.passage_id, "recite")
        for q in queries_for(fact, signal, cfg, written)
    ]


def passage_examples(
    passage: PassageInput, signal: WordSignal, cfg: DataConfig, written: Written = NO_WRITTEN
) -> list[Example]:
    if passage.role == "assistant":  # "Got it." holds nothing to remember on its own
        return []
    facts = passage_facts(passage.text, passage.id)
    return [ex for fact in facts for ex in fact_examples(fact, signal, cfg, written)]


def build_examples(
    passages: Sequence[PassageInput],
    signal: WordSignal,
    cfg: DataConfig | None = None,
    written: Written = NO_WRITTEN,
) -> list[Example]:
    return [ex for p in passages for ex in passage_examples(p, signal, cfg or DEFAULT_DATA, written)]


@dataclass(frozen=True)
class Tokenized:
    input_ids: list[int]
    labels: list[int]  # -100 on the prompt: loss only on the answer


def tokenize_example(tokenizer: Any, ex: Example, max_len: int = 768) -> Tokenized:
    prompt_ids = tokenizer(ex.prompt, add_special_tokens=False)["input_ids"]
    answer_ids = tokenizer(ex.answer, add_special_tokens=False)["input_ids"]
    answer_ids = [*answer_ids, tokenizer.eos_token_id]
    ids = (prompt_ids + answer_ids)[:max_len]
    labels = ([-100] * len(prompt_ids) + answer_ids)[:max_len]
    return Tokenized(ids, labels)


def length_grouped_batches(
    items: Sequence[Tokenized], batch_tokens: int, rng: random.Random, group: int = 64
) -> list[list[Tokenized]]:
    """Batches of examples of similar length, each at most ``batch_tokens`` once padded.

    Examples are never concatenated into one row: packed without a block-diagonal mask, an
    example attends to the ones before it in its row, and with several copies of a note in a row
    (one per key and phrasing) the model learns to copy the earlier copy instead of storing it.
    Grouping by length
    (shuffled, sorted within groups of ``group``) keeps the padding small.
    """
    order = list(items)
    rng.shuffle(order)
    batches: list[list[Tokenized]] = []
    for start in range(0, len(order), group):
        chunk = sorted(order[start : start + group], key=lambda t: len(t.input_ids))
        batch: list[Tokenized] = []
        for it in chunk:
            width = len(it.input_ids)  # the chunk is sorted: the newest example is the longest
            if batch and width * (len(batch) + 1) > batch_tokens:
                batches.append(batch)
                batch = []
            batch.append(it)
        if batch:
            batches.append(batch)
    rng.shuffle(batches)
    return batches
