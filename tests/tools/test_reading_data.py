"""The reading prior's training data: answers in the notes' own words, "not in the notes" only where
they do not hold the answer, chat lines rendered as sleepd renders them, and no benchmark text."""

from __future__ import annotations

from pathlib import Path

import pytest

from sleepd.tools.reading_data import NOT_IN_NOTES, detokenize, reading_groups, said

SHARED = Path(__file__).resolve().parents[3] / "shared"
SOME = {"squad-train": 3000, "friendsqa": 800, "molweni": 800, "covidqa": 300, "own-notes": 300}


def test_corpus_text_reads_as_people_write_it() -> None:
    assert (
        detokenize("I do n't know , Ross . We 're gon na be late !")
        == "I don't know, Ross. We're gonna be late!"
    )
    assert said("Caroline", "Hi.", None) == "Caroline said: Hi."


def test_examples_answer_from_their_notes_and_hold_no_benchmark_text() -> None:
    if not (SHARED / "corpus" / "reading").is_dir():
        pytest.skip("no shared/corpus beside this checkout")
    from sleepd.tools.prior_train import bench_overlap

    groups = reading_groups(SHARED, SOME, seed=1)
    examples = [e for g in groups for e in g.examples()]
    assert sum(len(g.questions) for g in groups) / len(groups) > 2  # a note is read once for several
    assert {e.corpus for e in examples} == set(SOME)
    unanswerable = [e for e in examples if e.answer == NOT_IN_NOTES]
    assert 0.03 < len(unanswerable) / len(examples) < 0.2
    for e in examples:
        text = "\n".join(e.notes)
        if e.answer != NOT_IN_NOTES:
            assert e.answer in text, (e.corpus, e.answer)  # the words as written
    chats = [e for e in examples if e.corpus in ("friendsqa", "molweni", "own-notes")]
    assert any(" said: " in e.notes[0] and e.notes[0].startswith("On ") for e in chats)
    assert bench_overlap([t for e in examples for t in (*e.notes, e.question)], SHARED) == []
