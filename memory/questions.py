"""Questions written for a fact by the question writer, the way people ask them (DSI-QG, doc2query).

Rule-made queries (``facts``) share the fact's words in its own order; people ask with other words in
another order ("What was the name of the Norse leader?"), and a small model routes such a question to
the wrong fact. The question writer is a LoRA adapter of the base model, trained once on crowd
questions of other documents (``prior_train``), that writes for a fact a question and its answer:

    Write a question that this note answers.
    Note: <fact>
    Question: <question>
    Answer: <answer>

A written question is not trusted: it is kept only when its answer is a span of the fact that the
question does not already hold, and when it shares content words with the fact (what the recall
filter at answer time asks of a recitation). Sleep then trains written question -> fact beside the
rule-made queries. Nothing here sees an evaluation question: the writer reads the fact alone.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .facts import Fact, WordSignal, coverage

log = logging.getLogger(__name__)

WRITER_PROMPT = "Write a question that this note answers.\nNote: {fact}\nQuestion:"
MIN_SHARED = 0.5  # of the question's content words the fact must hold


def writer_prompt(fact_text: str) -> str:
    return WRITER_PROMPT.format(fact=" ".join(fact_text.split()))


def writer_target(question: str, answer: str) -> str:
    """What the writer is trained to write after ``writer_prompt``."""
    return f" {question.strip()}\nAnswer: {answer.strip()}"


@dataclass(frozen=True)
class Written:
    question: str
    answer: str


def parse_written(text: str) -> Written | None:
    """``" <question>?\\nAnswer: <answer>"`` -> Written; anything else -> None."""
    m = re.match(r"\s*(?P<q>[^\n]+?\?)\s*\n\s*Answer:\s*(?P<a>[^\n]+)", text)
    if not m:
        return None
    return Written(m.group("q").strip(), m.group("a").strip().rstrip("."))


def normalise(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def holds_answer(fact_text: str, written: Written, signal: WordSignal) -> bool:
    """The check a written question must pass: its answer is in the fact (word for word, ignoring
    case and punctuation), the question does not give the answer away, and the question is about
    this fact (shares at least ``MIN_SHARED`` of its content words with it)."""
    answer = normalise(written.answer)
    if not answer or len(answer.split()) > 12 or f" {answer} " not in f" {normalise(fact_text)} ":
        return False
    answer_words = signal.stems(written.answer)
    if answer_words and answer_words <= signal.stems(written.question):
        return False
    return coverage(written.question, fact_text, signal) >= MIN_SHARED  # 0 for a question of no content word


class QuestionCache:
    """Written questions per (writer, fact) in one JSON file: a fact is written for once, whether it
    comes back in replay, in the gate or in a later sleep."""

    def __init__(self, path: Path, writer_id: str) -> None:
        self.path, self.writer_id = path, writer_id
        self._data: dict[str, list[str]] = {}
        if path.is_file():
            try:
                self._data = json.loads(path.read_text())
            except (OSError, ValueError):
                log.warning("question cache %s unreadable; writing questions again", path)

    def key(self, fact: Fact) -> str:
        return hashlib.sha256(f"{self.writer_id}\n{fact.text}".encode()).hexdigest()[:24]

    def get(self, fact: Fact) -> list[str] | None:
        return self._data.get(self.key(fact))

    def put(self, fact: Fact, questions: list[str]) -> None:
        self._data[self.key(fact)] = questions

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self._data))
        os.replace(tmp, self.path)


@dataclass(frozen=True)
class WriterConfig:
    per_fact: int = 2  # questions kept per fact (at most)
    samples: int = 4  # written per fact before the check
    temperature: float = 0.8
    max_new_tokens: int = 40
    batch_facts: int = 16
    seed: int = 0


class QuestionWriter:
    """The writer adapter on its own copy of the base model (the sleep's model stays untouched)."""

    def __init__(self, model: Any, tokenizer: Any, writer_id: str) -> None:
        self.model, self.tokenizer, self.writer_id = model, tokenizer, writer_id

    @classmethod
    def load(cls, base_model: Any, tokenizer: Any, adapter_dir: Path, writer_id: str) -> QuestionWriter:
        from sleepd.models.adapters import adapter_on_a_copy

        return cls(adapter_on_a_copy(base_model, adapter_dir), tokenizer, writer_id)

    def _sample(self, prompts: Sequence[str], cfg: WriterConfig) -> list[list[str]]:
        """``cfg.samples`` completions per prompt, batched with left padding."""
        import torch

        tok = self.tokenizer
        side, tok.padding_side = tok.padding_side, "left"
        try:
            enc = tok(list(prompts), return_tensors="pt", padding=True, add_special_tokens=False).to(
                self.model.device
            )
        finally:
            tok.padding_side = side
        with torch.inference_mode():
            out = self.model.generate(
                **enc,  # input_ids [B, T], attention_mask [B, T]
                do_sample=True,
                temperature=cfg.temperature,
                top_p=0.95,
                max_new_tokens=cfg.max_new_tokens,
                num_return_sequences=cfg.samples,
                pad_token_id=tok.pad_token_id,
                eos_token_id=tok.eos_token_id,
            )  # [B * samples, T + new]
        texts = tok.batch_decode(out[:, enc["input_ids"].shape[1] :], skip_special_tokens=True)
        return [texts[i * cfg.samples : (i + 1) * cfg.samples] for i in range(len(prompts))]

    def write(
        self, facts: Sequence[Fact], signal: WordSignal, cfg: WriterConfig, cache: QuestionCache | None = None
    ) -> dict[str, list[str]]:
        """fact.text -> the checked questions written for it (cached ones are not written again)."""
        import torch

        out: dict[str, list[str]] = {}
        todo = []
        for f in dict.fromkeys(facts):
            hit = cache.get(f) if cache else None
            if hit is not None:
                out[f.text] = hit
            else:
                todo.append(f)
        torch.manual_seed(cfg.seed)
        for start in range(0, len(todo), cfg.batch_facts):
            chunk = todo[start : start + cfg.batch_facts]
            for fact, texts in zip(
                chunk, self._sample([writer_prompt(f.text) for f in chunk], cfg), strict=True
            ):
                kept: dict[str, None] = {}
                for text in texts:
                    w = parse_written(text)
                    if w and holds_answer(fact.text, w, signal) and len(kept) < cfg.per_fact:
                        kept[w.question] = None
                out[fact.text] = list(kept)
                if cache:
                    cache.put(fact, list(kept))
        if cache and todo:
            cache.save()
        return out
