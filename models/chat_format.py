"""How a conversation becomes the text a model reads: its own chat template, or a plain format.

A base model (a GGUF without ``tokenizer.chat_template``, like Gemma 3 270M's) makes transformers'
``apply_chat_template`` raise, and a chat template forced onto it makes it repeat the prompt. It
answers in the format it saw in pre-training: "Question: ...\\nAnswer: ...", one exchange a
paragraph, so a generation in that format ends where the model starts the next "Question:".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

Message = dict[str, str]

# Where an answer in the plain format ends: the model writing the next exchange or a new paragraph.
PLAIN_STOPS = ("\nQuestion:", "\n\n")


def has_template(tokenizer: Any) -> bool:
    return bool(getattr(tokenizer, "chat_template", None))


def _bos(tokenizer: Any) -> str:
    """The BOS token's text when the tokenizer adds one by itself (Gemma, Llama), else ''. Chat text
    is tokenized without special tokens (as a template's output is), so it carries its own."""
    bos_id = getattr(tokenizer, "bos_token_id", None)
    if bos_id is None or not tokenizer.bos_token:
        return ""
    ids = tokenizer("a")["input_ids"]
    return tokenizer.bos_token if ids and ids[0] == bos_id else ""


def plain_chat(messages: Sequence[Message]) -> str:
    """``messages`` as "Question: ...\\nAnswer: ..." paragraphs (a system prompt first), ending with
    "Answer:" for the model to continue."""
    parts = []
    for m in messages:
        content = m["content"].strip()
        if m["role"] == "system":
            parts.append(f"{content}\n\n")
        elif m["role"] == "assistant":
            parts.append(f"Answer: {content}\n\n")
        else:
            parts.append(f"Question: {content}\n")
    if not parts or not parts[-1].startswith("Question:"):
        parts.append("Question:\n")  # a conversation ending in an answer: the model asks nothing
    return "".join(parts) + "Answer:"


def chat_text(tokenizer: Any, messages: Sequence[Message]) -> str:
    """The prompt for the model's next assistant turn, special tokens included as text."""
    if has_template(tokenizer):
        return tokenizer.apply_chat_template(list(messages), tokenize=False, add_generation_prompt=True)
    return _bos(tokenizer) + plain_chat(messages)


def stop_texts(tokenizer: Any) -> tuple[str, ...]:
    """Texts that end an answer besides the end-of-turn token: none for a chat template."""
    return () if has_template(tokenizer) else PLAIN_STOPS


class StopTrimmer:
    """Cuts a streamed answer at the first stop text. Text that could be the start of a stop text is
    held back until the next piece tells, so a reader never sees half of "\\nQuestion:"."""

    def __init__(self, stops: Sequence[str]) -> None:
        self.stops = tuple(stops)
        self.pending = ""
        self.stopped = False

    def feed(self, piece: str) -> str:
        """The part of ``piece`` (with what was held back) that is surely answer text."""
        if self.stopped:
            return ""
        text = self.pending + piece
        cuts = [i for i in (text.find(s) for s in self.stops) if i >= 0]
        if cuts:
            self.stopped, self.pending = True, ""
            return text[: min(cuts)]
        hold = 0
        for stop in self.stops:  # the longest tail of text that begins some stop text
            for n in range(min(len(stop) - 1, len(text)), hold, -1):
                if stop.startswith(text[-n:]):
                    hold = n
                    break
        self.pending = text[len(text) - hold :] if hold else ""
        return text[: len(text) - hold]

    def flush(self) -> str:
        rest, self.pending = ("" if self.stopped else self.pending), ""
        return rest
