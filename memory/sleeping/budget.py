"""A sleep's time budget (``sleep.max_minutes``): which new passages one night can learn.

New passages are taken in ``Store.sleep_order`` (deferred before, edited files, newest) while the
training they bring fits the time left; the rest are deferred — left pending with their reason,
answered from the buffer meanwhile, first in the next sleep. The cost of a passage is its examples'
tokens times the epochs, times what rides along with each new passage (replay, when there is a
history to replay, and rehearsal, by their ratios), at the training rate of the last sleep (or
``DEFAULT_TOKENS_PER_S`` before any), plus the time the prior's question writer takes per fact (a
plan that left it out ran past its deadline). Training itself stops at the deadline if the estimate was
short, keeping time for the gate and the write. The estimate errs long (a first sleep assumes the
fp32 rate); the time it leaves is filled by another round (``rounds.py``) planned at the measured rate.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sleepd.memory.versions import VersionStore
from sleepd.storage.config import SleepConfig

# Before any sleep has measured them: fp32 LoRA and the prior's writer on the bundled model, 2
# cores (docs/decisions.md, "sleep budget").
DEFAULT_TOKENS_PER_S = 150.0
DEFAULT_WRITE_S_PER_FACT = 3.0


@dataclass(frozen=True)
class SleepBudget:
    deadline: float  # time.monotonic() by which the whole sleep should be over
    reserve_s: float  # kept at the end for the gate and writing the version
    tokens_per_s: float  # training rate the plan assumes
    cost_factor: float  # training tokens per token of a new passage's examples
    minutes: float
    night_minutes: float  # a whole sleep's budget (a later round's own budget is what was left)
    write_s_per_fact: float = 0.0  # the prior's question writer; 0 without one

    @classmethod
    def start(
        cls,
        cfg: SleepConfig,
        started: float,
        tokens_per_s: float,
        *,
        has_history: bool = True,
        night_minutes: float | None = None,
        write_s_per_fact: float = 0.0,
    ) -> SleepBudget | None:
        """The budget of a sleep that began at ``started`` (monotonic); None without one.
        ``has_history``: consolidated passages exist, so replay rides along with the new ones;
        ``night_minutes``: the whole night's budget when this is a later round of one;
        ``write_s_per_fact``: seconds the prior's writer takes per new fact (0 without a writer)."""
        if cfg.max_minutes <= 0:
            return None
        seconds = cfg.max_minutes * 60
        factor = cfg.epochs * (1 + (cfg.replay_ratio if has_history else 0.0) + cfg.general_ratio)
        return cls(
            started + seconds,
            min(120.0, 0.05 * seconds),
            tokens_per_s,
            factor,
            cfg.max_minutes,
            night_minutes or cfg.max_minutes,
            write_s_per_fact,
        )

    @property
    def train_deadline(self) -> float:
        return self.deadline - self.reserve_s

    def train_deadline_after_probes(self, probe_s: float) -> float:
        """When training must end: the gate runs the recall probes again (on the new and replayed
        passages) and the general probes, so it is kept about 2.5x what the probes took before."""
        return self.deadline - max(self.reserve_s, 2.5 * probe_s)

    def fits(self, example_tokens: int, now: float | None = None, facts: int = 0) -> bool:
        """Whether writing questions for ``facts`` and training on ``example_tokens`` (their share
        of replay and rehearsal included) still end before the training deadline."""
        now = time.monotonic() if now is None else now
        train_s = example_tokens * self.cost_factor / self.tokens_per_s
        return now + facts * self.write_s_per_fact + train_s <= self.train_deadline

    def nights_for(self, example_tokens: int) -> int:
        """Whole sleeps of this budget that ``example_tokens`` of deferred passages still need."""
        seconds = self.night_minutes * 60
        night = max(1.0, (seconds - min(120.0, 0.05 * seconds)) * self.tokens_per_s / self.cost_factor)
        return math.ceil(example_tokens / night) if example_tokens else 0

    def reason(self) -> str:
        return f"the sleep's budget ({self.night_minutes:g} min) was spent; first in the next sleep"


def _last_rate(versions: VersionStore, rate: Callable[[dict[str, Any]], float], default: float) -> float:
    """``rate`` of the current version's meta, else ``default`` (no version yet, or an older
    version's meta without the figures)."""
    current = versions.current()
    if current is None:
        return default
    try:
        return rate(versions.info(current).meta)
    except (OSError, KeyError, TypeError, ValueError, ZeroDivisionError):
        return default


def last_writing_rate(versions: VersionStore) -> float:
    """Seconds the prior's writer took per newly written fact in the current version's sleep."""

    def rate(meta: dict[str, Any]) -> float:
        return float(meta["question_writing"]["seconds"]) / float(meta["question_writing"]["newly_written"])

    return _last_rate(versions, rate, DEFAULT_WRITE_S_PER_FACT)


def last_training_rate(versions: VersionStore) -> float:
    """Training tokens per second of the current version's sleep."""

    def rate(meta: dict[str, Any]) -> float:
        return float(meta["train_tokens"]) / float(meta["train_seconds"])

    return _last_rate(versions, rate, DEFAULT_TOKENS_PER_S)
