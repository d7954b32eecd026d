"""Which recitation the weights meant: several per question, ranked by the prior's question writer.

Greedy decoding gives one recitation per query, and on real text it is often a neighbour of the
right fact, which a few beams often hold (docs/decisions.md, "four beams"). The consolidation prior's question
writer (``memory/questions.py``) was trained on crowd questions to write, for a note, the question
people ask of it; read backwards it is a relevance model: ``log P(question | note)`` (query
likelihood, as in doc2query / DSI-QG ranking). So recall decodes a few beams per query and reads
the one under which the question is likeliest.

The same score says whether any recitation is worth reading at all: its gain over the writer's
likelihood of the question under an empty note (a pointwise mutual information, per question
token). A general question ("Who wrote Pride and Prejudice?") gets some note recited with
confidence, but no note of the user's makes it likelier, so none is read and the plain model
answers. This replaces the word-overlap test where a writer is present; a model without a prior
keeps the greedy recitation and the overlap test.

The writer is a second LoRA adapter of the served peft model (``loader.attach_writer``), switched on only
for the one scoring forward pass (``ModelTurns.hold_adapter``), so it costs ~19 MB, not a model copy.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

from sleepd.memory.questions import writer_prompt
from sleepd.models.model import LoadedModel


def recite_beams(
    lm: LoadedModel, prompts: Sequence[str], beams: int, max_new_tokens: int
) -> list[list[tuple[str, float]]]:
    """For each raw prompt, the ``beams`` best continuations with the memory adapter on, best
    first, each with its beam score (length-normalised log-probability).

    All prompts go through one left-padded beam search, not one search each: chat waits for this
    before its first token."""
    import torch

    from .generate import GenerationConfig, generate_kwargs

    tok = lm.tokenizer
    rows = [tok(p, add_special_tokens=False)["input_ids"] for p in prompts]
    ids, mask = _padded(rows, tok.pad_token_id, left=True)  # [P, W] each
    width = ids.shape[1]
    device = lm.model.device
    gen = GenerationConfig(max_new_tokens=max_new_tokens, temperature=0.0, repetition_penalty=1.0)
    with torch.inference_mode(), lm.turns.hold(True):
        out = lm.model.generate(
            input_ids=ids.to(device),
            attention_mask=mask.to(device),
            num_beams=beams,
            num_return_sequences=beams,
            early_stopping=True,
            return_dict_in_generate=True,
            output_scores=True,
            **generate_kwargs(lm, gen, True),
        )  # sequences [P * beams, W + N], each prompt's beams together
    texts = tok.batch_decode(out.sequences[:, width:], skip_special_tokens=True)
    scored = [(t.strip(), float(s)) for t, s in zip(texts, out.sequences_scores, strict=True)]
    return [scored[i * beams : (i + 1) * beams] for i in range(len(rows))]


def question_logprobs(lm: LoadedModel, question: str, notes: Sequence[str]) -> tuple[list[float], int]:
    """``log P(question | note)`` under the writer for each note (summed over the question's
    tokens), and the question's token count. One forward pass over all notes, right-padded."""
    assert lm.writer is not None
    tok = lm.tokenizer
    q_ids = tok(" " + question.strip(), add_special_tokens=False)["input_ids"]
    heads = [tok(writer_prompt(n), add_special_tokens=False)["input_ids"] for n in notes]
    per_token = _tail_logprobs(lm, [(h, q_ids) for h in heads], lm.turns.hold_adapter(lm.writer))
    return [float(lp.sum()) for lp in per_token], len(q_ids)


def _tail_logprobs(
    lm: LoadedModel, rows: Sequence[tuple[list[int], list[int]]], adapter: AbstractContextManager[Any]
) -> list[Any]:
    """For each (head, tail) token row, the log-probability of every tail token after what
    precedes it, with ``adapter`` (a context that switches the model's adapters) held for the one
    right-padded forward pass. Tensors [T_i], one per row."""
    import torch

    ids, mask = _padded([h + t for h, t in rows], lm.tokenizer.pad_token_id, left=False)  # [B, W] each
    device = lm.model.device
    with torch.inference_mode(), adapter:
        logits = lm.model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits  # [B, W, V]
        out = []
        for i, (head, tail) in enumerate(rows):
            # the logits one position before each tail token predict it
            step = logits[i, len(head) - 1 : len(head) - 1 + len(tail)].float()  # [T, V]
            target = torch.tensor(tail, device=device)[:, None]  # [T, 1]
            out.append(torch.log_softmax(step, -1).gather(1, target)[:, 0])  # [T]
    return out


def rank_by_question(lm: LoadedModel, question: str, texts: Sequence[str]) -> list[tuple[float, str]]:
    """``texts`` as (gain, text), best first: gain = how much likelier the writer finds the
    question under the text than under an empty note, per question token."""
    scores, n = question_logprobs(lm, question, ["", *texts])
    null = scores[0]
    ranked = [((s - null) / max(1, n), t) for s, t in zip(scores[1:], texts, strict=True)]
    return sorted(ranked, key=lambda x: -x[0])


def _padded(rows: Sequence[list[int]], pad_id: int | None, left: bool) -> tuple[Any, Any]:
    """Token rows as one batch: ids and attention mask, [B, W] each, padded on the left (for
    generation) or the right (for scoring)."""
    import torch

    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id if pad_id is not None else 0, dtype=torch.long)  # [B, W]
    mask = torch.zeros((len(rows), width), dtype=torch.long)  # [B, W]
    for i, r in enumerate(rows):
        span = slice(width - len(r), width) if left else slice(0, len(r))
        ids[i, span] = torch.tensor(r)
        mask[i, span] = 1
    return ids, mask


def has_writer(lm: Any) -> bool:
    return getattr(lm, "writer", None) is not None
