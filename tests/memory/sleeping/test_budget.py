"""A sleep's time budget (sleep.max_minutes), on the tiny model and a real SQLite store: the new
passages that do not fit are deferred with their reason and answerable from the buffer, go first in
the next sleep, and the sleep ends within 10% of its budget."""

from __future__ import annotations

import dataclasses
import time

from sleepd.memory.sleeping.budget import SleepBudget
from sleepd.memory.sleeping.pipeline import run_sleep
from sleepd.memory.versions import memory_of
from sleepd.storage import Config, NewPassage, Store

BUDGET_MIN = 0.5  # 30 s: a few passages' training at the assumed rate before any sleep


def _notes(store: Store, n: int, path: str = "/notes/vault.md") -> list[int]:
    sid = store.upsert_source(path)
    texts = [
        f"Locker {i} on deck {i % 7} holds the spare rope of boat Kestrel-{i}. Owner: Ines." for i in range(n)
    ]
    return store.add_passages(sid, [NewPassage(t, 24) for t in texts])


def _budgeted(config: Config, minutes: float = BUDGET_MIN) -> Config:
    return dataclasses.replace(config, sleep=dataclasses.replace(config.sleep, max_minutes=minutes))


def test_what_does_not_fit_is_deferred_then_goes_first(tiny_config: Config, tiny_store: Store) -> None:
    ids = _notes(tiny_store, 40)
    config = _budgeted(tiny_config)
    t0 = time.perf_counter()
    first = run_sleep(config, tiny_store)
    took = time.perf_counter() - t0
    assert took <= BUDGET_MIN * 60 * 1.1, took
    assert 0 < first.new_passages < 40 and first.deferred_passages == 40 - first.new_passages
    meta = memory_of(config).info(first.version).meta
    assert meta["nights_left"] >= 1 and len(meta["deferred_passages"]) == first.deferred_passages
    counts = tiny_store.counts()["passages"]
    assert (counts["pending"], counts["deferred"]) == (first.deferred_passages, first.deferred_passages)
    deferred = [p for p in tiny_store.passages(status="pending")]
    assert deferred and {p.id for p in deferred} == set(meta["deferred_passages"])
    # still answerable from the buffer meanwhile
    hit = tiny_store.search(deferred[-1].text, k=1)[0]
    assert hit.passage.id == deferred[-1].id and hit.passage.status == "pending"

    fresh = _notes(tiny_store, 3, "/notes/new.md")  # newer than the deferred ones, but they wait longer
    order = tiny_store.sleep_order()
    assert order[: len(deferred)] == [i for i in ids if i in {p.id for p in deferred}]
    assert set(order[len(deferred) :]) == set(fresh)
    second = run_sleep(config, tiny_store)
    learned = set(memory_of(config).info(second.version).meta["passages"])
    assert learned <= {p.id for p in deferred} or {p.id for p in deferred} <= learned


def test_without_a_budget_everything_is_learned(tiny_config: Config, tiny_store: Store) -> None:
    _notes(tiny_store, 12)
    result = run_sleep(_budgeted(tiny_config, 0), tiny_store)
    assert (result.new_passages, result.deferred_passages) == (12, 0)
    assert tiny_store.counts()["passages"]["deferred"] == 0


def test_edited_files_and_newer_notes_come_first(store: Store) -> None:
    old = store.upsert_source("/notes/old.md", mtime=1_000.0)
    [a] = store.add_passages(old, [NewPassage("an old note", 3)])
    new = store.upsert_source("/notes/new.md", mtime=2_000_000_000.0)
    [n] = store.add_passages(new, [NewPassage("a new note", 3)])
    edited = store.upsert_source("/notes/edited.md")
    [b] = store.add_passages(edited, [NewPassage("before the edit", 3)])
    store.record_version(1, "m", "/v/1", None, [b], {}, [])  # consolidated once: an edit follows
    [c] = store.add_passages(edited, [NewPassage("after the edit", 3)])
    assert store.sleep_order() == [c, n, a]  # the edit, then the newest file, then the old one
    store.defer_passages({a: "budget"})
    assert store.sleep_order() == [a, c, n]  # deferred once: first next time


def test_the_budget_plan_and_the_training_deadline() -> None:
    from sleepd.storage.config import SleepConfig

    cfg = SleepConfig(max_minutes=10, epochs=2, replay_ratio=1.0, general_ratio=0.0)
    budget = SleepBudget.start(cfg, started=0.0, tokens_per_s=100.0)
    assert budget is not None and budget.train_deadline == 600 - 30  # 5% kept for the gate and write
    # 2 epochs x (1 + 1 replay) = 4 training tokens per example token, at 100 tokens/s
    assert budget.fits(14_250, now=0.0) and not budget.fits(14_300, now=0.0)
    assert budget.nights_for(0) == 0 and budget.nights_for(14_250) == 1 and budget.nights_for(30_000) == 3
    assert SleepBudget.start(SleepConfig(max_minutes=0), 0.0, 100.0) is None
    # with the prior's question writer, its seconds per new fact come out of the same time
    writing = SleepBudget.start(cfg, started=0.0, tokens_per_s=100.0, write_s_per_fact=3.0)
    assert writing is not None and writing.fits(14_250, now=0.0) and not writing.fits(14_250, 0.0, facts=10)
    assert writing.fits(11_250, 0.0, facts=40) and not writing.fits(11_250, 0.0, facts=41)


def test_training_ends_normally_at_its_deadline(tiny_config: Config) -> None:
    import random

    from sleepd.memory.sleeping.dataset import Tokenized
    from sleepd.memory.sleeping.train import TrainConfig, add_lora, train_lora
    from sleepd.models.model import load_model

    rng = random.Random(0)
    examples = [
        Tokenized(ids := [rng.randint(10, 4000) for _ in range(20)], [-100] * 3 + ids[3:]) for _ in range(40)
    ]
    model = add_lora(load_model(tiny_config).model, None, TrainConfig(rank=4, alpha=4))
    stats = train_lora(
        model, examples, TrainConfig(rank=4, alpha=4, epochs=50), deadline=time.monotonic() + 1.0
    )
    assert stats.cut and stats.steps > 0 and len(stats.losses) == stats.steps
    full = train_lora(
        model, examples[:4], TrainConfig(rank=4, alpha=4, epochs=1), deadline=time.monotonic() + 60
    )
    assert not full.cut


def _first_plan_short(config: Config, *args, **kwargs):  # type: ignore[no-untyped-def]
    """Round 1 as a plan that erred long: it is given 0.3 of the 1.5 min, so what is left holds a
    second round on any machine (the rounds' overhead on the tiny model is ~15-30 s, mostly probes)."""
    return run_sleep(_budgeted(config, 0.3), *args, **kwargs)


def test_time_the_first_plan_left_goes_to_another_round(tiny_config: Config, tiny_store: Store) -> None:
    """A first plan that leaves most of the budget (before any sleep it assumes the fp32 rate): the
    rounds after it plan at the measured rate, replay what came before, and stay in the budget."""
    from sleepd.memory.sleeping.rounds import run_sleep_rounds

    _notes(tiny_store, 60)
    config = _budgeted(tiny_config, 1.5)
    rounds: list[int] = []

    def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
        result = (_first_plan_short if not rounds else run_sleep)(*args, **kwargs)
        rounds.append(result.new_passages)
        return result

    t0 = time.perf_counter()
    result = run_sleep_rounds(config, tiny_store, sleep=counted, min_round_s=5)
    took = time.perf_counter() - t0
    assert took <= 1.5 * 60 * 1.1, took
    assert result.rounds == len(rounds) >= 2 and result.new_passages == sum(rounds) > rounds[0]
    versions = memory_of(config)
    meta = versions.info(result.version).meta
    assert meta["parent"] is not None and meta["replay_passages"]  # on top of the round before
    counts = tiny_store.counts()["passages"]
    assert counts["consolidated"] == result.new_passages
    assert counts["pending"] == result.deferred_passages == 60 - result.new_passages


def test_a_failed_later_round_keeps_the_versions_before_it(tiny_config: Config, tiny_store: Store) -> None:
    from sleepd.memory.sleeping.pipeline import GateRejected
    from sleepd.memory.sleeping.rounds import run_sleep_rounds

    _notes(tiny_store, 60)
    config = _budgeted(tiny_config, 1.5)
    calls: list[int] = []

    def second_rejected(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) > 1:
            raise GateRejected("recall probe fell")
        return _first_plan_short(*args, **kwargs)

    result = run_sleep_rounds(config, tiny_store, sleep=second_rejected, min_round_s=5)
    assert len(calls) == 2 and result.rounds == 1
    assert memory_of(config).current() == result.version
    assert tiny_store.counts()["passages"]["consolidated"] == result.new_passages
