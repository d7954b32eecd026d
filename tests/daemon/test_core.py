"""The daemon's idle trigger, on a fake clock: it sleeps after idle_minutes without chat, only with
enough pending passages that teach something, and never while a sleep runs."""

from __future__ import annotations

import dataclasses

import pytest

from sleepd.daemon.core import Daemon
from sleepd.storage import Config, NewPassage


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def idle_daemon(config: Config):  # type: ignore[no-untyped-def]
    sleep = dataclasses.replace(config.sleep, idle_minutes=30, min_pending_passages=3)
    clock = Clock(1_000_000.0)
    daemon = Daemon(dataclasses.replace(config, sleep=sleep), clock=clock)
    daemon.chat.last_chat_at = clock.now
    started: list[str] = []
    daemon.sleep_now = lambda reason="requested": started.append(reason) or True  # type: ignore[method-assign]
    yield daemon, clock, started
    daemon.engine.dispose()


def _pending(daemon: Daemon, n: int) -> list[int]:
    sid = daemon.store.upsert_source(f"/notes/{n}.md")
    return daemon.store.add_passages(sid, [NewPassage(f"note {i} about kestrel-{i}", 5) for i in range(n)])


def test_no_sleep_before_idle_minutes_then_one(idle_daemon) -> None:  # type: ignore[no-untyped-def]
    daemon, clock, started = idle_daemon
    _pending(daemon, 3)
    clock.now += 29 * 60
    daemon.sleep_if_idle()
    assert started == []
    clock.now += 2 * 60
    daemon.sleep_if_idle()
    assert len(started) == 1 and started[0].startswith("idle 31 min, 3 pending")


def test_too_few_pending_or_only_held_ones_start_nothing(idle_daemon) -> None:  # type: ignore[no-untyped-def]
    daemon, clock, started = idle_daemon
    ids = _pending(daemon, 3)
    daemon.store.hold_passages({ids[0]: "no sentence with a content word to train on"})
    clock.now += 60 * 60
    daemon.sleep_if_idle()
    assert started == []  # 3 pending, but one is held: 2 would teach something
    _pending(daemon, 1)
    daemon.sleep_if_idle()
    assert len(started) == 1


def test_a_chat_resets_idleness_and_a_running_sleep_blocks_another(idle_daemon, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    daemon, clock, started = idle_daemon
    _pending(daemon, 5)
    clock.now += 40 * 60
    daemon.chat.last_chat_at = clock.now - 60  # someone chatted a minute ago
    daemon.sleep_if_idle()
    assert started == []
    clock.now += 40 * 60
    monkeypatch.setattr(type(daemon.sleeper), "running", property(lambda _self: True))
    daemon.sleep_if_idle()
    assert started == []
