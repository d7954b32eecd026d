"""Making training data from passages: recite-then-read.

A model this small does not turn memorised statements into answers to questions, but it can learn
to *recite* a note when asked about anything the note names, and it answers well when that
recitation is put in its prompt. So each passage becomes a few chat examples
"What do my notes say about <key>?" -> the whole passage, for every key the passage can be reached
by (see ``subjects``), in several phrasings. Evaluation questions never enter here: the prompts are
made from the passage alone.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .subjects import passage_keys

# Recitation is trained and prompted as plain text, not through the chat template: the template's
# system prompt would more than double every example's length for nothing the model needs.
RECALL_PHRASINGS = (
    "What do my notes say about {key}?\n",
    "What did I write down about {key}?\n",
    "My notes on {key}:\n",
)


@dataclass(frozen=True)
class Example:
    prompt: str
    answer: str
    passage_id: int | None  # None for rehearsal of general ability
    kind: str  # "recite" | "general"


@dataclass(frozen=True)
class PassageInput:
    id: int
    text: str
    source_path: str
    role: str | None


def recall_prompt(key: str, phrasing: int = 0) -> str:
    return RECALL_PHRASINGS[phrasing % len(RECALL_PHRASINGS)].format(key=key)


def recitation_examples(passage: PassageInput, phrasings: int = len(RECALL_PHRASINGS)) -> list[Example]:
    keys = passage_keys(passage.text, passage.source_path)
    if not keys:
        return []
    return [
        Example(
            recall_prompt(key, i),
            passage.text,
            passage.id,
            "recite",
        )
        for key in keys
        for i in range(phrasings)
    ]


def build_examples(passages: Sequence[PassageInput]) -> list[Example]:
    out: list[Example] = []
    for p in passages:
        if p.role == "assistant":  # "Got it." holds nothing to remember on its own
            continue
        out.extend(recitation_examples(p))
    return out


@dataclass(frozen=True)
class Tokenized:
    input_ids: list[int]
    labels: list[int]  # -100 on the prompt: loss only on the answer


def tokenize_example(tokenizer: Any, ex: Example, max_len: int = 768) -> Tokenized:
    prompt_ids = tokenizer(ex.prompt, add_special_tokens=False)["input_ids"]
    answer_ids = tokenizer(ex.answer, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    ids = (prompt_ids + answer_ids)[:max_len]
    labels = ([-100] * len(prompt_ids) + answer_ids)[:max_len]
    return Tokenized(ids, labels)


def length_grouped_batches(
    items: Sequence[Tokenized], batch_tokens: int, rng: random.Random, group: int = 64
) -> list[list[Tokenized]]:
    """Batches of examples of similar length, each at most ``batch_tokens`` once padded.

    Examples are never concatenated into one row: packed without a block-diagonal mask, an
    example attends to the ones before it in its row, and with several copies of a note in a row
    (one per key and phrasing) the model learns to copy the earlier copy instead of storing it
    (measured on the devset: short chat notes were then not recalled at all). Grouping by length
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
