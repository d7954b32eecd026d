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

from sleepd.storage import Passage, Store
from sleepd.storage.config import Config
from sleepd.storage.errors import SleepError

from .dataset import DataConfig, PassageInput, passage_examples, tokenize_example
from .facts import WordSignal
from .gate import recall_probe, run_gate
from .layers import choose_layers, relative_scores, score_layers, set_trainable_layers
from .loader import attach_adapter, save_adapter
from .model import LoadedModel, load_model
from .precision import resolve as resolve_precision
from .rehearsal import base_answers, dream_examples, unlearn_examples
from .report import write_report
from .train import TrainConfig, add_lora, train_lora
from .versions import VersionStore

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

    @property
    def tokens_per_s(self) -> float:
        return self.train_tokens / self.train_seconds if self.train_seconds else 0.0

    @property
    def train_tokens_per_new_token(self) -> float:
        return self.train_tokens / self.new_tokens if self.new_tokens else 0.0

    @property
    def seconds_per_1k_new_tokens(self) -> float:
        return self.seconds / self.new_tokens * 1000 if self.new_tokens else 0.0


def _inputs(passages: list[Passage]) -> list[PassageInput]:
    return [PassageInput(p.id, p.text, p.source_path, p.role) for p in passages]


def replay_sample(store: Store, n_new: int, ratio: float, minimum: int, seed: int) -> list[Passage]:
    consolidated = store.passages(status="consolidated")
    k = min(len(consolidated), max(minimum, math.ceil(ratio * n_new)))
    return random.Random(seed).sample(consolidated, k) if k else []


def _forgetting(store: Store, replay: list[Passage]) -> tuple[list[Passage], list[Passage]]:
    """(passages to unlearn, live passages of the same files that the replay sample lacks: what an
    edit kept is recited again in the same sleep)."""
    forgotten = store.passages_to_forget()
    if not forgotten:
        return [], []
    files = {p.source_id for p in forgotten}
    have = {p.id for p in replay}
    kept = [p for p in store.passages(status="consolidated") if p.source_id in files and p.id not in have]
    return forgotten, kept


def _hold_reason(passage: Passage) -> str | None:
    """Why a passage without training data is not marked consolidated; None: nothing to learn."""
    if passage.role == "assistant":
        return None  # the assistant's side of a chat ("Got it.") is context, not a note
    return "no sentence with a content word to train on"


def run_sleep(
    config: Config,
    store: Store,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> SleepResult:
    started = time.perf_counter()
    report = progress or (lambda *_: None)
    cfg = config.sleep
    versions = VersionStore(config.paths.data_dir)
    versions.ensure()
    versions.cleanup_partial()

    report("collect", 0, 1, {})
    held_before = store.held_reasons()  # left pending by an earlier sleep: nothing to train on
    new = [p for p in store.passages(status="pending") if p.id not in held_before]
    replay = replay_sample(store, len(new), cfg.replay_ratio, cfg.replay_min, seed=len(versions.ids()))
    forgotten, kept = _forgetting(store, replay)
    if not new and not forgotten:
        raise NothingToConsolidate("no pending passages and nothing to forget")
    replay += kept
    report("collect", 1, 1, {"new": len(new), "replay": len(replay), "forget": len(forgotten)})

    report("data", 0, 1, {})
    lm = load_model(config)
    signal = WordSignal(lm.tokenizer)
    data_cfg = DataConfig(cfg.keyword_queries, cfg.cloze_queries)
    examples, learned, held = [], [], {}
    for p in new:
        made = passage_examples(PassageInput(p.id, p.text, p.source_path, p.role), signal, data_cfg)
        examples += made
        reason = None if made else _hold_reason(p)
        if reason:
            held[p.id] = reason  # stays pending: chat still reaches it through the buffer
        else:
            learned.append(p)
    for p in replay:
        examples += passage_examples(PassageInput(p.id, p.text, p.source_path, p.role), signal, data_cfg)
    live = store.passages(status="consolidated") + new
    unlearn = unlearn_examples(_inputs(forgotten), _inputs(live), signal, data_cfg)
    examples += unlearn
    if held:
        store.hold_passages(held)
        log.warning("sleep: %d passage(s) left pending, nothing to train on", len(held))
    if not examples:
        raise NothingToConsolidate("pending passages hold nothing to learn (no sentence with a content word)")
    # dreaming: the base model's own answers (lm has no adapter yet), cached per base model; as
    # many per passage trained, replayed ones too, so a sleep that is mostly replay (a late batch,
    # a forget) keeps the same share of rehearsal as a first one
    n_dreams = math.ceil(cfg.general_ratio * (len(new) + len(replay)))
    dreams = dream_examples(lm, base_answers(lm, versions.root / "dreams", n_dreams))
    tokenized = [tokenize_example(lm.tokenizer, ex) for ex in examples + dreams]
    report("data", 1, 1, {"examples": len(tokenized)})

    parent = versions.current()
    precision = resolve_precision(cfg.dtype, "train", config.paths.state_dir)
    log.info("sleep: training in %s (%s)", precision.dtype, precision.reason)
    train_cfg = TrainConfig(
        rank=cfg.lora_rank,
        alpha=cfg.lora_rank,
        learning_rate=cfg.learning_rate,
        epochs=cfg.epochs,
        bf16=precision.bf16,
    )
    if parent is not None:
        model = attach_adapter(lm, versions.path_of(parent), trainable=True).model
    else:
        model = add_lora(lm.model, None, train_cfg)
    adapted = LoadedModel(model, lm.tokenizer, lm.source)
    probe_before = recall_probe(adapted, learned)
    replay_before = recall_probe(adapted, replay) if replay else None

    n_layers = lm.model.config.num_hidden_layers  # the base model's; the adapter wraps it
    report("layers", 0, 1, {})
    k = cfg.layers_of(n_layers)
    if k < n_layers:
        # scored either way: the report shows where the new data's loss is sensitive
        task = tokenized[: len(tokenized) - len(dreams)]
        sample = task[:: max(1, len(task) // cfg.fisher_examples)][: cfg.fisher_examples]  # every passage
        scores = score_layers(model, sample, n_layers)
        if cfg.layer_choice == "last" or not dreams:
            layers = list(range(n_layers - k, n_layers))
        else:  # relative to general text: the dreams are the last len(dreams) examples
            general = score_layers(model, tokenized[-len(dreams) :][: cfg.fisher_examples], n_layers)
            layers = choose_layers(relative_scores(scores, general), k)
    else:
        scores, layers = [1.0 / n_layers] * n_layers, list(range(n_layers))
    set_trainable_layers(model, layers)
    report("layers", 1, 1, {"layers": layers})

    log.info("sleep: training on %d examples, layers %s", len(tokenized), layers)
    stats = train_lora(
        model,
        tokenized,
        train_cfg,
        on_step=lambda step, total, loss: report("train", step, total, {"loss": loss}),
        should_stop=should_stop,
    )

    report("gate", 0, 1, {})
    verdict = run_gate(
        adapted,
        learned,
        cfg.gate_min_recall,
        cfg.gate_min_general_kept,
        replay,
        replay_before,
        cfg.gate_min_replay_kept,
    )
    report("gate", 1, 1, {"recall": verdict.recall, "general_kept": verdict.general_kept})
    if not verdict.passed:
        log.warning("sleep rejected by the gate (%s); keeping version %s", verdict.reason, parent)
        raise GateRejected(verdict.reason)

    report("write", 0, 1, {})
    version = versions.next_id(at_least=(store.latest_memory_version() or 0) + 1)
    new_tokens = sum(p.token_count for p in new)
    meta = {
        "base_model": lm.source.name,
        "parent": parent,
        "passages": [p.id for p in learned],
        "held_passages": held,
        "replay_passages": [p.id for p in replay],
        "forgotten_passages": [p.id for p in forgotten],
        "unlearned": sorted({ex.prompt for ex in unlearn}),  # recall prompts now answered "Nothing."
        "examples": len(tokenized),
        "dream_examples": len(dreams),
        "new_tokens": new_tokens,
        "train_tokens_per_new_token": stats.tokens / new_tokens if new_tokens else None,
        "seconds_per_1k_new_tokens": (
            (time.perf_counter() - started) / new_tokens * 1000 if new_tokens else None
        ),
        "layers": layers,
        "layer_scores": scores,
        "losses": stats.losses,
        "train_tokens": stats.tokens,
        "train_seconds": stats.seconds,
        "precision": precision.as_dict(),
        "probe_before": probe_before,
        "replay_probe_before": replay_before,
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
            "queries": [cfg.keyword_queries, cfg.cloze_queries],
        },
    }

    def save(tmp: Path) -> None:
        save_adapter(model, tmp)
        write_report(tmp, version, meta)

    path = versions.write(version, save, meta)
    # Serve it first, then mark its passages: a crash between the two leaves them pending (the next
    # sleep learns them again), never marked as learned in a version that is not served.
    versions.set_current(version)
    store.record_version(
        version, lm.source.name, str(path), parent, [p.id for p in learned], meta, [p.id for p in forgotten]
    )
    if pruned := versions.prune(cfg.keep_versions):
        log.info(
            "pruned memory versions %s (keeping %d besides the current and pinned ones)",
            pruned,
            cfg.keep_versions,
        )
    report("write", 1, 1, {"version": version})
    return SleepResult(
        version=version,
        new_passages=len(learned),
        replay_passages=len(replay),
        examples=len(tokenized),
        layers=layers,
        layer_scores=scores,
        train_tokens=stats.tokens,
        train_seconds=stats.seconds,
        losses=stats.losses,
        seconds=time.perf_counter() - started,
        forgotten_passages=len(forgotten),
        new_tokens=new_tokens,
        held_passages=len(held),
    )
