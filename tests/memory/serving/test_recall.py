"""What default chat reads after a sleep: the buffer's own prompt unless the weights recite a note
that covers the question better than every note the search found (so a sleep can only add)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sleepd.memory.facts import WordSignal, coverage
from sleepd.memory.serving.recall import ground, notes_to_read, reading_messages

QUESTION = "Which pier do the ferries to Quill Island leave from?"
FERRIES = "Ferries to Quill Island leave from pier 4 every two hours."
CLUSTER = "The staging cluster is called mistral-7 and runs the ticket system."
KEYS = "The harbour office keys are kept by Odile Marchetti."


@pytest.fixture(scope="module")
def signal(tiny_model_dir: Path) -> WordSignal:
    from transformers import AutoTokenizer

    return WordSignal(AutoTokenizer.from_pretrained(tiny_model_dir))


def test_the_texts_differ_in_coverage(signal: WordSignal) -> None:
    # the premise of the tests below: the ferries note covers the question, the others barely
    assert coverage(QUESTION, FERRIES, signal) > coverage(QUESTION, CLUSTER, signal)
    assert coverage(QUESTION, FERRIES, signal) > coverage(QUESTION, KEYS, signal)


def test_a_recitation_of_what_the_search_already_found_leaves_the_buffer_prompt(signal: WordSignal) -> None:
    notes = [FERRIES, KEYS]
    # the same fact in other words (not word for word inside the note, so a rule that only drops
    # exact repeats would add it and change the prompt chat had before the sleep)
    recited = ["The Quill Island ferries leave the harbour from pier 4."]
    read = notes_to_read(QUESTION, recited, notes, signal)
    assert read == notes
    assert reading_messages(QUESTION, read) == reading_messages(QUESTION, notes)  # before the sleep


def test_a_recitation_the_search_missed_is_read_first(signal: WordSignal) -> None:
    notes = [CLUSTER, KEYS]  # the search found the wrong notes
    assert notes_to_read(QUESTION, [FERRIES], notes, signal) == [FERRIES, CLUSTER, KEYS]


def test_closed_book_reads_the_recitation_once(signal: WordSignal) -> None:
    assert notes_to_read(QUESTION, [FERRIES, FERRIES], [], signal) == [FERRIES]
    assert notes_to_read(QUESTION, [], [], signal) == []


def test_a_recitation_is_grounded_in_the_note_it_recites(signal: WordSignal) -> None:
    note = "Home wifi: the network is Larkspur-5G and the password is TeaPot-4471."
    other = "The boiler is serviced every October by Brennan Heating."
    recited = "home wifi: the network is larkspur-5g and the password is teapot-4471"  # re-cased
    search_calls: list[str] = []

    def search(text: str) -> list[str]:
        search_calls.append(text)
        return [other, note]

    assert ground(recited, search, signal) == note  # the stored words, not the model's
    assert search_calls == [recited]  # looked up by the recitation's own words
    invented = "Romeo and Juliet was written by Christopher Marlowe in 1601."
    assert ground(invented, search, signal) is None  # no note holds it: not read
    assert ground(recited, lambda _t: [], signal) is None
