"""What default chat reads after a sleep: the buffer's own prompt unless the weights recite a note
that covers the question better than every note the search found (so a sleep can only add)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sleepd.memory.facts import WordSignal, coverage
from sleepd.memory.serving.recall import Candidate, choose_recitation, ground, notes_to_read, reading_messages

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


def _words(text: str) -> int:
    return len(text.split())


def test_past_the_cap_chat_reads_the_sentences_that_cover_the_question(signal: WordSignal) -> None:
    from sleepd.memory.serving.excerpt import GAP, excerpts

    harbour = f"# Harbour\n{CLUSTER} {KEYS} The cafe opens at seven. {FERRIES} Tickets are sold on board."
    assert excerpts(QUESTION, [harbour], 200, signal, _words) == [harbour]  # under the cap: whole
    assert excerpts(QUESTION, [harbour], 0, signal, _words) == [harbour]  # 0: no cap
    [read] = excerpts(QUESTION, [harbour], 18, signal, _words)
    # the heading, the sentence that answers, and the one after it; gaps marked, order kept
    assert read == f"# Harbour\n{FERRIES} Tickets are sold on board."
    [read] = excerpts(QUESTION, [harbour], 14, signal, _words)
    assert read == f"# Harbour\n{FERRIES}"
    two = excerpts(
        "Who keeps the harbour office keys, and which pier for Quill Island?", [harbour], 26, signal, _words
    )
    assert two == [f"# Harbour\n{KEYS}{GAP}{FERRIES}"]


def test_lines_stay_lines_and_the_item_after_a_list_item_is_not_read_with_it(signal: WordSignal) -> None:
    from sleepd.memory.serving.excerpt import excerpts

    lines = [
        "# Home network",
        "The router is in the hall cupboard, under the shelf with the torches.",
        "- Wifi network: larkspur-5g",
        "- Wifi password: copper-heron-17",
        "- Router admin page: 192.168.1.1, login on the sticker underneath",
    ]
    question = "What is the wifi password?"
    # room for the router's line too (20 words of 24), but it is the next item, not the rest of one
    [read] = excerpts(question, ["\n".join(lines)], 24, signal, _words)
    assert read == "# Home network\n- Wifi network: larkspur-5g\n- Wifi password: copper-heron-17"
    # the same lines without bullets: the line after the password's is read after it, on its own line
    plain = "\n".join(line.removeprefix("- ") for line in lines)
    [read] = excerpts(question, [plain], 24, signal, _words)
    assert read.endswith(
        "Wifi password: copper-heron-17\nRouter admin page: 192.168.1.1, login on the sticker underneath"
    )


def test_a_word_on_every_line_counts_less_and_a_long_sentence_is_cut_around_the_question(
    signal: WordSignal,
) -> None:
    from sleepd.memory.serving.excerpt import excerpts

    chat = "\n".join(
        [
            "Mara Quist: the bakery on Elm Row closes early on Sundays",
            "Mara Quist: my sister visits in June",
            "Jonas Brandt: the ferry to Quill Island leaves from pier 4",
            "Mara Quist: I painted the kitchen green last week",
        ]
    )
    # "Mara Quist" is on three lines, "ferry"/"Quill" on one: the ferry line wins for a question
    # that names Mara and the ferry
    [read] = excerpts(
        "Did Mara Quist ask which pier the ferry to Quill Island uses?", [chat], 12, signal, _words
    )
    assert read.startswith("Jonas Brandt: the ferry to Quill Island leaves from pier 4")
    long = "word " * 60 + "the ferries to Quill Island leave from pier 4 " + "word " * 60
    [cut] = excerpts(QUESTION, [long.strip()], 12, signal, _words)
    assert "Quill" in cut and _words(cut) <= 12
    # notes the cap leaves no room in are dropped; with nothing in common the best note's start is read
    other = "The cellar holds forty bottles of cider. " * 3
    assert excerpts(QUESTION, [f"{FERRIES}\n{KEYS}", other], 12, signal, _words) == [FERRIES]
    assert excerpts("What colour is the moon?", [other.strip(), FERRIES], 7, signal, _words) == [
        "The cellar holds forty bottles of cider."
    ]


def test_the_writer_picks_the_note_and_the_memory_picks_its_values() -> None:
    # Beams of one note whose values the memory blended with a neighbour's: the writer scores them
    # alike (the question does not hold the value), the memory is surer of the one it read.
    blend = Candidate(2.46, -0.044, "Server brimstone: runs Debian 12, has 256 GB of RAM.", "q")
    right = Candidate(2.45, -0.020, "Server brimstone: runs Ubuntu 24.04, has 32 GB of RAM.", "q")
    # sure, but off the question
    other_note = Candidate(0.30, -0.001, "The Lantern Hare is moored in Lerwick.", "q")
    assert choose_recitation([blend, right, other_note]) is right
    assert choose_recitation([blend, other_note]) is blend
    assert choose_recitation([blend, right], weight=0.0) is blend  # the writer's gain alone
    # No candidate makes the question likelier than no note: nothing is read, however sure.
    assert choose_recitation([Candidate(0.0, -0.01, "a", "q"), Candidate(-1.2, -0.001, "b", "q")]) is None
