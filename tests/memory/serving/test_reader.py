"""The prior's reader: where a prior has one, notes are read with it (default chat, closed-book's
read step, eval), before any sleep and beside a memory after one; a question with no notes is
answered by the plain model as before; the reader is never saved into a memory version."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from sleepd.memory.prior import READER_PART, RECORD
from sleepd.models.identity import model_slug
from sleepd.storage import Config, NewPassage, Store
from tests.tiny_models import save_random_adapter

NOTE = "Auntie Fen is allergic to shellfish, so no prawns on Sunday."
QUESTION = "Who is allergic to shellfish?"


def _random_reader(config: Config) -> Path:
    """A prior for the tiny model with a reader whose adapter is not the identity (random B)."""
    prior = config.paths.data_dir / "priors" / model_slug(config.model.name_or_path)
    save_random_adapter(config, prior / READER_PART, seed=1, scale=0.5)
    (prior / RECORD).write_text(json.dumps({"name": "tiny-prior", "parts": {READER_PART: "reads"}}))
    return prior


def _answers(config: Config) -> tuple[str, str, object]:
    """(the answer reading the note, the answer with no note, the served model)."""
    from sleepd.memory.served import load_with_memory
    from sleepd.memory.serving.generate import GenerationConfig
    from sleepd.memory.serving.recall import read_notes

    lm, _version = load_with_memory(config)
    gen = GenerationConfig(max_new_tokens=12, temperature=0.0, repetition_penalty=1.0)
    return read_notes(lm, QUESTION, [NOTE], gen), read_notes(lm, QUESTION, [], gen), lm


def test_notes_are_read_with_the_reader_and_general_chat_is_unchanged(tiny_config: Config) -> None:
    plain_read, plain_general, plain = _answers(tiny_config)
    assert getattr(plain, "reader", None) is None
    _random_reader(tiny_config)
    read, general, lm = _answers(tiny_config)
    assert lm.reader is not None  # type: ignore[attr-defined]
    from sleepd.memory.serving.recall import reading_adapter

    assert reading_adapter(lm, QUESTION, [NOTE]) == lm.reader  # type: ignore[attr-defined]
    assert reading_adapter(lm, QUESTION, []) is False
    assert reading_adapter(lm, "What is the capital of France?", [NOTE]) is False  # not about it
    assert read != plain_read  # the notes went through the reader
    assert general == plain_general  # no notes: the plain model, as before
    from sleepd.memory.prior import prior_status

    assert "tiny-prior + reader" in prior_status(tiny_config)  # `sleepd status` names it


def test_after_a_sleep_the_reader_sits_beside_the_memory_and_is_not_saved(
    tiny_config: Config, tiny_store: Store
) -> None:
    from sleepd.memory.served import READER_ADAPTER
    from sleepd.memory.sleeping.pipeline import run_sleep
    from sleepd.memory.versions import memory_of

    _random_reader(tiny_config)
    sid = tiny_store.upsert_source("/notes/family.md")
    tiny_store.add_passages(sid, [NewPassage(NOTE, 14)])
    run_sleep(tiny_config, tiny_store)  # its gate reads through the reader
    version_dir = memory_of(tiny_config).path_of(1)
    assert not (version_dir / READER_ADAPTER).exists()  # the memory alone was saved
    read, general, lm = _answers(tiny_config)
    assert lm.reader == READER_ADAPTER  # type: ignore[attr-defined]
    assert lm.model.active_adapter == "default"  # type: ignore[attr-defined]  # the memory served
    assert isinstance(read, str) and isinstance(general, str)


def test_where_the_reader_finds_nothing_in_its_notes_the_plain_model_answers() -> None:
    from sleepd.memory.serving.recall import NOT_IN_NOTES, unless_abstained

    def plain() -> Iterator[str]:
        return iter(["Paris", "."])

    abstained = iter(["The", " notes", " do", " not", " say", "."])
    assert "".join(unless_abstained(abstained, plain)) == "Paris."  # none of the sentence shown
    assert "".join(unless_abstained(iter(["The", " Nile"]), plain)) == "The Nile"
    assert "".join(unless_abstained(iter(["The"]), plain)) == "The"  # a prefix that ended
    assert "".join(unless_abstained(iter([" 3 March"]), plain)) == " 3 March"
    assert NOT_IN_NOTES.startswith("The")

    closed: list[bool] = []

    def reading() -> Iterator[str]:
        try:
            yield from ["Paris", " is", " the capital"]
        finally:
            closed.append(True)

    answer = unless_abstained(reading(), plain)
    assert next(answer) == "Paris"
    answer.close()  # the client left: the reading generation is stopped with it
    assert closed == [True]
