"""How much one chat may put in the prompt, decided before the model sees any of it.

A prompt is read in one forward pass that holds the model for every other chat (they take turns a
decoding step at a time, and the prompt is one step), and its cost grows with its length. So, with
``model.max_prompt_tokens`` = P (default 2048):

- the message and the system prompt together get at most P/2 tokens; longer is refused with one
  line (a long text belongs in a file of a watched folder: it is chunked, searchable and learned).
  Text longer than ``MAX_CHARS_PER_TOKEN`` characters per allowed token is refused before it is
  tokenized at all, so a 1 MB paste costs a length check, not a tokenizer pass;
- history keeps the newest turns that fit in what is left of P after the message, the system
  prompt and the buffer's notes; older turns are cut (and a turn too long alone ends the history).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sleepd.storage.errors import SleepdError

MAX_CHARS_PER_TOKEN = 16  # no tokenizer of real text averages more characters per token
Message = dict[str, str]
CountTokens = Callable[[str], int]


class PromptTooLong(SleepdError, ValueError):
    """A message (with its system prompt) longer than a chat may send."""


def check_message(message: str, system: str | None, max_prompt_tokens: int, count: CountTokens) -> int:
    """The tokens the message and system prompt take; PromptTooLong if over half the prompt."""
    limit = max_prompt_tokens // 2
    chars = len(message) + len(system or "")
    if chars > limit * MAX_CHARS_PER_TOKEN:
        raise PromptTooLong(
            f"message too long: {chars:,} characters, more than a chat reads ({limit:,} tokens; "
            "model.max_prompt_tokens); put long text in a file in a watched folder instead"
        )
    used = count(message) + (count(system) if system else 0)
    if used > limit:
        raise PromptTooLong(
            f"message too long: {used:,} tokens, more than a chat reads ({limit:,}; "
            "model.max_prompt_tokens); put long text in a file in a watched folder instead"
        )
    return used


def fit_history(history: Sequence[Message], budget: int, count: CountTokens) -> list[Message]:
    """The newest turns of ``history`` whose tokens add up to at most ``budget``, in order."""
    kept: list[Message] = []
    for turn in reversed(history):
        text = turn["content"]
        if len(text) > max(0, budget) * MAX_CHARS_PER_TOKEN:
            break
        budget -= count(text)
        if budget < 0:
            break
        kept.append(turn)
    return kept[::-1]
