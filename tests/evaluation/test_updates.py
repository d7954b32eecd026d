"""The update bench's set and its changes, without a model: every question can be right or wrong."""

from __future__ import annotations

import shutil
from pathlib import Path

from sleepd.evaluation.updates import UpdateSet, apply_changes

SET = Path(__file__).resolve().parents[2] / "bench" / "sets" / "updates"


def test_each_question_names_a_value_its_note_holds_before_and_after_the_change() -> None:
    bench = UpdateSet.load(SET)
    edited = set(bench.edited())
    for uq in bench.questions:
        q = uq.question
        first = (bench.docs / q.source).read_text().lower()
        later = (bench.later / q.source).read_text().lower() if q.source in edited else None
        if uq.kind == "updated":
            assert uq.old and uq.old.lower() in first and q.a.lower() not in first, q.q
            assert later is not None and q.a.lower() in later and uq.old.lower() not in later, q.q
        elif uq.kind == "removed":
            assert q.a.lower() in first and later is not None and q.a.lower() not in later, q.q
        elif uq.kind == "unedited":
            assert q.a.lower() in first and (later is None or q.a.lower() in later), q.q
        else:
            assert uq.kind in ("deleted", "forgotten") and q.a.lower() in first, q.q
            assert q.source in (bench.delete if uq.kind == "deleted" else bench.forget)


def test_changes_rewrite_and_delete_only_the_working_copy(tmp_path: Path) -> None:
    bench = UpdateSet.load(SET)
    work = tmp_path / "notes"
    shutil.copytree(bench.docs, work)
    edited, deleted = apply_changes(bench, work)
    assert sorted(Path(p).relative_to(work).as_posix() for p in edited) == bench.edited()
    assert all(not Path(p).exists() for p in deleted) and len(deleted) == len(bench.delete)
    assert (work / "home" / "network.md").read_text() == (bench.later / "home" / "network.md").read_text()
    assert all((bench.docs / rel).exists() for rel in bench.delete)  # the set itself is untouched
