"""One sleep: pending passages (+ a bounded replay sample) -> training data -> chosen layers ->
LoRA training -> new memory version, written atomically, then passages marked consolidated.

The adapter carries LoRA weights on every layer; each sleep continues the current version's
adapter and trains only the layers chosen for its data, so a version is one self-contained adapter
and memories of earlier sleeps live on in the layers this sleep leaves alone (and through replay).
Cost grows with the new text plus the bounded replay sample, not with the whole history.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sleepd.memory.facts import WordSignal
from sleepd.memory.prior import Prior, prior_for_source
from sleepd.memory.served import attach_reader, attach_writer, detach_reader, detach_writer
from sleepd.memory.switch import align_buffer
from sleepd.memory.versions import VersionStore, memory_of
from sleepd.models.adapters import attach_adapter, save_adapter
from sleepd.models.architecture import n_layers
from sleepd.models.model import LoadedModel, load_model
from sleepd.models.precision import resolve as resolve_precision
from sleepd.storage import Passage, Store
from sleepd.storage.config import Config, SleepConfig
from sleepd.storage.errors import SleepError

from .budget import SleepBudget, last_training_rate, last_writing_rate
from .dataset import DataConfig, PassageInput, Tokenized, passage_examples, tokenize_example
from .gate import BufferView, recall_probe, run_gate
from .layers import choose_layers, relative_scores, score_layers, set_trainable_layers
from .rehearsal import base_answers, dream_examples, unlearn_examples
from .report import write_report
from .train import TrainConfig, add_lora, train_lora
from .writing import WritingStats, write_questions, writes_questions

log = logging.getLogger(__name__)

STAGES = ("collect", "data", "layers", "train", "gate", "write")
Progress = Callable[[str, int, int, dict[str, Any]], None]  # (stage, done, total, extra)


class NothingToConsolidate(SleepError):
    """No pending passages: a sleep would change nothing."""


class GateRejected(SleepError):
    """The new version failed the gate; the previous one stays current, passages stay pending."""


@dataclass
class SleepResult:
    version: int
    new_passages: int
    replay_passages: int
    examples: int
    layers: list[int]
    layer_scores: list[float]
    train_tokens: int
    train_seconds: float
    losses: list[float] = field(default_factory=list)
    seconds: float = 0.0
    forgotten_passages: int = 0
    new_tokens: int = 0  # tokens of the new passages' text
    held_passages: int = 0  # left pending: nothing to train on (reason recorded)
    deferred_passages: int = 0  # left for the next sleep: the budget was spent
    nights_left: int = 0  # sleeps of this budget the deferred passages still need
    rounds: int = 1  # versions one budgeted sleep wrote (rounds.py); the figures are their sums

    @property
    def tokens_per_s(self) -> float:
        return self.train_tokens / self.train_seconds if self.train_seconds else 0.0

    @property
    def train_tokens_per_new_token(self) -> float:
        return self.train_tokens / self.new_tokens if self.new_tokens else 0.0

    @property
    def seconds_per_1k_new_tokens(self) -> float:
        return self.seconds / self.new_tokens * 1000 if self.new_tokens else 0.0

    def summary(self) -> dict[str, Any]:
        """What `sleepd sleep` prints and the daemon reports as its last sleep (JSON-ready)."""
        return {
            "outcome": "version",
            "version": self.version,
            "new_passages": self.new_passages,
            "replay_passages": self.replay_passages,
            "examples": self.examples,
            "layers": self.layers,
            "train_tokens": self.train_tokens,
            "forgotten_passages": self.forgotten_passages,
            "held_passages": self.held_passages,
            "deferred_passages": self.deferred_passages,
            "nights_left": self.nights_left,
            "rounds": self.rounds,
            "train_tokens_per_s": round(self.tokens_per_s, 1),
            "train_tokens_per_new_token": round(self.train_tokens_per_new_token, 1),
            "seconds_per_1k_new_tokens": round(self.seconds_per_1k_new_tokens, 1),
            "final_loss": self.losses[-1] if self.losses else None,
            "seconds": round(self.seconds, 1),
        }


def _inputs(passages: list[Passage]) -> list[PassageInput]:
    return [PassageInput(p.id, p.text, p.source_path, p.role) for p in passages]


def replay_sample(store: Store, n_new: int, ratio: float, minimum: int, seed: int) -> list[Passage]:
    consolidated = store.passages(status="consolidated")
    k = min(len(consolidated), max(minimum, math.ceil(ratio * n_new)))
    return random.Random(seed).sample(consolidated, k) if k else []


def _kept_by_edits(store: Store, forgotten: list[Passage], replay: list[Passage]) -> list[Passage]:
    """Live passages of the files being unlearned that the replay sample lacks: what an edit kept
    is recited again in the same sleep."""
    if not forgotten:
        return []
    files = {p.source_id for p in forgotten}
    have = {p.id for p in replay}
    return [p for p in store.passages(status="consolidated") if p.source_id in files and p.id not in have]


def _hold_reason(passage: Passage) -> str | None:
    """Why a passage without training data is not marked consolidated; None: nothing to learn."""
    if passage.role == "assistant":
        return None  # the assistant's side of a chat ("Got it.") is context, not a note
    return "no sentence with a content word to train on"


@dataclass
class Collected:
    """Stage "collect": the new passages in the order a budget takes them, and what to unlearn."""

    new: list[Passage]
    forgotten: list[Passage]


@dataclass
class TrainingData:
    """Stage "data": tokenized examples (anchors last, rehearsal at the very end), and what the new
    passages gave."""

    tokenized: list[Any]  # new facts, unlearning, then the anchors: replay, rehearsal (dreams)
    n_learn: int  # the first n_learn of tokenized are new facts and unlearning
    n_dreams: int
    learned: list[Passage]  # new passages with something to train on, within the budget
    held: dict[int, str]  # new passages left pending: nothing to train on
    deferred: list[Passage]  # new passages left for the next sleep: the budget was spent
    replay: list[Passage]
    unlearn_prompts: list[str]  # recall prompts now answered "Nothing."
    nights_left: int = 0  # sleeps of this budget the deferred passages still need
    writing: WritingStats = field(default_factory=lambda: WritingStats(None))


def collect(store: Store) -> Collected:
    held_before = store.held_reasons()  # left pending by an earlier sleep: nothing to train on
    by_id = {p.id: p for p in store.passages(status="pending") if p.id not in held_before}
    new = [by_id[i] for i in store.sleep_order() if i in by_id]
    forgotten = store.passages_to_forget()
    if not new and not forgotten:
        raise NothingToConsolidate("no pending passages and nothing to forget")
    return Collected(new, forgotten)


def make_training_data(
    lm: LoadedModel,
    store: Store,
    got: Collected,
    cfg: SleepConfig,
    versions: VersionStore,
    budget: SleepBudget | None = None,
    prior: Prior | None = None,
) -> TrainingData:
    """Examples for the new passages in order while the budget lasts (at least one passage), then
    for the replay sample (sized by what was taken), unlearning and rehearsal; with a prior, the
    questions its writer wrote for each fact among the queries (as many as they replace, so the
    budget's estimate from rule-made queries holds)."""
    signal = WordSignal(lm.tokenizer)
    data_cfg = DataConfig.from_sleep(cfg)
    writes = writes_questions(prior, cfg.written_queries)
    by_passage: dict[int, list[Tokenized]] = {}
    held, deferred, planned, planned_facts = {}, [], 0, 0
    for i, p in enumerate(got.new):
        made = passage_examples(PassageInput(p.id, p.text, p.source_path, p.role), signal, data_cfg)
        toks = [tokenize_example(lm.tokenizer, ex) for ex in made]
        n = sum(len(t.input_ids) for t in toks)
        facts = len({ex.answer for ex in made}) if writes else 0  # the writer writes for each
        if budget is not None and by_passage and not budget.fits(planned + n, facts=planned_facts + facts):
            deferred = got.new[i:]
            break
        planned += n
        planned_facts += facts
        by_passage[p.id] = toks
        if not made and (reason := _hold_reason(p)):
            held[p.id] = reason  # stays pending: chat still reaches it through the buffer
    # The order above only decides what the budget takes; training sees reading order, so the
    # same notes give the same sleep whatever order they arrived in.
    taken = sorted((p for p in got.new if p.id in by_passage), key=lambda p: (p.source_id, p.ordinal, p.id))
    learned = [p for p in taken if p.id not in held]
    replay = replay_sample(store, len(taken), cfg.replay_ratio, cfg.replay_min, seed=len(versions.ids()))
    replay += _kept_by_edits(store, got.forgotten, replay)
    written, writing = write_questions(
        lm, prior, _inputs(taken + replay + got.forgotten), versions.root / "questions", cfg.written_queries
    )
    if written:
        by_passage = {
            p.id: [
                tokenize_example(lm.tokenizer, ex) for ex in passage_examples(i, signal, data_cfg, written)
            ]
            for p, i in zip(taken, _inputs(taken), strict=True)
        }
    tokenized = [t for p in taken for t in by_passage[p.id]]
    replayed = [ex for i in _inputs(replay) for ex in passage_examples(i, signal, data_cfg, written)]
    live = store.passages(status="consolidated") + got.new
    live_inputs = _inputs(live)
    unlearn = unlearn_examples(_inputs(got.forgotten), live_inputs, signal, data_cfg, written)
    if held:
        store.hold_passages(held)
        log.warning("sleep: %d passage(s) left pending, nothing to train on", len(held))
    nights = 0
    if deferred and budget is not None:
        store.defer_passages(dict.fromkeys((p.id for p in deferred), budget.reason()))
        nights = budget.nights_for(sum(p.token_count for p in deferred) * 4)  # ~4 example tokens each
        log.warning(
            "sleep: %d passage(s) deferred to the next sleep (budget %g min)", len(deferred), budget.minutes
        )
    if not tokenized and not replayed and not unlearn:
        raise NothingToConsolidate("pending passages hold nothing to learn (no sentence with a content word)")
    # dreaming: the base model's own answers (lm has no adapter yet), cached per base model; as
    # many per passage trained, replayed ones too, so a sleep that is mostly replay (a late batch,
    # a forget) keeps the same share of rehearsal as a first one
    trained = len(taken) + len(replay)
    dreams = dream_examples(
        lm, base_answers(lm, versions.root / "dreams", math.ceil(cfg.general_ratio * trained))
    )
    tokenized += [tokenize_example(lm.tokenizer, ex) for ex in unlearn]
    n_learn = len(tokenized)  # what this sleep changes; then what holds the rest in place
    tokenized += [tokenize_example(lm.tokenizer, ex) for ex in replayed + dreams]
    return TrainingData(
        tokenized,
        n_learn,
        len(dreams),
        learned,
        held,
        deferred,
        replay,
        sorted({ex.prompt for ex in unlearn if ex.kind == "forget"}),  # the rest: redirected
        nights,
        writing,
    )


def pick_layers(
    model: Any, data: TrainingData, cfg: SleepConfig, n_layers: int
) -> tuple[list[int], list[float]]:
    """Stage "layers": (layers to train, each layer's score). Scored either way: the report shows
    where the new data's loss is sensitive."""
    k = cfg.layers_of(n_layers)
    if k >= n_layers:
        return list(range(n_layers)), [1.0 / n_layers] * n_layers
    task = data.tokenized[: len(data.tokenized) - data.n_dreams]
    sample = task[:: max(1, len(task) // cfg.fisher_examples)][: cfg.fisher_examples]  # every passage
    scores = score_layers(model, sample, n_layers)
    if cfg.layer_choice == "last" or not data.n_dreams:
        return list(range(n_layers - k, n_layers)), scores
    # relative to general text: the dreams are the last n_dreams examples
    general = score_layers(model, data.tokenized[-data.n_dreams :][: cfg.fisher_examples], n_layers)
    return choose_layers(relative_scores(scores, general), k), scores


def run_sleep(
    config: Config,
    store: Store,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
    *,
    night_minutes: float | None = None,
) -> SleepResult:
    """One sleep, stage by stage (STAGES); raises NothingToConsolidate or GateRejected, leaving the
    served version as it was. ``night_minutes``: the whole budget when this is a later round of a
    budgeted sleep (rounds.py), for the nights-left estimate."""
    started = time.perf_counter()
    report = progress or (lambda *_: None)
    cfg = config.sleep
    versions = memory_of(config)
    versions.ensure()
    versions.cleanup_partial()
    align_buffer(config, store)  # the model was switched since the last sleep: its own marks
    history = store.counts()["passages"].get("consolidated", 0) > 0
    budget = SleepBudget.start(
        cfg,
        time.monotonic(),
        last_training_rate(versions),
        has_history=history,
        night_minutes=night_minutes,
        write_s_per_fact=last_writing_rate(versions),
    )

    report("collect", 0, 1, {})
    got = collect(store)
    report("collect", 1, 1, {"new": len(got.new), "forget": len(got.forgotten)})

    report("data", 0, 1, {})
    lm = load_model(config)
    prior = prior_for_source(config, lm.source)
    data = make_training_data(lm, store, got, cfg, versions, budget, prior)
    report("data", 1, 1, {"examples": len(data.tokenized), "deferred": len(data.deferred)})

    parent = versions.current()
    precision = resolve_precision(cfg.dtype, "train", config.paths.state_dir, device=lm.model.device.type)
    log.info("sleep: training in %s (%s)", precision.dtype, precision.reason)
    train_cfg = TrainConfig.from_sleep(cfg, precision.bf16)
    if parent is not None:
        model = attach_adapter(lm, versions.path_of(parent), trainable=True).model
    else:
        model = add_lora(lm.model, None, train_cfg)
    adapted = LoadedModel(model, lm.tokenizer, lm.source)
    probe_started = time.monotonic()
    probe_before = recall_probe(adapted, data.learned)
    replay_before = recall_probe(adapted, data.replay) if data.replay else None
    probe_s = time.monotonic() - probe_started

    report("layers", 0, 1, {})
    layers, scores = pick_layers(model, data, cfg, n_layers(lm.model))
    set_trainable_layers(model, layers)
    report("layers", 1, 1, {"layers": layers})

    log.info("sleep: training on %d examples, layers %s", len(data.tokenized), layers)
    stats = train_lora(
        model,
        data.tokenized[: data.n_learn],
        train_cfg,
        anchors=data.tokenized[data.n_learn :],
        on_step=lambda step, total, loss: report("train", step, total, {"loss": loss}),
        should_stop=should_stop,
        deadline=budget.train_deadline_after_probes(probe_s) if budget else None,
    )
    if stats.cut:
        log.warning("sleep: training cut at the budget's deadline after %d steps", stats.steps)

    report("gate", 0, 1, {})
    attach_writer(adapted, prior)  # the gate judges chat's own path: recitations the writer ranks,
    adapted = attach_reader(adapted, prior)  # ... notes read by the reader
    try:
        verdict = run_gate(
            adapted,
            data.learned,
            cfg.gate_min_recall,
            cfg.gate_min_general_kept,
            data.replay,
            replay_before,
            cfg.gate_min_replay_kept,
            BufferView(
                lambda q: [h.passage.text for h in store.notes_for(q, config.recall)],
                lambda t: [h.passage.text for h in store.search(t, k=3)],
                config.recall.note_tokens,
                config.recall.recite_beams,
            ),
        )
    finally:
        detach_writer(adapted)  # the version is saved without them
        detach_reader(adapted)
    report("gate", 1, 1, {"recall": verdict.recall, "general_kept": verdict.general_kept})
    if not verdict.passed:
        log.warning("sleep rejected by the gate (%s); keeping version %s", verdict.reason, parent)
        raise GateRejected(verdict.reason)

    report("write", 0, 1, {})
    new_tokens = sum(p.token_count for p in data.learned) + sum(
        p.token_count for p in got.new if p.id in data.held
    )
    meta = version_meta(
        lm.source.name, parent, cfg, got, data, (layers, scores), stats, verdict, precision.as_dict()
    )
    meta["probe_before"], meta["replay_probe_before"] = probe_before, replay_before
    meta["seconds_per_1k_new_tokens"] = (
        (time.perf_counter() - started) / new_tokens * 1000 if new_tokens else None
    )
    version = write_version(store, versions, model, meta, got, data, cfg)
    report("write", 1, 1, {"version": version})
    return SleepResult(
        version=version,
        new_passages=len(data.learned),
        replay_passages=len(data.replay),
        examples=len(data.tokenized),
        layers=layers,
        layer_scores=scores,
        train_tokens=stats.tokens,
        train_seconds=stats.seconds,
        losses=stats.losses,
        seconds=time.perf_counter() - started,
        forgotten_passages=len(got.forgotten),
        new_tokens=new_tokens,
        held_passages=len(data.held),
        deferred_passages=len(data.deferred),
        nights_left=data.nights_left,
    )


def write_version(
    store: Store,
    versions: VersionStore,
    model: Any,
    meta: dict[str, Any],
    got: Collected,
    data: TrainingData,
    cfg: SleepConfig,
) -> int:
    """Stage "write": the adapter and its report, atomically; served, then its passages marked."""
    version = versions.next_id(at_least=(store.latest_memory_version() or 0) + 1)

    def save(tmp: Path) -> None:
        save_adapter(model, tmp)
        write_report(tmp, version, meta)

    path = versions.write(version, save, meta)
    # Serve it first, then mark its passages: a crash between the two leaves them pending (the next
    # sleep learns them again), never marked as learned in a version that is not served.
    versions.set_current(version)
    store.record_version(
        version,
        meta["base_model"],
        str(path),
        meta["parent"],
        [p.id for p in data.learned],
        meta,
        [p.id for p in got.forgotten],
    )
    if pruned := versions.prune(cfg.keep_versions):
        log.info(
            "pruned memory versions %s (keeping %d besides the current and pinned ones)",
            pruned,
            cfg.keep_versions,
        )
    return version


def version_meta(
    base_model: str,
    parent: int | None,
    cfg: SleepConfig,
    got: Collected,
    data: TrainingData,
    layer_choice: tuple[list[int], list[float]],
    stats: Any,
    verdict: Any,
    precision: dict[str, str],
) -> dict[str, Any]:
    """What a memory version records of its sleep (meta.json, the report, `memory show`)."""
    new_tokens = sum(p.token_count for p in data.learned)
    layers, scores = layer_choice
    return {
        "base_model": base_model,
        "parent": parent,
        "passages": [p.id for p in data.learned],
        "held_passages": data.held,
        "replay_passages": [p.id for p in data.replay],
        "deferred_passages": [p.id for p in data.deferred],
        "nights_left": data.nights_left,
        "training_cut": stats.cut,  # stopped at the budget's deadline
        "forgotten_passages": [p.id for p in got.forgotten],
        "unlearned": data.unlearn_prompts,  # recall prompts now answered "Nothing."
        "examples": len(data.tokenized),
        "dream_examples": data.n_dreams,
        "new_tokens": new_tokens,
        "train_tokens_per_new_token": stats.tokens / new_tokens if new_tokens else None,
        "layers": layers,
        "layer_scores": scores,
        "losses": stats.losses,
        "train_tokens": stats.tokens,
        "train_seconds": stats.seconds,
        "precision": precision,
        "question_writing": data.writing.as_dict(),  # the prior's writer (None: no prior)
        "gate": {
            "recall": verdict.recall,
            "general_kept": verdict.general_kept,
            "replay_recall": verdict.replay_recall,
        },
        "config": {
            "rank": cfg.lora_rank,
            "lr": cfg.learning_rate,
            "epochs": cfg.epochs,
            "dtype": cfg.dtype,
            "layer_share": cfg.layer_share,
            "layer_choice": cfg.layer_choice,
            "queries": [cfg.keyword_queries, cfg.cloze_queries, cfg.written_queries],
        },
    }
