"""A generation that has started to repeat itself: the tail of its tokens is one block, over and
over ("event_data_type_event_data_type_..."). Small models fall into such loops and never leave
them, so every generation ends when one starts, whatever engine decodes it.

A loop is called once a block of ``p`` tokens (1 <= p <= MAX_PERIOD) fills the last
``max(MIN_SPAN, MIN_REPEATS * p)`` tokens: long enough that ordinary text does not trip it (a
markdown table's separator row, a list's repeated bullet are shorter or not exact repeats).
"""

from __future__ import annotations

from collections.abc import Sequence

MIN_SPAN = 32  # tokens a loop must cover
MIN_REPEATS = 3  # a block seen this many times in a row, at least
MAX_PERIOD = 64  # the longest block looked for


def loop_span(tokens: Sequence[int]) -> int:
    """How many of the last tokens are one repeated block (0: no loop). Pure Python on a list:
    one slice comparison per period whose last token matches, cheap beside a decoding step."""
    n = len(tokens)
    if n < MIN_SPAN:
        return 0
    last = tokens[-1]
    for period in range(1, min(MAX_PERIOD, n // MIN_REPEATS) + 1):
        if tokens[-1 - period] != last:
            continue
        span = max(MIN_SPAN, MIN_REPEATS * period)
        if span > n:
            break  # longer periods need longer spans still
        tail = tokens[n - span :]
        if tail[period:] == tail[:-period]:
            return span
    return 0


def is_looping(tokens: Sequence[int]) -> bool:
    return loop_span(tokens) > 0
