"""Chat generation with the model's chat template, streamed token by token."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from .model import LoadedModel

Message = dict[str, str]


@dataclass(frozen=True)
class GenerationConfig:
    max_new_tokens: int = 256
    temperature: float = 0.0
    repetition_penalty: float = 1.1


def _generate_kwargs(lm: LoadedModel, gen: GenerationConfig) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
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
    enc = lm.tokenizer.apply_chat_template(
        list(messages), add_generation_prompt=True, return_tensors="pt", return_dict=True
    )
    return enc  # input_ids: [1, T], attention_mask: [1, T]


def stream_generate(
    lm: LoadedModel, messages: Sequence[Message], gen: GenerationConfig | None = None
) -> Iterator[str]:
    """Yield the answer to ``messages`` in text pieces as the model produces them."""
    return _stream(lm, encode_chat(lm, messages), gen or GenerationConfig())


def complete(lm: LoadedModel, prompt: str, gen: GenerationConfig | None = None) -> str:
    """Continue raw ``prompt`` (no chat template) until end of text or the token limit."""
    enc = lm.tokenizer(prompt, add_special_tokens=False, return_tensors="pt")
    return "".join(_stream(lm, enc, gen or GenerationConfig())).strip()


def _stream(lm: LoadedModel, enc: Any, gen: GenerationConfig) -> Iterator[str]:
    import torch
    from transformers import TextIteratorStreamer

    streamer = TextIteratorStreamer(lm.tokenizer, skip_prompt=True, skip_special_tokens=True)
    error: list[BaseException] = []

    def run() -> None:
        try:
            with torch.inference_mode():
                lm.model.generate(**enc, streamer=streamer, **_generate_kwargs(lm, gen))
        except BaseException as e:  # surfaced to the caller below
            error.append(e)
            streamer.end()

    worker = threading.Thread(target=run, name="sleepd-generate", daemon=True)
    worker.start()
    for piece in streamer:
        if piece:
            yield piece
    worker.join()
    if error:
        raise error[0]


def generate(lm: LoadedModel, messages: Sequence[Message], gen: GenerationConfig | None = None) -> str:
    """The whole answer to ``messages`` as one string."""
    return "".join(stream_generate(lm, messages, gen)).strip()


def complete_scored(lm: LoadedModel, prompt: str, gen: GenerationConfig) -> tuple[str, float]:
    """Greedy continuation of raw ``prompt`` and the mean log-probability of its tokens: how sure
    the model is of what it produced (a memorised recitation is near 0, free association is not)."""
    import torch

    enc = lm.tokenizer(prompt, add_special_tokens=False, return_tensors="pt")
    kwargs = _generate_kwargs(lm, dataclasses.replace(gen, temperature=0.0))
    with torch.inference_mode():
        out = lm.model.generate(**enc, return_dict_in_generate=True, output_scores=True, **kwargs)
    new = out.sequences[0, enc["input_ids"].shape[1] :]  # [N]
    if not len(new):
        return "", float("-inf")
    logits = torch.stack(out.scores, dim=0)[:, 0, :]  # [N, V]
    logprobs = torch.log_softmax(logits.float(), dim=-1).gather(1, new[:, None])[:, 0]  # [N]
    return lm.tokenizer.decode(new, skip_special_tokens=True).strip(), float(logprobs.mean())
