"""Chat generation with the model's chat template (models/chat_format.py), streamed token by token.

Every generation takes the model in turns (``LoadedModel.turns``): one decoding step at a time, so
concurrent chats interleave instead of queueing behind a whole answer. ``adapter=False`` answers as
the base model (the LoRA adapter switched off for this generation's steps only).
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sleepd.models.chat_format import Message, StopTrimmer, chat_text, stop_texts
from sleepd.models.model import LoadedModel


@dataclass(frozen=True)
class GenerationConfig:
    max_new_tokens: int = 256
    temperature: float = 0.0
    repetition_penalty: float = 1.1


class _TakeTurns:
    """A stopping criterion that never stops a sequence by itself: between two decoding steps it
    hands the model to waiting generations, and it ends this one when ``cancel`` is set (the
    reader went away)."""

    def __init__(self, lm: LoadedModel, adapter: bool, cancel: threading.Event | None) -> None:
        self.lm, self.adapter, self.cancel = lm, adapter, cancel

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        import torch

        self.lm.turns.pass_turn(self.adapter)
        stop = self.cancel is not None and self.cancel.is_set()
        return torch.full((input_ids.shape[0],), stop, dtype=torch.bool, device=input_ids.device)  # [B]


def generate_kwargs(
    lm: LoadedModel, gen: GenerationConfig, adapter: bool = True, cancel: threading.Event | None = None
) -> dict[str, Any]:
    """The keyword arguments of ``model.generate`` for one turn: sampling or greedy, the stop on
    end-of-turn, and yielding to a waiting chat (``_TakeTurns``)."""
    from transformers import StoppingCriteriaList

    kwargs: dict[str, Any] = {
        "stopping_criteria": StoppingCriteriaList([_TakeTurns(lm, adapter, cancel)]),
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
    adapter: bool = True,
    cancel: threading.Event | None = None,
) -> Iterator[str]:
    """Yield the answer to ``messages`` in text pieces as the model produces them. Closing the
    iterator early, or setting ``cancel`` (from any thread: the client went away), stops the
    generation at its next step."""
    enc = encode_chat(lm, messages)
    return _stream(lm, enc, gen or GenerationConfig(), adapter, cancel, stop_texts(lm.tokenizer))


def complete(
    lm: LoadedModel, prompt: str, gen: GenerationConfig | None = None, *, adapter: bool = True
) -> str:
    """Continue raw ``prompt`` (no chat template) until end of text or the token limit."""
    enc = lm.tokenizer(prompt, add_special_tokens=False, return_tensors="pt")
    return "".join(_stream(lm, enc, gen or GenerationConfig(), adapter)).strip()


def _stream(
    lm: LoadedModel,
    enc: Any,
    gen: GenerationConfig,
    adapter: bool,
    cancel: threading.Event | None = None,
    stops: Sequence[str] = (),
) -> Iterator[str]:
    import torch
    from transformers import TextIteratorStreamer

    # The worker writes into the streamer's unbounded queue: a reader that stalls holds no model.
    streamer = TextIteratorStreamer(lm.tokenizer, skip_prompt=True, skip_special_tokens=True)
    cancel = cancel or threading.Event()
    error: list[BaseException] = []
    enc = {k: v.to(lm.model.device) for k, v in enc.items()}
    trimmer = StopTrimmer(stops)

    def run() -> None:
        try:
            with torch.inference_mode(), lm.turns.hold(adapter):
                lm.model.generate(**enc, streamer=streamer, **generate_kwargs(lm, gen, adapter, cancel))
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
    finally:
        cancel.set()  # a no-op when it ended by itself; ends it when the reader closed us early
    worker.join()
    if error:
        raise error[0]


def generate(
    lm: LoadedModel, messages: Sequence[Message], gen: GenerationConfig | None = None, *, adapter: bool = True
) -> str:
    """The whole answer to ``messages`` as one string."""
    return "".join(stream_generate(lm, messages, gen, adapter=adapter)).strip()


def complete_scored(
    lm: LoadedModel, prompt: str, gen: GenerationConfig, *, adapter: bool = True
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
