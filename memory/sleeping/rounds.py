"""A budgeted sleep in rounds: what the first plan left of the night is spent on the deferred passages.

A sleep's plan (``budget.py``) errs long: before any sleep it assumes the fp32 training rate, and
replay and rehearsal make the real cost per passage unknown until trained, so one plan can leave
half the night unused while passages wait (docs/decisions.md, "sleep budget"). So after a
version, while passages are deferred and enough time is left, another sleep runs on the rest of
the budget: it plans at the rate just measured (the new version's), replays what the round
before learned, and writes the next version on top of it. Each round is a whole sleep (its own gate,
its own version), so a round that fails or is stopped leaves the versions before it served.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable

from sleepd.storage import Config, Store
from sleepd.storage.errors import SleepError

from .pipeline import Progress, SleepResult, run_sleep

log = logging.getLogger(__name__)

MIN_ROUND_S = 180.0  # a round shorter than this is mostly loading, probes and the gate


@dataclasses.dataclass(frozen=True)
class RoundsPlan:
    deadline: float  # time.monotonic() by which the whole sleep should be over
    minutes: float
    min_round_s: float = MIN_ROUND_S

    def minutes_left(self, now: float) -> float:
        return max(0.0, (self.deadline - now) / 60)

    def another_round(self, last: SleepResult, now: float) -> bool:
        """Whether the time left holds a round worth its fixed cost: the last round's loading,
        probes, gate and write (its wall time less training) one and a half times, and at least
        min_round_s."""
        if not last.deferred_passages:
            return False
        overhead = max(0.0, last.seconds - last.train_seconds)
        return self.deadline - now >= max(self.min_round_s, 1.5 * overhead)


def run_sleep_rounds(
    config: Config,
    store: Store,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
    *,
    sleep: Callable[..., SleepResult] = run_sleep,
    min_round_s: float = MIN_ROUND_S,
) -> SleepResult:
    """One budgeted sleep (``sleep.max_minutes``), in as many rounds as its time holds; the result
    sums them (the last round's version, layers and deferred count). Without a budget: one round.
    Raises what the first round raises; a later round's failure ends the rounds, logged."""
    cfg = config.sleep
    if cfg.max_minutes <= 0:
        return sleep(config, store, progress, should_stop)
    plan = RoundsPlan(time.monotonic() + cfg.max_minutes * 60, cfg.max_minutes, min_round_s)
    done: list[SleepResult] = []
    round_config = config
    while True:
        n = len(done) + 1
        report = progress if progress is None or n == 1 else _with_round(progress, n)
        try:
            done.append(sleep(round_config, store, report, should_stop, night_minutes=plan.minutes))
        except (SleepError, InterruptedError) as e:
            if not done:
                raise
            log.warning(
                "sleep: round %d ended without a version (%s); version %d stays", n, e, done[-1].version
            )
            break
        except Exception:  # the versions before it are written and served; report those
            if not done:
                raise
            log.exception("sleep: round %d failed; version %d stays", n, done[-1].version)
            break
        now = time.monotonic()
        if not plan.another_round(done[-1], now):
            break
        left = plan.minutes_left(now)
        log.info(
            "sleep: %.1f of %g min left, %d passage(s) deferred: round %d",
            left,
            plan.minutes,
            done[-1].deferred_passages,
            n + 1,
        )
        round_config = dataclasses.replace(config, sleep=dataclasses.replace(cfg, max_minutes=left))
    return merged(done)


def _with_round(progress: Progress, n: int) -> Progress:
    return lambda stage, i, total, extra: progress(stage, i, total, {**extra, "round": n})


def merged(rounds: list[SleepResult]) -> SleepResult:
    """The rounds of one sleep as one result: counts and times summed, the last version's layers
    and what is still deferred."""
    last = rounds[-1]
    if len(rounds) == 1:
        return last
    return dataclasses.replace(
        last,
        new_passages=sum(r.new_passages for r in rounds),
        replay_passages=sum(r.replay_passages for r in rounds),
        examples=sum(r.examples for r in rounds),
        train_tokens=sum(r.train_tokens for r in rounds),
        train_seconds=sum(r.train_seconds for r in rounds),
        losses=[x for r in rounds for x in r.losses],
        seconds=sum(r.seconds for r in rounds),
        forgotten_passages=sum(r.forgotten_passages for r in rounds),
        new_tokens=sum(r.new_tokens for r in rounds),
        held_passages=sum(r.held_passages for r in rounds),
        rounds=len(rounds),
    )
