"""The gate a new memory version must pass before it is served.

- recall probe: for a sample of the new passages, the adapted model is asked to recite each by its
  first key; a recitation counts when it holds at least half of the passage's names and numbers.
  (Reported, and a floor in config: a sleep that learned nothing is not worth switching to.)
- intrusion: general questions go through the same closed-book path as chat; the share for which
  the memory injects a recitation is the drift of general ability (reading runs with the adapter
  off, so a recitation is the only way a memory can change a general answer).
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass

from sleepd.storage import Passage

from .dataset import recall_prompt
from .generate import complete
from .model import LoadedModel
from .recall import RECITE_GEN, recite_for
from .subjects import passage_keys

GENERAL_PROBES = (
    "What is the capital of France?",
    "How many days are in a week?",
    "Who wrote Romeo and Juliet?",
    "What is the largest ocean on Earth?",
    "What gas do plants take in from the air?",
    "How many legs does a spider have?",
    "What is the freezing point of water in Celsius?",
    "Which planet is closest to the Sun?",
)


@dataclass(frozen=True)
class GateResult:
    recall: float
    intrusion: float
    passed: bool
    reason: str


def _facts(text: str) -> set[str]:
    return {w.lower() for w in re.findall(r"\b(?:[A-Z][\w'-]+|\w*\d[\w:.-]*)\b", text)}


def recall_probe(lm: LoadedModel, passages: Sequence[Passage], sample: int = 8, seed: int = 0) -> float:
    probes = [p for p in passages if p.role != "assistant" and passage_keys(p.text, p.source_path)]
    probes = random.Random(seed).sample(probes, min(sample, len(probes)))
    if not probes:
        return 1.0
    ok = 0
    for p in probes:
        key = passage_keys(p.text, p.source_path)[0]
        facts = _facts(p.text)
        recited = _facts(complete(lm, recall_prompt(key), RECITE_GEN))
        ok += bool(facts) and len(facts & recited) >= len(facts) / 2
    return ok / len(probes)


def run_gate(lm: LoadedModel, new: Sequence[Passage], min_recall: float, max_intrusion: float) -> GateResult:
    recall = recall_probe(lm, new)
    intrusion = sum(bool(recite_for(lm, q).recitations) for q in GENERAL_PROBES) / len(GENERAL_PROBES)
    if intrusion > max_intrusion:
        return GateResult(
            recall,
            intrusion,
            False,
            f"general drift: memory intruded on {intrusion:.0%} of general questions",
        )
    if recall < min_recall:
        return GateResult(recall, intrusion, False, f"recall probe {recall:.0%} below {min_recall:.0%}")
    return GateResult(recall, intrusion, True, "ok")
