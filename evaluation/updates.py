"""Edits, deletions and `memory forget`, measured: does memory stay true when notes change?

A set holds ``docs/`` (the first version of each note), ``later/`` (later versions of some of them,
same relative paths), ``changes.json`` (``delete``: notes removed from disk; ``forget``: notes the
person asks sleepd to forget) and ``questions.json``, whose questions have a ``kind``:

- ``updated``: ``a`` is the value after the edit, ``old`` the value before it;
- ``removed``: a line the edit took out (its answer must stop being recited);
- ``deleted`` / ``forgotten``: about a note that is deleted / forgotten;
- ``unedited``: about text no change touches (the recall an edited note is measured against).

The run, in a throwaway SLEEPD_HOME on a copy of the docs: ingest, sleep, measure; apply every
change (edit the files, delete, forget) as the watcher and the CLI would; ask default chat at once
(the buffer holds the new text, the weights still the old); sleep; measure closed-book again.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sleepd.memory.prompts import hit
from sleepd.storage import Config, Store, open_engine

from .questions import Question, closed_book, share
from .run import Log, default_chat, throwaway_config


@dataclass(frozen=True)
class UpdateQuestion:
    question: Question
    old: str | None  # the superseded value (``updated`` questions only)

    @property
    def kind(self) -> str:
        return self.question.kind


@dataclass(frozen=True)
class UpdateSet:
    docs: Path
    later: Path
    delete: tuple[str, ...]
    forget: tuple[str, ...]
    questions: tuple[UpdateQuestion, ...]

    @classmethod
    def load(cls, root: Path) -> UpdateSet:
        changes = json.loads((root / "changes.json").read_text())
        raw = json.loads((root / "questions.json").read_text())
        questions = tuple(
            UpdateQuestion(Question(r["q"], str(r["a"]), r["source"], r["kind"]), r.get("old")) for r in raw
        )
        return cls(
            root / "docs",
            root / changes.get("later", "later"),
            tuple(changes.get("delete", ())),
            tuple(changes.get("forget", ())),
            questions,
        )

    def of_kind(self, *kinds: str) -> list[UpdateQuestion]:
        return [q for q in self.questions if q.kind in kinds]

    def edited(self) -> list[str]:
        """The notes ``later/`` rewrites, relative to docs."""
        return sorted(str(p.relative_to(self.later)) for p in self.later.rglob("*") if p.is_file())


def apply_changes(bench: UpdateSet, work: Path) -> tuple[list[str], list[str]]:
    """Rewrite the edited notes in the working copy ``work`` and delete the deleted ones.
    Returns (edited paths, deleted paths), absolute, for the ingestor."""
    edited = []
    for rel in bench.edited():
        target = work / rel
        target.write_text((bench.later / rel).read_text())
        edited.append(str(target))
    deleted = []
    for rel in bench.delete:
        (work / rel).unlink()
        deleted.append(str(work / rel))
    return edited, deleted


def _answers(lm: Any, qs: Sequence[UpdateQuestion], **kw: Any) -> tuple[list[str], list[dict[str, Any]]]:
    """Each question's answer and recitations, as one text to look the gold or old value up in."""
    trace: list[dict[str, Any]] = []
    closed_book(lm, [q.question for q in qs], trace=trace, **kw)
    texts = [" ".join([t["answer"], *(text for _q, text in t["kept"])]) for t in trace]
    return texts, trace


def _share_holding(texts: Sequence[str], values: Sequence[str | None]) -> float:
    return share([v is not None and hit(t, v) for t, v in zip(texts, values, strict=True)])


def run_updates(base_config: Config, bench: UpdateSet, log: Log = lambda _m: None) -> dict[str, Any]:
    from sleepd.ingest.ingestor import make_ingestor
    from sleepd.memory.served import load_with_memory
    from sleepd.memory.sleeping.pipeline import run_sleep
    from sleepd.models.tokens import load_token_counter

    root = Path(tempfile.mkdtemp(prefix="sleepd-updates-"))
    config = throwaway_config(base_config, root)
    work = root / "notes"
    shutil.copytree(bench.docs, work)
    store = Store(open_engine(config))
    ingestor = make_ingestor(store, config, load_token_counter(config))
    for f in sorted(p for p in work.rglob("*") if p.is_file()):
        ingestor.ingest_file(str(f))
    new_tokens = sum(p.token_count for p in store.passages(status="pending"))

    updated = bench.of_kind("updated")
    gone = bench.of_kind("removed", "deleted", "forgotten")
    unedited = bench.of_kind("unedited")
    every = updated + gone + unedited
    sleeps: list[float] = []

    def sleep(label: str) -> tuple[Any, Any]:
        log(f"sleep ({label}) ...")
        t0 = time.perf_counter()
        run_sleep(config, store)
        sleeps.append(time.perf_counter() - t0)
        return load_with_memory(config)

    lm, _v = sleep("first versions")
    before_texts, _ = _answers(lm, every)
    first = dict(zip([q.question.q for q in every], before_texts, strict=True))
    old_values = [q.old if q.kind == "updated" else q.question.a for q in every]
    learned = {q.question.q: hit(t, v or "") for q, t, v in zip(every, before_texts, old_values, strict=True)}

    log("edits, deletions, forget ...")
    edited, deleted = apply_changes(bench, work)
    for path in edited + deleted:
        ingestor.ingest_file(path)
    for rel in bench.forget:
        store.forget_source(str(work / rel))
    new_tokens += sum(p.token_count for p in store.passages(status="pending"))

    log("default chat right after the edit ...")
    chat_texts, chat_trace = _answers(lm, updated, **default_chat(store, config))
    chat_new = _share_holding(chat_texts, [q.question.a for q in updated])
    chat_old = _share_holding(chat_texts, [q.old for q in updated])

    lm, _v = sleep("after the changes")
    texts, trace = _answers(lm, every)
    after = dict(zip([q.question.q for q in every], texts, strict=True))

    def rate(qs: Sequence[UpdateQuestion], table: dict[str, str], old: bool = False) -> float:
        """Share of ``qs`` whose text in ``table`` holds the answer (``old``: the superseded one)."""
        vals = [q.old if old else q.question.a for q in qs]
        return _share_holding([table[q.question.q] for q in qs], vals)

    unedited_recall = rate(unedited, after)
    closed_new = rate(updated, after)
    by_kind_gone = {k: rate(bench.of_kind(k), after) for k in ("removed", "deleted", "forgotten")}
    return {
        "questions": len(every),
        "new_tokens": new_tokens,
        "sleep_seconds": sleeps,
        "learned_before_changes": {
            k: share([learned[q.question.q] for q in bench.of_kind(k)])
            for k in ("updated", "removed", "deleted", "forgotten", "unedited")
        },
        "unedited_before": rate(unedited, first),
        "chat_new_after_edit": chat_new,
        "chat_old_after_edit": chat_old,
        "closed_new_after_sleep": closed_new,
        "closed_old_after_sleep": rate(updated, after, old=True),
        "unedited_after_sleep": unedited_recall,
        "new_vs_unedited": closed_new / unedited_recall if unedited_recall else None,
        "recited_after_sleep": by_kind_gone,
        "trace": {"chat_after_edit": chat_trace, "after_sleep": trace},
        "home": str(root),
    }
