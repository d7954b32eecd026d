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
from dataclasses import dataclass
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
    from sleepd.memory.sleeping.dataset import Example, Tokenized, tokenize_example
    from sleepd.memory.sleeping.train import TrainConfig, add_lora, train_lora
    from sleepd.models.model import load_model
    from sleepd.models.precision import resolve

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
    from sleepd.memory.served import load_with_memory
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


@dataclass(frozen=True)
class EvalOptions:
    """``batches``: the docs ingested in this many batches, a sleep after each. ``baselines``: also
    naive LoRA on the raw text. ``forget``: a source (relative to the docs) forgotten after the last
    sleep, then a sleep more and recall scored on its questions and the others. ``greedy_rows``:
    the same weights with greedy recitations too, where the prior's writer ranks them."""

    batches: int = 1
    baselines: bool = True
    forget: str | None = None
    greedy_rows: bool = True


@dataclass
class _Run:
    """One throwaway home and the set cut into batches."""

    config: Config
    store: Store
    root: Path
    docs: Path
    files: list[Path]
    groups: list[list[Path]]
    batch_of: dict[str, int]
    by_batch: list[list[Question]]


@dataclass
class _Slept:
    """What the sleeps left: the served model, its closed-book answers and what they cost."""

    lm: Any
    recite: bool
    retention: list[list[float | None]]
    after_hits: list[bool]
    asked: list[Question]  # the order of after_hits
    sleep_seconds: list[float]
    tokens: int
    train_seconds: float
    new_tokens: int
    held: int
    writing: dict[str, Any] | None
    rejected: list[dict[str, Any]]


def run_eval(
    base_config: Config,
    docs: Path,
    questions: list[Question],
    general: list[Question] | None = None,
    options: EvalOptions = EvalOptions(),
    log: Log = lambda _m: None,
    trace: list[dict[str, Any]] | None = None,
    base_rows: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The whole experiment (module docstring). ``base_rows``: filled with the rows that depend only
    on the base model and the set (ceiling, no memory, buffer, the general questions it answers)
    and reused when already filled, so two recipes compared in one run share them."""
    from sleepd.memory.served import load_with_memory
    from sleepd.models.precision import resolve as resolve_precision

    run = _prepare(base_config, docs, questions, options.batches)
    config = run.config
    # what every sleep of this run trains in (the probe is cached in the throwaway state dir)
    precision = resolve_precision(config.sleep.dtype, "train", config.paths.state_dir)
    log(f"training in {precision.dtype}: {precision.reason}")
    # the base model in chat's number format: rows before and after a sleep compare like for like
    base, _none = load_with_memory(config)
    rows = _base_rows(base, questions, docs, general or [], base_rows if base_rows is not None else {}, log)
    slept = _sleep_batches(run, questions, log, trace)
    out = _chat_rows(run, base, slept, questions, rows, log, trace)
    out |= {
        "retention": slept.retention,
        "sleep_seconds": slept.sleep_seconds,
        "sleep_seconds_per_1k_new_tokens": sum(slept.sleep_seconds) / max(1, slept.new_tokens) * 1000,
        "train_tokens_per_new_token": slept.tokens / max(1, slept.new_tokens),
        "new_tokens": slept.new_tokens,
        "held_passages": slept.held,
        "rejected_sleeps": slept.rejected,  # their training tokens are not in the cost figures
        "train_tokens_per_s": slept.tokens / slept.train_seconds if slept.train_seconds else 0.0,
        "precision": precision.as_dict(),
        "baselines": {"no_memory": share(rows["before"])},
        "home": str(run.root) if os.environ.get("SLEEPD_EVAL_KEEP") else None,
        "question_writing": slept.writing,  # of the last sleep that wrote a version
    }
    beams = config.recall.recite_beams
    if options.greedy_rows and slept.recite and beams > 1 and slept.lm.writer is not None:
        log("closed-book and default chat with greedy recitations ...")
        out["greedy"] = _greedy_rows(run, slept, questions, rows["general_base"])
    if options.forget:
        before = {q.q: h for q, h in zip(slept.asked, slept.after_hits, strict=True)}
        out["forget"] = _forget_and_measure(
            config, run.store, run.docs, options.forget, questions, before, log
        )
        out["sleep_seconds"].append(out["forget"]["sleep_seconds"])
    if options.baselines:
        log("naive LoRA baseline ...")
        out["baselines"]["naive_lora"] = naive_lora_recall(config, run.docs, run.files, questions)
    return out


def _prepare(base_config: Config, docs: Path, questions: list[Question], batches: int) -> _Run:
    """A throwaway home, and the set's files and questions cut into ``batches``."""
    docs = docs.resolve()
    root = Path(tempfile.mkdtemp(prefix="sleepd-eval-"))
    config = throwaway_config(base_config, root)
    files = sorted(p for p in docs.rglob("*") if p.is_file())
    groups = split_batches(files, batches)
    batch_of = {str(f.relative_to(docs)): i for i, g in enumerate(groups) for f in g}
    by_batch = [[q for q in questions if batch_of.get(q.source) == i] for i in range(batches)]
    return _Run(config, Store(open_engine(config)), root, docs, files, groups, batch_of, by_batch)


def _base_rows(
    base: Any, questions: list[Question], docs: Path, general: list[Question], rows: dict[str, Any], log: Log
) -> dict[str, Any]:
    """The rows of the base model alone: ceiling, no memory, the general questions it gets right."""
    if "ceiling" not in rows:
        log("ceiling ...")
        rows["ceiling"] = ceiling(base, questions, docs)
        log("no memory ...")
        rows["before"] = closed_book(base, questions, recite=False)
        rows["general_base"] = [
            q for q, h in zip(general, closed_book(base, general, recite=False), strict=True) if h
        ]
    return rows


def _sleep_batches(
    run: _Run, questions: list[Question], log: Log, trace: list[dict[str, Any]] | None
) -> _Slept:
    """Each batch ingested and slept on; after each sleep, closed-book recall of every batch so far
    (the retention matrix); after the last, the questions outside all batches too."""
    from sleepd.ingest.ingestor import make_ingestor
    from sleepd.memory.served import load_with_memory
    from sleepd.memory.sleeping.pipeline import GateRejected, run_sleep
    from sleepd.memory.versions import memory_of
    from sleepd.models.tokens import load_token_counter

    config, store, batches = run.config, run.store, len(run.groups)
    ingestor = make_ingestor(store, config, load_token_counter(config))
    beams = config.recall.recite_beams
    retention: list[list[float | None]] = [[None] * batches for _ in range(batches)]
    sleep_seconds, tokens, train_seconds, new_tokens, held = [], 0, 0.0, 0, 0
    writing: dict[str, Any] | None = None
    rejected: list[dict[str, Any]] = []
    lm: Any = None
    recite, last_hits = False, list[bool]()
    for j, group in enumerate(run.groups):
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
        last_hits = []
        for i in range(j + 1):
            hits = closed_book(
                lm, run.by_batch[i], recite=recite, trace=trace if j == batches - 1 else None, beams=beams
            )
            retention[i][j] = share(hits)
            last_hits += hits
            log(f"  batch {i + 1} after sleep {j + 1}: {retention[i][j]:.2f}")
    # After the last sleep every batch was just measured; only questions outside all batches remain.
    unassigned = [q for q in questions if q.source not in run.batch_of]
    after_hits = last_hits + closed_book(lm, unassigned, recite=recite, beams=beams)
    asked = [q for group in run.by_batch for q in group] + unassigned
    return _Slept(
        lm,
        recite,
        retention,
        after_hits,
        asked,
        sleep_seconds,
        tokens,
        train_seconds,
        new_tokens,
        held,
        writing,
        rejected,
    )


def _chat_rows(
    run: _Run,
    base: Any,
    slept: _Slept,
    questions: list[Question],
    rows: dict[str, Any],
    log: Log,
    trace: list[dict[str, Any]] | None,
) -> dict[str, Any]:
    """The rows every table shows: ceiling, no memory, the buffer (chat before any sleep), closed-book
    and default chat after the sleeps, per kind, and the general answers kept either way."""
    config, lm, recite = run.config, slept.lm, slept.recite
    beams = config.recall.recite_beams
    general_base = rows["general_base"]

    # What chat said before any sleep: the plain model reading the buffer. It depends only on the
    # base model and the passages, so it is measured here, once every batch is in the buffer.
    def with_buffer(model: Any, recite_now: bool, asked_now: list[Question] = questions) -> list[bool]:
        """Answers with the buffer's notes in the prompt, by chat's own rule."""
        return closed_book(model, asked_now, recite=recite_now, **default_chat(run.store, config))

    if "buffer" not in rows:
        log("buffer ...")
        rows["buffer"] = with_buffer(base, False)
    log("default chat (weights and buffer) ...")
    chat_hits = with_buffer(lm, recite)
    # the general questions' records join the trace with an empty source: what made one lost
    general_hits = closed_book(lm, general_base, recite=recite, beams=beams, trace=trace)
    # the same through default chat, the path people use: of the general answers chat got right
    # before the sleep, those kept
    chat_right = [q for q, h in zip(general_base, with_buffer(base, False, general_base), strict=True) if h]
    return {
        "questions": len(questions),
        "ceiling": share(rows["ceiling"]),
        "before": share(rows["before"]),
        "buffer": share(rows["buffer"]),
        "after": share(slept.after_hits),
        "chat": share(chat_hits),
        "kinds": {
            "ceiling": by_kind(questions, rows["ceiling"]),
            "before": by_kind(questions, rows["before"]),
            "buffer": by_kind(questions, rows["buffer"]),
            "after": by_kind(slept.asked, slept.after_hits),
            "chat": by_kind(questions, chat_hits),
        },
        "general_kept": share(general_hits) if general_base else None,
        "general_kept_chat": share(with_buffer(lm, recite, chat_right)) if chat_right else None,
        "general_base_correct": len(general_base),
    }


def _greedy_rows(run: _Run, slept: _Slept, questions: list[Question], general_base: list[Question]) -> dict:
    """The same weights with greedy recitations and the coverage test (no ranking by the prior's
    writer): what the ranking adds, measured in the same run."""
    lm = slept.lm
    greedy = closed_book(lm, slept.asked, recite=True)
    chat_greedy = closed_book(
        lm, questions, recite=True, **{**default_chat(run.store, run.config), "beams": 1}
    )
    return {
        "after": share(greedy),
        "chat": share(chat_greedy),
        "general_kept": share(closed_book(lm, general_base, recite=True)) if general_base else None,
    }
