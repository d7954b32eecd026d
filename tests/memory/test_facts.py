"""Facts, rule-made queries and the word signal they rest on; unlearning and the gate's probes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from sleepd.memory.facts import (
    FACT_WORDS,
    WordSignal,
    cloze_queries,
    coverage,
    keyword_queries,
    passage_facts,
    question_query,
    sentences,
    stem,
)
from sleepd.memory.prompts import NOTHING, recall_prompt
from sleepd.memory.sleeping.dataset import PassageInput, build_examples
from sleepd.memory.sleeping.gate import GENERAL_PROBES
from sleepd.memory.sleeping.rehearsal import unlearn_examples

from ..conftest import SHARED

ARTICLE = (
    "# Harbour Office\n\n"
    "The harbour office opens at 07:30 on weekdays. Its keys are kept by Odile Marchetti, who "
    "took over from Bram Oyelaran in 2019. The staging cluster is called mistral-7 and it runs "
    "the ticket system for the ferries. Ferries to Quill Island leave from pier 4 every two hours, "
    "and the last one waits for the night train from Lyon."
)


@pytest.fixture(scope="module")
def signal(tiny_model_dir: Path) -> WordSignal:
    from transformers import AutoTokenizer

    return WordSignal(AutoTokenizer.from_pretrained(tiny_model_dir))


def test_function_words_come_from_the_tokenizer_not_a_list(signal: WordSignal) -> None:
    for word in ("the", "of", "who", "what", "was", "did", "she", "their", "which"):
        assert not signal.is_content(word), word
    for word in ("staging", "cluster", "dentist", "Rollo", "mistral-7", "Marchetti", "1961"):
        assert signal.is_content(word), word
    assert signal.content_words("What is the staging cluster called?")[:2] == ["staging", "cluster"]


def test_a_paragraph_becomes_facts_under_its_heading() -> None:
    facts = passage_facts(ARTICLE, passage_id=7)
    assert len(facts) >= 2 and {f.passage_id for f in facts} == {7}
    assert {f.title for f in facts} == {"Harbour Office"}
    assert all(len(f.body.split()) <= FACT_WORDS for f in facts)
    body = " ".join(f.body for f in facts)
    assert body == " ".join(ARTICLE.split("\n\n", 1)[1].split())  # nothing lost, nothing added
    assert facts[0].text.startswith("Harbour Office: The harbour office opens")


def test_short_lines_stay_whole_and_a_note_without_heading_has_no_title() -> None:
    chat = "[20/01/2023, 16:05:00] Jon: Lost my job today. Starting a dance studio!\nGina: Wow."
    assert sentences(chat) == [
        "[20/01/2023, 16:05:00] Jon: Lost my job today. Starting a dance studio!",
        "Gina: Wow.",
    ]
    [fact] = passage_facts("dentist appointment tuesday at 3pm")
    assert fact.title == "" and fact.text == "dentist appointment tuesday at 3pm"
    assert passage_facts("- - -\n\n...") == []


def test_queries_are_made_from_the_fact_alone_and_are_stable(signal: WordSignal) -> None:
    fact = passage_facts(ARTICLE)[1]
    words = {w.lower().strip("?") for w in signal.content_words(fact.text)}
    kws = keyword_queries(fact, signal, 3)
    assert len(kws) == 3 and len(set(kws)) == 3
    for q in kws:
        assert q.endswith("?") and set(q.lower().strip("?").split()) <= words
    clozes = cloze_queries(fact, signal, 2)
    assert len(clozes) == 2 and all(" what" in q or q.startswith("what") for q in clozes)
    assert keyword_queries(fact, signal, 3) == kws  # same fact, same queries: sleeps are repeatable


def test_examples_recite_each_fact_for_its_queries(signal: WordSignal) -> None:
    passage = PassageInput(3, ARTICLE, "/notes/harbour.md", None)
    examples = build_examples([passage], signal)
    facts = {f.text for f in passage_facts(ARTICLE)}
    assert {e.answer for e in examples} == facts
    assert all(e.prompt.startswith(recall_prompt("")[:9]) and e.passage_id == 3 for e in examples)
    assert build_examples([PassageInput(4, "Got it, noted.", "/chat", "assistant")], signal) == []


def test_a_question_naming_nothing_still_shares_words_with_its_note(signal: WordSignal) -> None:
    staging = "The staging cluster is called mistral-7 and it runs the ticket system."
    assert coverage("What is the staging cluster called?", staging, signal) == 1.0
    assert coverage("What is the capital of Russia?", staging, signal) == 0.0


def test_a_recitation_is_read_only_when_it_covers_the_question(signal: WordSignal) -> None:
    from sleepd.memory.serving.recall import worth_reading

    staging = "Weekly sync: The staging cluster is called mistral-7 and it runs the ticket system."
    q = "What is the staging cluster called?"
    assert question_query(q, signal) == "staging cluster?"  # "is", "the", "called" are common
    assert coverage(q, staging, signal) == 1.0
    assert worth_reading(q, staging, signal)
    assert not worth_reading(q, "Nothing.", signal)  # unlearned
    assert not worth_reading(q, "What is the staging cluster called?", signal)  # an echo adds nothing
    assert not worth_reading("What is the capital of Russia?", staging, signal)  # free association
    # a note that names one of two things asked about is about something else: the general question
    # "capital of France?" must not be read against a history note that mentions France
    normans = "Normans: The Normans gave their name to Normandy, a region in France."
    assert not worth_reading("What is the capital of France?", normans, signal)


def test_unlearning_keeps_facts_a_live_passage_still_holds(signal: WordSignal) -> None:
    kept = "Ferries to Quill Island leave from pier 4."
    gone = PassageInput(1, f"The harbour office opens at 07:30.\n\n{kept}", "/a.md", None)
    examples = unlearn_examples([gone], [PassageInput(2, kept, "/b.md", None)], signal)
    assert examples and {e.answer for e in examples} == {NOTHING}
    held = {stem(w) for w in signal.content_words(kept)}
    queries = [e.prompt.split("\n")[0] for e in examples]
    assert all(
        {stem(w) for w in signal.content_words(q)} - held for q in queries
    )  # none the live note answers
    alone = unlearn_examples([gone], [], signal)
    assert len(alone) > len(examples)  # with no live note, those queries are unlearned too


def test_an_edited_facts_queries_recite_its_later_version(signal: WordSignal) -> None:
    """An edit supersedes a fact: its queries (the old value's among them) recite the new version
    of the same file, not NOTHING, which pulled the question itself to NOTHING too."""
    old = "Garage door keypad code: 4471. The spare car key hangs on the hook inside the garage."
    new = "Garage door keypad code: 9026 (reset after the break-in). The spare car key hangs on the hook."
    gone = PassageInput(1, old, "/car/parking.md", None)
    edited = PassageInput(2, new, "/car/parking.md", None)
    elsewhere = PassageInput(3, new, "/other/file.md", None)
    redirected = unlearn_examples([gone], [edited], signal)
    assert (
        redirected and {e.answer for e in redirected} == {new} and {e.passage_id for e in redirected} == {2}
    )
    assert any("4471" in e.prompt for e in redirected)  # asked with the old value: the new one
    # the same text in another file is not a later version: what it does not hold is unlearned
    assert NOTHING in {e.answer for e in unlearn_examples([gone], [elsewhere], signal)}
    # a fact the edit left without a successor (a removed section) is still unlearned
    removed = PassageInput(
        4, "Bike lock combination: 3318, kept in the blue drawer.", "/car/parking.md", None
    )
    assert {e.answer for e in unlearn_examples([removed], [edited], signal)} == {NOTHING}


QUESTION_WORDS = {"what", "which", "when", "where", "does", "that", "this", "with", "your"}


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", text.lower()) if len(w) >= 4} - QUESTION_WORDS


def test_the_gate_probes_stay_apart_from_the_benchmark_general_probe() -> None:
    """The gate is no paraphrase of what it is judged by: no shared answer, no question sharing
    more than one word of four letters or more with a benchmark question."""
    probe = SHARED / "bench" / "general" / "probe.json"
    if not probe.exists():
        pytest.skip("no benchmark probe beside this checkout")
    bench = [(item["q"], item["a"]) for item in json.loads(probe.read_text())]
    for q, a in GENERAL_PROBES:
        for bq, ba in bench:
            assert a.lower() not in ba.lower() and ba.lower() not in a.lower(), (q, bq)
            assert len(_words(q) & _words(bq)) <= 1, (q, bq)
