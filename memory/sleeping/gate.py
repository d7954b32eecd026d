"""The gate a new memory version must pass before it is served.

- recall probe: for a sample of the new passages, the adapted model is asked to recite the first
  fact of each by one of its rule-made queries; a recitation counts when it holds at least half of
  the fact's content words.
  (Reported, and a floor in config: a sleep that learned nothing is not worth switching to.)
- replay kept: the same probe on a sample of the replayed (earlier) passages, before and after;
  a sleep that overwrote old memories instead of adding to them is rejected.
- general kept: general questions with known answers go through the same closed-book path as chat;
  of those the base model answers right, the share still answered right with the new memory.
  (Reading runs with the adapter off, so a memory can only change a general answer through a
  recitation it injects: a small model often echoes an unknown key back, so counting injected
  recitations overstates the harm; counting wrong answers does not.)
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from sleepd.memory.facts import fact_queries, passage_facts
from sleepd.memory.model import LoadedModel
from sleepd.memory.prompts import hit, recall_prompt
from sleepd.memory.serving.generate import GenerationConfig, complete, generate
from sleepd.memory.serving.recall import RECITE_GEN, answer_with_memory, word_signal
from sleepd.storage import Passage

# Everyday questions the plain model tends to answer right, kept apart from the benchmark's general
# probe (tests/ checks it) so that the gate is no proxy of the figure it is judged by.
GENERAL_PROBES = (
    ("What is the capital of Russia?", "Moscow"),
    ("What is the capital of China?", "Beijing"),
    ("What is the capital of England?", "London"),
    ("Who wrote Hamlet?", "Shakespeare"),
    ("How many hours are in a day?", "24"),
    ("How many sides does a triangle have?", "three"),
    ("What color is grass?", "green"),
    ("What do caterpillars turn into?", "butterfl"),
    ("What is the chemical symbol for gold?", "Au"),
    ("What is the largest desert in Asia?", "Gobi"),
    ("Which animal is known for its long neck?", "giraffe"),
    ("In which city is the Eiffel Tower?", "Paris"),
)
PROBE_GEN = GenerationConfig(max_new_tokens=40, temperature=0.0, repetition_penalty=1.1)


@dataclass(frozen=True)
class GateResult:
    recall: float
    general_kept: float
    passed: bool
    reason: str
    replay_recall: float | None = None


def recall_probe(lm: LoadedModel, passages: Sequence[Passage], sample: int = 8, seed: int = 0) -> float:
    signal = word_signal(lm.tokenizer)
    facts = [f for p in passages if p.role != "assistant" for f in passage_facts(p.text, p.id)[:1]]
    probes = [(f, q[0]) for f in facts if (q := fact_queries(f, signal, 1, 0))]
    probes = random.Random(seed).sample(probes, min(sample, len(probes)))
    if not probes:
        return 1.0
    ok = 0
    for fact, query in probes:
        words = signal.stems(fact.text)
        recited = signal.stems(complete(lm, recall_prompt(query), RECITE_GEN))
        ok += len(words & recited) >= len(words) / 2
    return ok / len(probes)


def general_kept(lm: LoadedModel) -> float:
    """Share of the base model's right general answers still right through the memory path."""
    base_right = [
        (q, a)
        for q, a in GENERAL_PROBES
        if hit(generate(lm, [{"role": "user", "content": q}], PROBE_GEN, adapter=False), a)
    ]
    if not base_right:
        return 1.0
    kept = 0
    for q, a in base_right:
        stream, _rec = answer_with_memory(lm, q, PROBE_GEN)
        kept += hit("".join(stream), a)
    return kept / len(base_right)


def run_gate(
    lm: LoadedModel,
    new: Sequence[Passage],
    min_recall: float,
    min_general_kept: float,
    replay: Sequence[Passage] = (),
    replay_before: float | None = None,
    min_replay_kept: float = 0.5,
) -> GateResult:
    """``replay_before``: the replay sample's recall probe on the previous version; the new version
    must keep at least ``min_replay_kept`` of it (old memories not overwritten by the new)."""
    recall = recall_probe(lm, new)
    kept = general_kept(lm)
    replay_recall = recall_probe(lm, replay) if replay else None

    def result(passed: bool, reason: str) -> GateResult:
        return GateResult(recall, kept, passed, reason, replay_recall)

    if kept < min_general_kept:
        return result(
            False, f"general ability: {kept:.0%} of general answers kept, below {min_general_kept:.0%}"
        )
    if recall < min_recall:
        return result(False, f"recall probe {recall:.0%} below {min_recall:.0%}")
    if replay_recall is not None and replay_before and replay_recall < min_replay_kept * replay_before:
        return result(
            False,
            f"earlier memories: replay probe fell from {replay_before:.0%} to {replay_recall:.0%}",
        )
    return result(True, "ok")
