"""The gate a new memory version must pass before it is served.

- recall probe: for a sample of the new passages, the adapted model is asked to recite the first
  fact of each by one of its rule-made queries; a recitation counts when it holds at least half of
  the fact's content words.
  (Reported, and a floor in config: a sleep that learned nothing is not worth switching to.)
- replay kept: the same probe on a sample of the replayed (earlier) passages, before and after;
  a sleep that overwrote old memories instead of adding to them is rejected.
- general kept: general questions with known answers (``GENERAL_PROBES``) go through default chat,
  as people ask them: of those chat answers right from the buffer alone, the share still answered
  right with the new memory's recitations (grounded in the buffer, as chat does).
  (Reading runs with the adapter off, so a memory can only change a general answer through a
  recitation it injects: a small model often echoes an unknown key back, so counting injected
  recitations overstates the harm; counting wrong answers does not.)
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sleepd.memory.facts import fact_queries, passage_facts
from sleepd.memory.prompts import hit, recall_prompt
from sleepd.memory.serving.generate import GenerationConfig, complete, generate
from sleepd.memory.serving.recall import RECITE_GEN, answer_with_memory, word_signal
from sleepd.models.model import LoadedModel
from sleepd.storage import Passage

# Everyday questions the plain model answers right (checked on the bundled one), of other kinds
# than the benchmark's general probe (no capitals, planets, chemical symbols, "how many", "largest"):
# the gate is an honest check of its own, the probe an honest measure. tests/memory/test_gate_probes.py
# keeps them apart (no shared answer, at most one shared content word per pair of questions).
GENERAL_PROBES = (
    ("What do you call a baby cat?", "kitten"),
    ("What is frozen water called?", "ice"),
    ("What is the first month of the year?", "January"),
    ("What shape has four equal sides?", "square"),
    ("Which instrument has black and white keys?", "piano"),
    ("What does a thermometer measure?", "temperature"),
    ("Which sense do you use your nose for?", "smell"),
    ("Who wrote Pride and Prejudice?", "Austen"),
    ("Which tool is used to cut paper?", "scissors"),
    ("What is the plural of mouse?", "mice"),
    ("Which fruit is used to make wine?", "grape"),
    ("What do caterpillars turn into?", "butterfl"),
)
PROBE_GEN = GenerationConfig(max_new_tokens=40, temperature=0.0, repetition_penalty=1.1)


@dataclass(frozen=True)
class BufferView:
    """What default chat reads beside the weights, for the gate to judge through chat's own path."""

    notes_for: Callable[[str], Sequence[str]]  # question -> buffer notes in the prompt
    search: Callable[[str], Sequence[str]]  # recitation -> passages it may recite
    note_tokens: int = 0  # RecallConfig.note_tokens: what chat reads of its notes
    beams: int = 1  # RecallConfig.recite_beams: recitations per query the prior's writer ranks


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


def general_kept(lm: LoadedModel, buffer: BufferView | None = None) -> float:
    """Share of the general answers right without the new memory still right with it.

    With ``buffer`` (the store: its notes and its search) both sides go through default chat, the
    path people use: before = the buffer alone (adapter off, no recitation), after = buffer plus
    recitations grounded in it. Without, the plain model against closed-book."""
    notes_for = buffer.notes_for if buffer else (lambda _q: [])
    cap = buffer.note_tokens if buffer else 0
    beams = buffer.beams if buffer else 1
    before = []
    for q, a in GENERAL_PROBES:
        if buffer is None:
            answer = generate(lm, [{"role": "user", "content": q}], PROBE_GEN, adapter=False)
        else:
            stream, _rec = answer_with_memory(
                lm, q, PROBE_GEN, recite=False, notes=notes_for(q), note_tokens=cap
            )
            answer = "".join(stream)
        if hit(answer, a):
            before.append((q, a))
    if not before:
        return 1.0
    kept = 0
    for q, a in before:
        search = buffer.search if buffer else None
        stream, _rec = answer_with_memory(
            lm, q, PROBE_GEN, notes=notes_for(q), search=search, note_tokens=cap, beams=beams
        )
        kept += hit("".join(stream), a)
    return kept / len(before)


def run_gate(
    lm: LoadedModel,
    new: Sequence[Passage],
    min_recall: float,
    min_general_kept: float,
    replay: Sequence[Passage] = (),
    replay_before: float | None = None,
    min_replay_kept: float = 0.5,
    buffer: BufferView | None = None,
) -> GateResult:
    """``replay_before``: the replay sample's recall probe on the previous version; the new version
    must keep at least ``min_replay_kept`` of it (old memories not overwritten by the new)."""
    recall = recall_probe(lm, new)
    kept = general_kept(lm, buffer)
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
