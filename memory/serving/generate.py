"""Chat generation with the model's chat template (models/chat_format.py), streamed token by token.

Every generation takes the model in turns (``LoadedModel.turns``): one decoding step at a time, so
concurrent chats interleave instead of queueing behind a whole answer. ``adapter=False`` answers as
the base model (the LoRA adapter switched off for this generation's steps only). Every generation
also ends when it starts repeating itself (models/repetition.py), and records why it ended
(``Ending``) for those who say so (the API's finish_reason, chat's note).
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sleepd.models.chat_format import Message, StopTrimmer, chat_text, stop_texts
from sleepd.models.model import LoadedModel
from sleepd.models.repetition import is_looping
from sleepd.models.turns import Adapter


@dataclass(frozen=True)
class GenerationConfig:
    max_new_tokens: int = 256
    temperature: float = 0.0
    repetition_penalty: float = 1.1


REASONS = ("stop", "length", "repetition", "cancelled")


@dataclass
class Ending:
    """Why a generation ended: "stop" (end of turn or a stop text), "length" (its token limit),
    "repetition" (it started repeating itself) or "cancelled" (its reader went away). Filled in
    while it decodes, so read it once the text has been consumed."""

    reason: str = "stop"
    tokens: int = 0  # tokens generated

    @property
    def cut(self) -> bool:
        return self.reason in ("length", "repetition")


class _TakeTurns:
    """The stopping criterion of every generation: between two decoding steps it hands the model
    to waiting generations; it ends a sequence that has started repeating itself, and all of them
    when ``cancel`` is set (the reader went away)."""

    def __init__(
        self,
        lm: LoadedModel,
        adapter: Adapter,
        cancel: threading.Event | None,
        ending: Ending | None = None,
        max_new_tokens: int = 0,
    ) -> None:
        self.lm, self.adapter, self.cancel = lm, adapter, cancel
        self.ending = ending if ending is not None else Ending()
        self.max_new_tokens = max_new_tokens
        self.start: int | None = None  # where the generated tokens begin (the prompt's width)

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        import torch

        self.lm.turns.pass_turn(self.adapter)
        if self.start is None:  # first called with one new token after the prompt
            self.start = input_ids.shape[1] - 1
        new = input_ids[:, self.start :].tolist()  # [B][N]
        looping = [is_looping(row) for row in new]
        cancelled = self.cancel is not None and self.cancel.is_set()
        ending = self.ending
        ending.tokens = len(new[0]) if new else 0
        if cancelled:
            ending.reason = "cancelled"
        elif looping[0]:
            ending.reason = "repetition"
        elif self.max_new_tokens and ending.tokens >= self.max_new_tokens:
            ending.reason = "stop" if new[0][-1] in _end_ids(self.lm) else "length"
        stop = [cancelled or row for row in looping]
        return torch.tensor(stop, dtype=torch.bool, device=input_ids.device)  # [B]


def _end_ids(lm: LoadedModel) -> set[int]:
    """The token ids that end a turn (generation config's and the tokenizer's end of sequence)."""
    ids = getattr(getattr(lm.model, "generation_config", None), "eos_token_id", None)
    ids = ids if isinstance(ids, list) else [ids]
    return {i for i in [*ids, lm.tokenizer.eos_token_id] if i is not None}


def generate_kwargs(
    lm: LoadedModel,
    gen: GenerationConfig,
    adapter: Adapter = True,
    cancel: threading.Event | None = None,
    ending: Ending | None = None,
) -> dict[str, Any]:
    """The keyword arguments of ``model.generate`` for one turn: sampling or greedy, the stop on
    end-of-turn, on a loop, and yielding to a waiting chat (``_TakeTurns``)."""
    from transformers import StoppingCriteriaList

    turns = _TakeTurns(lm, adapter, cancel, ending, gen.max_new_tokens)
    kwargs: dict[str, Any] = {
        "stopping_criteria": StoppingCriteriaList([turns]),
        "max_new_tokens": gen.max_new_tokens,
        "repetition_penalty": gen.repetition_penalty,
        "pad_token_id": lm.tokenizer.pad_token_id,
    }
    if gen.temperature > 0:
        kwargs.update(do_sample=True, temperature=gen.temperature, top_p=0.9)
    else:
        kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
    return kwargs


def encode_chat(lm: LoadedModel, messages: Sequence[Message]) -> Any:
    """The model's chat template (or the plain format of a model without one), tokenized."""
    enc = lm.tokenizer(chat_text(lm.tokenizer, messages), add_special_tokens=False, return_tensors="pt")
    return enc  # input_ids: [1, T], attention_mask: [1, T]


def stream_generate(
    lm: LoadedModel,
    messages: Sequence[Message],
    gen: GenerationConfig | None = None,
    *,
    adapter: Adapter = True,
    cancel: threading.Event | None = None,
    ending: Ending | None = None,
) -> Iterator[str]:
    """Yield the answer to ``messages`` in text pieces as the model produces them. Closing the
    iterator early, or setting ``cancel`` (from any thread: the client went away), stops the
    generation at its next step; ``ending`` records why it ended."""
    enc = encode_chat(lm, messages)
    return _stream(lm, enc, gen or GenerationConfig(), adapter, cancel, stop_texts(lm.tokenizer), ending)


def complete(
    lm: LoadedModel, prompt: str, gen: GenerationConfig | None = None, *, adapter: Adapter = True
) -> str:
    """Continue raw ``prompt`` (no chat template) until end of text or the token limit."""
    enc = lm.tokenizer(prompt, add_special_tokens=False, return_tensors="pt")
    return "".join(_stream(lm, enc, gen or GenerationConfig(), adapter)).strip()


def _stream(
    lm: LoadedModel,
    enc: Any,
    gen: GenerationConfig,
    adapter: Adapter,
    cancel: threading.Event | None = None,
    stops: Sequence[str] = (),
    ending: Ending | None = None,
) -> Iterator[str]:
    import torch
    from transformers import TextIteratorStreamer

    # The worker writes into the streamer's unbounded queue: a reader that stalls holds no model.
    streamer = TextIteratorStreamer(lm.tokenizer, skip_prompt=True, skip_special_tokens=True)
    cancel = cancel or threading.Event()
    error: list[BaseException] = []
    enc = {k: v.to(lm.model.device) for k, v in enc.items()}
    trimmer = StopTrimmer(stops)
    ending = ending if ending is not None else Ending()

    def run() -> None:
        try:
            with torch.inference_mode(), lm.turns.hold(adapter):
                lm.model.generate(
                    **enc, streamer=streamer, **generate_kwargs(lm, gen, adapter, cancel, ending)
                )
        except BaseException as e:  # surfaced to the caller below
            error.append(e)
            streamer.end()

    worker = threading.Thread(target=run, name="sleepd-generate", daemon=True)
    worker.start()
    try:
        for piece in streamer:
            text = trimmer.feed(piece)
            if text:
                yield text
            if trimmer.stopped:
                cancel.set()  # the answer ended at a stop text: the generation ends at its next step
        if rest := trimmer.flush():
            yield rest
        if trimmer.stopped:
            ending.reason = "stop"  # it ended at a stop text, not at the cancel that followed
    finally:
        cancel.set()  # a no-op when it ended by itself; ends it when the reader closed us early
    worker.join()
    if error:
        raise error[0]


def generate(
    lm: LoadedModel,
    messages: Sequence[Message],
    gen: GenerationConfig | None = None,
    *,
    adapter: Adapter = True,
) -> str:
    """The whole answer to ``messages`` as one string."""
    return "".join(stream_generate(lm, messages, gen, adapter=adapter)).strip()


def complete_scored(
    lm: LoadedModel, prompt: str, gen: GenerationConfig, *, adapter: Adapter = True
) -> tuple[str, float]:
    """Greedy continuation of raw ``prompt`` and the mean log-probability of its tokens: how sure
    the model is of what it produced (a memorised recitation is near 0, free association is not)."""
    import torch

    enc = lm.tokenizer(prompt, add_special_tokens=False, return_tensors="pt").to(lm.model.device)
    kwargs = generate_kwargs(lm, dataclasses.replace(gen, temperature=0.0), adapter)
    with torch.inference_mode(), lm.turns.hold(adapter):
        out = lm.model.generate(**enc, return_dict_in_generate=True, output_scores=True, **kwargs)
    new = out.sequences[0, enc["input_ids"].shape[1] :]  # [N]
    if not len(new):
        return "", float("-inf")
    logits = torch.stack(out.scores, dim=0)[:, 0, :]  # [N, V]
    logprobs = torch.log_softmax(logits.float(), dim=-1).gather(1, new[:, None])[:, 0]  # [N]
    return str(lm.tokenizer.decode(new, skip_special_tokens=True)).strip(), float(logprobs.mean())
