"""What sleepd rehearses besides the notes: "Nothing." for everyday keys, kept clear of the notes
and of every general-ability probe."""

from __future__ import annotations

import json

import pytest

from sleepd.memory.dataset import PassageInput
from sleepd.memory.gate import GENERAL_PROBES
from sleepd.memory.rehearsal import NOTHING, WORLD_KEYS, unknown_key_examples, unknown_keys
from sleepd.memory.subjects import question_keys

from ..conftest import SHARED


def test_unknown_keys_skip_every_key_a_passage_holds() -> None:
    held = ["Norway", "Cairo", "Peru"]
    live = [PassageInput(i, f"A trip to {k} in May.", "notes/trip.md", None) for i, k in enumerate(held)]
    keys = unknown_keys(len(WORLD_KEYS), live)
    assert keys and not {k.lower() for k in keys} & {h.lower() for h in held}
    assert len(keys) == len(WORLD_KEYS) - 3
    assert unknown_keys(5, live, seed=1) == unknown_keys(5, live, seed=1)


def test_unknown_key_examples_answer_nothing_in_every_phrasing() -> None:
    keys = ["Peru", "chess", "Saturn"]
    examples = unknown_key_examples(keys)
    assert [e.answer for e in examples] == [NOTHING] * 3
    assert len({e.prompt.replace(k, "") for e, k in zip(examples, keys, strict=True)}) == 3
    assert all(e.passage_id is None for e in examples)


def _probe_keys(questions: list[str]) -> set[str]:
    return {k.lower() for q in questions for k in question_keys(q)}


def test_world_keys_stay_apart_from_the_gate_probes() -> None:
    world = {k.lower() for k in WORLD_KEYS}
    assert not world & _probe_keys([q for q, _ in GENERAL_PROBES])


def test_nothing_trained_touches_the_benchmark_general_probe() -> None:
    probe = SHARED / "bench" / "general" / "probe.json"
    if not probe.exists():
        pytest.skip("no benchmark probe beside this checkout")
    questions = [item["q"] for item in json.loads(probe.read_text())]
    world = {k.lower() for k in WORLD_KEYS}
    assert not world & _probe_keys(questions)
    assert not {q for q, _ in GENERAL_PROBES} & set(questions)
