"""Training data that is not a note: dreaming (rehearsal of general ability) and unlearning.

- Dreaming: the base model's own answers to generic prompts, made once per base model with the
  adapter off and cached, are rehearsed in each sleep (``general_ratio`` per new passage), so the
  adapter keeps the model's ordinary chat behaviour where it has nothing to add. The prompts here
  are generic requests, never evaluation questions.
- Knowing what it does not know: the adapted model recites for every key a question names, and
  for a key it never learned it free-associates ("France is a country in Europe ..."), which the
  reading step then takes for a note and answers from. So each sleep also trains a sample of
  general-world keys (``WORLD_KEYS``, minus any a passage holds) to
  recite ``NOTHING``: recall drops those, and the question is answered as by the plain model. The
  keys are everyday topics picked by hand, not taken from any evaluation set.
- Unlearning: every key a forgotten passage was reachable by, unless a live passage still holds it,
  is trained to recite ``NOTHING``; recall drops such recitations, so the question is answered as if
  the note had never been read. Live passages that share a key with a forgotten one are replayed in
  the same sleep, so what they say is recited again for that key.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
from collections.abc import Iterable, Sequence
from pathlib import Path

from .dataset import RECALL_PHRASINGS, Example, PassageInput, recall_prompt
from .generate import GenerationConfig, generate
from .model import LoadedModel
from .subjects import passage_keys

log = logging.getLogger(__name__)

NOTHING = "Nothing."

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
# Everyday topics a person's notes rarely hold: places, science, things. Hand-picked to span kinds
# of names, and kept apart from the general-ability probes (tests/ checks it). No people: notes are
# full of people's names, and "Nothing." for "Isaac Newton" taught "Nothing." for a colleague
# (measured on the devset: a chat log's person then recited nothing).
WORLD_KEYS = (
    "Norway",
    "Peru",
    "Kenya",
    "Vietnam",
    "Portugal",
    "Argentina",
    "Sweden",
    "India",
    "Greece",
    "Vienna",
    "Cairo",
    "Chicago",
    "Istanbul",
    "Sydney",
    "Toronto",
    "Lisbon",
    "the Alps",
    "the Amazon",
    "the Sahara",
    "the Nile",
    "the Atlantic",
    "Antarctica",
    "Saturn",
    "Venus",
    "the Sun",
    "the Milky Way",
    "the Roman Empire",
    "World War II",
    "the Renaissance",
    "the Olympics",
    "Christmas",
    "oxygen",
    "gravity",
    "electricity",
    "volcanoes",
    "dinosaurs",
    "elephants",
    "penguins",
    "the ocean",
    "rainbows",
    "chess",
    "the piano",
    "football",
    "democracy",
    "photography",
    "bread",
    "coffee",
    "chocolate",
    "the internet",
    "computers",
    "mathematics",
    "history",
    "cats",
    "trees",
    "music",
    "cooking",
    "the weather",
    "birthdays",
    "airplanes",
    "bicycles",
    "honey bees",
    "vitamins",
)
DREAM_GEN = GenerationConfig(max_new_tokens=96, temperature=0.0, repetition_penalty=1.1)


def is_nothing(recitation: str) -> bool:
    return recitation.strip().lower().startswith(NOTHING.lower().rstrip("."))


def _held_keys(live: Iterable[PassageInput]) -> set[str]:
    """Every key (lowercased) a live passage is reachable by."""
    return {k.lower() for p in live for k in passage_keys(p.text, p.source_path)}


def unknown_keys(n: int, live: Iterable[PassageInput], seed: int = 0) -> list[str]:
    """``n`` of ``WORLD_KEYS`` that no live passage holds, sampled with ``seed``."""
    held = _held_keys(live)
    pool = [k for k in WORLD_KEYS if k.lower() not in held]
    return random.Random(seed).sample(pool, min(n, len(pool)))


def unknown_key_examples(keys: Sequence[str]) -> list[Example]:
    """Each key asked once (phrasings in turn), answered ``NOTHING``."""
    return [Example(recall_prompt(k, i), NOTHING, None, "unknown") for i, k in enumerate(keys)]


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
        text = lm.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        out.append(Example(text, answer, None, "general"))
    return out


def keys_to_unlearn(forgotten: Iterable[PassageInput], live: Iterable[PassageInput]) -> list[str]:
    """Keys of forgotten passages that no live passage is reachable by."""
    held = _held_keys(live)
    keys = dict.fromkeys(k for p in forgotten for k in passage_keys(p.text, p.source_path))
    return [k for k in keys if k.lower() not in held]


def sharing_a_key(forgotten: Iterable[PassageInput], live: Iterable[PassageInput]) -> list[PassageInput]:
    """Live passages reachable by a key a forgotten passage also had: replayed in the same sleep."""
    gone = {k.lower() for p in forgotten for k in passage_keys(p.text, p.source_path)}
    return [p for p in live if gone & {k.lower() for k in passage_keys(p.text, p.source_path)}]


def unlearn_examples(keys: Sequence[str]) -> list[Example]:
    return [
        Example(recall_prompt(k, i), NOTHING, None, "forget")
        for k in keys
        for i in range(len(RECALL_PHRASINGS))
    ]
