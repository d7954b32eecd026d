"""Training data that is not a note: dreaming (rehearsal of general ability) and unlearning.

- Dreaming: the base model's own answers to generic prompts, made once per base model with the
  adapter off and cached, are rehearsed in each sleep (``general_ratio`` per passage trained), so the
  adapter keeps the model's ordinary chat behaviour where it has nothing to add. The prompts here
  are generic requests, never evaluation questions.
- Unlearning: every fact of a forgotten passage that no live passage still holds is trained to
  recite ``NOTHING`` for the same rule-made queries that taught it; recall drops such recitations,
  so the question is answered as if the note had never been read. Live passages of the same file
  (what an edit kept) are replayed in the same sleep, so what they say is recited again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from sleepd.memory.facts import Fact, WordSignal, passage_facts
from sleepd.memory.prompts import NOTHING, recall_prompt
from sleepd.memory.serving.generate import GenerationConfig, generate
from sleepd.models.chat_format import chat_text
from sleepd.models.model import LoadedModel

from .dataset import DEFAULT_DATA, NO_WRITTEN, DataConfig, Example, PassageInput, Written, queries_for

log = logging.getLogger(__name__)


GENERIC_PROMPTS = (
    "Give me three tips for sleeping better.",
    "Write a short poem about autumn leaves.",
    "How do I boil an egg?",
    "Suggest a name for a grey kitten.",
    "Why is regular exercise good for you?",
    "How do I make a cup of tea?",
    "Write a haiku about the sea.",
    "What are some hobbies I could try this winter?",
    "Tell me a fun fact about octopuses.",
    "How can I stay focused while studying?",
    "What is a verb? Give an example.",
    "Suggest a healthy breakfast.",
    "How do I write a polite email declining an invitation?",
    "What should I pack for a weekend hiking trip?",
    "Explain what a budget is in simple words.",
    "Give me a short motivational quote.",
)
DREAM_GEN = GenerationConfig(max_new_tokens=96, temperature=0.0, repetition_penalty=1.1)


def _cache_path(cache_dir: Path, base_name: str) -> Path:
    digest = hashlib.sha256(("\n".join(GENERIC_PROMPTS) + repr(DREAM_GEN)).encode()).hexdigest()[:12]
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in base_name)
    return cache_dir / f"dreams-{safe}-{digest}.json"


def base_answers(lm: LoadedModel, cache_dir: Path, n: int) -> list[tuple[str, str]]:
    """(prompt, the base model's own greedy answer) for the first ``n`` generic prompts.

    ``lm`` must be the base model without an adapter. Answers are cached per base model.
    """
    n = min(n, len(GENERIC_PROMPTS))
    if n <= 0:
        return []
    path = _cache_path(cache_dir, lm.source.name)
    cached: dict[str, str] = {}
    if path.exists():
        try:
            cached = json.loads(path.read_text())
        except (OSError, ValueError):
            cached = {}
    wanted = GENERIC_PROMPTS[:n]
    missing = [p for p in wanted if p not in cached]
    for prompt in missing:
        cached[prompt] = generate(lm, [{"role": "user", "content": prompt}], DREAM_GEN).strip()
    if missing:
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(cached, indent=1))
        os.replace(tmp, path)
    return [(p, cached[p]) for p in wanted if cached[p]]


def dream_examples(lm: LoadedModel, answers: Sequence[tuple[str, str]]) -> list[Example]:
    """Chat-format rehearsal examples: the prompt through the model's chat template, its answer."""
    out = []
    for prompt, answer in answers:
        messages = [{"role": "user", "content": prompt}]
        text = chat_text(lm.tokenizer, messages)
        out.append(Example(text, answer, None, "general"))
    return out


LiveFact = tuple[str, Fact, set[str]]  # (source path, fact, its content stems)


def _live_facts(live: Iterable[PassageInput], signal: WordSignal) -> list[LiveFact]:
    return [(p.source_path, f, signal.stems(f.text)) for p in live for f in passage_facts(p.text, p.id)]


def _answered(words: set[str], live_facts: Sequence[LiveFact]) -> bool:
    """Whether a live fact holds every content word of a query (it answers the query)."""
    return any(words <= held for _, _, held in live_facts)


def unlearn_examples(
    forgotten: Iterable[PassageInput],
    live: Iterable[PassageInput],
    signal: WordSignal,
    cfg: DataConfig = DEFAULT_DATA,
    written: Written = NO_WRITTEN,
) -> list[Example]:
    """The queries of every forgotten fact (the written questions that taught it too), answered
    NOTHING, except a query that a live fact answers as well (all its content words are in that
    fact): what a live note still says stays. A fact an edit superseded (a live fact of the same
    file shares at least half its content words: its later version) has its queries answered by
    that later version instead: taught NOTHING, "garage door code 4471?" pulled "What is the garage
    door code?" to NOTHING too, and the new code was not recited after the sleep (update bench)."""
    live_facts = _live_facts(live, signal)
    out: dict[str, Example] = {}
    for p in forgotten:
        for fact in passage_facts(p.text, p.id):
            stems = signal.stems(fact.text)
            successor = _successor(
                stems, [(f, held) for path, f, held in live_facts if path == p.source_path]
            )
            for q in queries_for(fact, signal, cfg, written):
                if _answered(signal.stems(q), live_facts):
                    continue
                if successor is not None:
                    out.setdefault(
                        q, Example(recall_prompt(q), successor.text, successor.passage_id, "recite")
                    )
                else:
                    out.setdefault(q, Example(recall_prompt(q), NOTHING, None, "forget"))
    return list(out.values())


def _successor(stems: set[str], same_file: Sequence[tuple[Fact, set[str]]]) -> Fact | None:
    """The live fact of the same file that is a later version of a fact with ``stems``: the one
    sharing the most of its content words, if that is at least half of them."""
    best = max(same_file, key=lambda fh: len(stems & fh[1]), default=None)
    if best is None or not stems or len(stems & best[1]) * 2 < len(stems):
        return None
    return best[0]
