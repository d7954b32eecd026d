"""The loop detector: a repeated block ends a generation; ordinary text does not."""

from __future__ import annotations

import random

from sleepd.models.repetition import MIN_SPAN, is_looping, loop_span


def test_a_block_repeated_over_the_span_is_a_loop() -> None:
    rng = random.Random(0)
    lead = [rng.randint(100, 5000) for _ in range(40)]
    block = [11, 22, 33, 44, 55]  # "event_data_type_" in five tokens
    looped = lead + block * 8
    assert is_looping(looped)
    assert loop_span(looped) >= MIN_SPAN
    assert not is_looping(lead + block * 2)  # twice is a phrase said twice, not a loop yet
    assert is_looping(lead + [7] * MIN_SPAN)  # one token over and over
    long_block = [rng.randint(100, 5000) for _ in range(40)]
    assert not is_looping(lead + long_block * 2)  # a sentence said twice
    assert is_looping(lead + long_block * 3)  # ... and a third time


def test_ordinary_text_is_not_a_loop() -> None:
    rng = random.Random(1)
    prose = [rng.randint(100, 5000) for _ in range(300)]
    assert not any(is_looping(prose[:i]) for i in range(len(prose) + 1))
    table = [rng.randint(100, 5000) for _ in range(20)] + [9, 8] * 6 + [3]  # "|---|---|..." one row
    assert not is_looping(table)
    assert not is_looping([1, 2, 3])
