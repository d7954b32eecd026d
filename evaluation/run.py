"""`sleepd eval`: a whole memory experiment in a throwaway SLEEPD_HOME.

Ingest the docs in N batches with a sleep after each, and measure, in the same run: the ceiling
(relevant note in the prompt), the buffer (what chat answered before any sleep: BM25 passages in the
prompt), closed-book recall before and after each sleep for each batch (the retention matrix),
default chat after the sleeps (weights and buffer), per question kind where the set gives kinds, the
share of the base model's correct general answers still correct through the same closed-book chat
path, training cost (training tokens per new token, sleep seconds per 1k new tokens) and training
speed, and two baselines: no memory, and naive LoRA on the raw text.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sleepd.storage import Config, Paths, Store, open_engine
from sleepd.storage.config import RecallConfig

from .questions import Question, by_kind, ceiling, closed_book, share, source_text

Log = Callable[[str], None]


def throwaway_config(base: Config, root: Path) -> Config:
    paths = Paths(root / "config", root / "data", root / "state", root / "run")
    paths.ensure()
    # Reuse the caller's converted model: converting again would only cost time.
    model = dataclasses.replace(base.model, cache_dir=str(base.model_cache_dir))
    return dataclasses.replace(base, paths=paths, model=model)


def _notes_for(store: Store, recall: RecallConfig) -> Callable[[str], list[str]]:
    """The buffer passages default chat puts in the prompt for a question (its own rule)."""
    return lambda question: [h.passage.text for h in store.notes_for(question, recall)]


def default_chat(store: Store, config: Config) -> dict[str, Any]:
    """What ``closed_book`` needs to answer as default chat does: the buffer's notes in the prompt
    by chat's own rule, and recitations grounded in the buffer."""
    return {
        "notes_for": _notes_for(store, config.recall),
        "min_coverage": config.recall.min_coverage,
        "search": lambda t: [h.passage.text for h in store.search(t, k=3)],
        "note_tokens": config.recall.note_tokens,
        "beams": config.recall.recite_beams,
    }


def split_batches(files: list[Path], n: int) -> list[list[Path]]:
    """Round-robin, so each batch mixes the folders and formats of the whole set."""
    return [files[i::n] for i in range(n)]


def naive_lora_recall(config: Config, docs: Path, files: list[Path], questions: list[Question]) -> float:
    """Baseline: LoRA on the raw note text (10 epochs), then plain closed-book answers."""
    from sleepd.memory.model import load_model
    from sleepd.memory.precision import resolve
    from sleepd.memory.sleeping.dataset import Example, Tokenized, tokenize_example
    from sleepd.memory.sleeping.train import TrainConfig, add_lora, train_lora

    bf16 = resolve(config.sleep.dtype, "train", config.paths.state_dir).bf16
    lm = load_model(config)
    texts = [source_text(docs, str(f.relative_to(docs))) for f in files]
    items: list[Tokenized] = [tokenize_example(lm.tokenizer, Example("", t, None, "raw")) for t in texts if t]
    train_cfg = TrainConfig.from_sleep(config.sleep, bf16, epochs=10)
    model = add_lora(lm.model, None, train_cfg)
    train_lora(model, items, train_cfg)
    lm.model = model
    return share(closed_book(lm, questions, recite=False))


def _forget_and_measure(
    config: Config,
    store: Store,
    docs: Path,
    source: str,
    questions: list[Question],
    before: dict[str, bool],
    log: Log,
) -> dict[str, Any]:
    from sleepd.memory.loader import load_with_memory
    from sleepd.memory.sleeping.pipeline import run_sleep

    gone = [q for q in questions if q.source == source]
    kept = [q for q in questions if q.q in before and q.source != source]
    log(f"forget {source}, sleep ...")
    n = store.forget_source(str(docs / source))
    t0 = time.perf_counter()
    run_sleep(config, store)
    seconds = time.perf_counter() - t0
    lm, _v = load_with_memory(config)
    others_before = share([before.get(q.q, False) for q in kept])
    others_after = share(closed_book(lm, kept))
    return {
        "source": source,
        "passages": n,
        "questions": len(gone),
        "forgotten_before": share([before.get(q.q, False) for q in gone]),
        "forgotten_after": share(closed_book(lm, gone)),
        "others_before": others_before,
        "others_after": others_after,
        "others_kept": others_after / others_before if others_before else None,
        "sleep_seconds": seconds,
    }


def run_eval(
    base_config: Config,
    docs: Path,
    questions: list[Question],
    general: list[Question] | None = None,
    batches: int = 1,
    baselines: bool = True,
    log: Log = lambda _m: None,
    trace: list[dict[str, Any]] | None = None,
    forget: str | None = None,
    base_rows: dict[str, Any] | None = None,
    greedy_rows: bool = True,
) -> dict[str, Any]:
    """``forget``: a source (path relative to ``docs``) to forget after the last sleep, then sleep
    again and measure recall on its questions and on the others (``out["forget"]``).
    ``base_rows``: filled with the rows that depend only on the base model and the set (ceiling, no
    memory, buffer, the general questions it answers) and reused when already filled, so two recipes
    compared in one run share them. ``greedy_rows``: also measure the same weights with greedy
    recitations, where the prior's writer ranks them (``out["greedy"]``)."""
    from sleepd.ingest.ingestor import make_ingestor
    from sleepd.memory.loader import load_with_memory
    from sleepd.memory.model import memory_of
    from sleepd.memory.precision import resolve as resolve_precision
    from sleepd.memory.sleeping.pipeline import GateRejected, run_sleep
    from sleepd.memory.tokens import load_token_counter

    docs = docs.resolve()
    root = Path(tempfile.mkdtemp(prefix="sleepd-eval-"))
    config = throwaway_config(base_config, root)
    store = Store(open_engine(config))
    ingestor = make_ingestor(store, config, load_token_counter(config))
    files = sorted(p for p in docs.rglob("*") if p.is_file())
    groups = split_batches(files, batches)
    batch_of = {str(f.relative_to(docs)): i for i, g in enumerate(groups) for f in g}
    by_batch = [[q for q in questions if batch_of.get(q.source) == i] for i in range(batches)]

    # what every sleep of this run trains in (the probe is cached in the throwaway state dir)
    precision = resolve_precision(config.sleep.dtype, "train", config.paths.state_dir)
    log(f"training in {precision.dtype}: {precision.reason}")
    # the base model in chat's number format: rows before and after a sleep compare like for like
    base, _none = load_with_memory(config)
    rows = base_rows if base_rows is not None else {}
    if "ceiling" not in rows:
        log("ceiling ...")
        rows["ceiling"] = ceiling(base, questions, docs)
        log("no memory ...")
        rows["before"] = closed_book(base, questions, recite=False)
        rows["general_base"] = [
            q for q, h in zip(general or [], closed_book(base, general or [], recite=False), strict=True) if h
        ]
    ceiling_hits, before_hits, general_base = rows["ceiling"], rows["before"], rows["general_base"]

    beams = config.recall.recite_beams
    retention: list[list[float | None]] = [[None] * batches for _ in range(batches)]
    sleep_seconds, tokens, train_seconds, new_tokens, held = [], 0, 0.0, 0, 0
    writing: dict[str, Any] | None = None
    rejected: list[dict[str, Any]] = []
    lm = base
    for j, group in enumerate(groups):
        for f in group:
            ingestor.ingest_file(str(f))
        new_tokens += sum(p.token_count for p in store.passages(status="pending"))
        log(f"sleep {j + 1}/{batches} ...")
        t0 = time.perf_counter()
        try:
            result = run_sleep(config, store)
        except GateRejected as e:  # as in the daemon: the previous version keeps serving
            rejected.append({"sleep": j + 1, "reason": str(e)})
            log(f"  sleep {j + 1} rejected by the gate: {e}")
        else:
            tokens += result.train_tokens
            train_seconds += result.train_seconds
            held += result.held_passages
        finally:
            sleep_seconds.append(time.perf_counter() - t0)
        lm, served = load_with_memory(config)
        if served is not None:  # what the prior's writer wrote in that sleep (None: no prior)
            writing = memory_of(config).info(served).meta.get("question_writing") or writing
        # as chat does: recite from the weights only when a memory version is served
        recite = served is not None
        last_hits: list[bool] = []
        for i in range(j + 1):
            hits = closed_book(
                lm, by_batch[i], recite=recite, trace=trace if j == batches - 1 else None, beams=beams
            )
            retention[i][j] = share(hits)
            last_hits += hits
            log(f"  batch {i + 1} after sleep {j + 1}: {retention[i][j]:.2f}")
    # After the last sleep every batch was just measured; only questions outside all batches remain.
    unassigned = [q for q in questions if q.source not in batch_of]
    after_hits = last_hits + closed_book(lm, unassigned, recite=recite, beams=beams)
    asked = [q for group in by_batch for q in group] + unassigned  # the order after_hits holds
    after = share(after_hits)

    # What chat said before any sleep: the plain model reading the buffer. It depends only on the
    # base model and the passages, so it is measured here, once every batch is in the buffer.
    def with_buffer(model: Any, recite_now: bool, asked_now: list[Question] = questions) -> list[bool]:
        """Answers with the buffer's notes in the prompt, by chat's own rule."""
        return closed_book(model, asked_now, recite=recite_now, **default_chat(store, config))

    if "buffer" not in rows:
        log("buffer ...")
        rows["buffer"] = with_buffer(base, False)
    buffer_hits = rows["buffer"]
    log("default chat (weights and buffer) ...")
    chat_hits = with_buffer(lm, recite)
    # the general questions' records join the trace with an empty source: what made one lost
    general_hits = closed_book(lm, general_base, recite=recite, beams=beams, trace=trace)
    general_kept = share(general_hits) if general_base else None
    # the same through default chat, the path people use (buffer notes in the prompt, recitations
    # grounded in the buffer): of the general answers chat got right before the sleep, those kept
    chat_right = [q for q, h in zip(general_base, with_buffer(base, False, general_base), strict=True) if h]
    general_kept_chat = share(with_buffer(lm, recite, chat_right)) if chat_right else None
    out: dict[str, Any] = {
        "questions": len(questions),
        "ceiling": share(ceiling_hits),
        "before": share(before_hits),
        "buffer": share(buffer_hits),
        "after": after,
        "chat": share(chat_hits),
        "kinds": {
            "ceiling": by_kind(questions, ceiling_hits),
            "before": by_kind(questions, before_hits),
            "buffer": by_kind(questions, buffer_hits),
            "after": by_kind(asked, after_hits),
            "chat": by_kind(questions, chat_hits),
        },
        "retention": retention,
        "general_kept": general_kept,
        "general_kept_chat": general_kept_chat,
        "general_base_correct": len(general_base),
        "sleep_seconds": sleep_seconds,
        "sleep_seconds_per_1k_new_tokens": sum(sleep_seconds) / max(1, new_tokens) * 1000,
        "train_tokens_per_new_token": tokens / max(1, new_tokens),
        "new_tokens": new_tokens,
        "held_passages": held,
        "rejected_sleeps": rejected,  # their training tokens are not in the cost figures
        "train_tokens_per_s": tokens / train_seconds if train_seconds else 0.0,
        "precision": precision.as_dict(),
        "baselines": {"no_memory": share(before_hits)},
        "home": str(root) if os.environ.get("SLEEPD_EVAL_KEEP") else None,
        "question_writing": writing,  # of the last sleep that wrote a version
    }
    if greedy_rows and recite and beams > 1 and lm.writer is not None:
        # the same weights with greedy recitations and the coverage test (no ranking by the
        # prior's writer): what the ranking adds, measured in this run
        log("closed-book and default chat with greedy recitations ...")
        greedy = closed_book(lm, asked, recite=True)
        chat_greedy = closed_book(lm, questions, recite=True, **{**default_chat(store, config), "beams": 1})
        out["greedy"] = {
            "after": share(greedy),
            "chat": share(chat_greedy),
            "general_kept": share(closed_book(lm, general_base, recite=True)) if general_base else None,
        }
    if forget:
        before = {q.q: h for q, h in zip(asked, after_hits, strict=True)}
        out["forget"] = _forget_and_measure(config, store, docs, forget, questions, before, log)
        out["sleep_seconds"].append(out["forget"]["sleep_seconds"])
    if baselines:
        log("naive LoRA baseline ...")
        out["baselines"]["naive_lora"] = naive_lora_recall(config, docs, files, questions)
    return out
