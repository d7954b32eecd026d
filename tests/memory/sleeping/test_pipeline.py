"""The sleep pipeline end to end on a tiny random model: versions, atomicity, consolidation."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sleepd.memory.facts import WordSignal, fact_queries, passage_facts
from sleepd.memory.prompts import recall_prompt
from sleepd.memory.served import load_with_memory
from sleepd.memory.sleeping.layers import choose_layers, score_layers, set_trainable_layers
from sleepd.memory.sleeping.pipeline import NothingToConsolidate, run_sleep
from sleepd.memory.versions import memory_of
from sleepd.models.model import load_model
from sleepd.storage import Config, NewPassage, Store

NOTES = [
    "Server kestrel-9 runs Alpine and listens on port 7001. Owner: Ines Valcourt.",
    "The skipper of the Amber Finch is Ragnar Solheim. She is moored in Tromso.",
]


def _add(store: Store, path: str, texts: list[str]) -> list[int]:
    sid = store.upsert_source(path)
    return store.add_passages(sid, [NewPassage(t, len(t.split())) for t in texts])


def test_sleep_writes_a_version_and_consolidates(tiny_config: Config, tiny_store: Store) -> None:
    ids = _add(tiny_store, "/notes/a.md", NOTES)
    stages: list[str] = []
    result = run_sleep(tiny_config, tiny_store, lambda stage, *_: stages.append(stage))
    assert result.version == 1 and result.new_passages == 2 and result.examples > 0
    assert {"collect", "data", "layers", "train", "write"} <= set(stages)
    versions = memory_of(tiny_config)
    assert versions.current() == 1
    meta = versions.info(1).meta
    assert meta["passages"] == ids and meta["parent"] is None
    assert meta["layers"] == [2, 3] and len(meta["losses"]) == len(result.losses) > 0  # the top half
    assert {p.status for p in tiny_store.passages()} == {"consolidated"}
    assert {p.consolidated_in for p in tiny_store.passages()} == {1}
    assert tiny_store.latest_memory_version() == 1
    for p in versions.path_of(1).iterdir():
        assert stat.S_IMODE(p.stat().st_mode) == 0o600
    assert stat.S_IMODE(versions.path_of(1).stat().st_mode) == 0o700
    report = (versions.path_of(1) / "report.md").read_text()
    assert report.startswith("# Memory version 1") and "layers trained (2 of 4): 2-3" in report
    assert (versions.path_of(1) / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    with pytest.raises(NothingToConsolidate):
        run_sleep(tiny_config, tiny_store)

    _add(tiny_store, "/notes/b.md", ["Quill Harbour ferry leaves at 06:40 from pier Osk-3."])
    second = run_sleep(tiny_config, tiny_store)
    assert second.version == 2 and second.new_passages == 1 and second.replay_passages == 2
    assert versions.info(2).meta["parent"] == 1

    lm, served = load_with_memory(tiny_config)
    assert served == 2 and hasattr(lm.model, "disable_adapter")
    versions.set_current(1)
    assert load_with_memory(tiny_config)[1] == 1


def test_layer_scores_and_choice(tiny_config: Config, tiny_store: Store) -> None:
    from sleepd.memory.facts import WordSignal
    from sleepd.memory.sleeping.dataset import PassageInput, build_examples, tokenize_example
    from sleepd.memory.sleeping.train import TrainConfig, add_lora
    from sleepd.models.model import load_model

    lm = load_model(tiny_config)
    examples = [
        tokenize_example(lm.tokenizer, e)
        for e in build_examples([PassageInput(1, NOTES[0], "/a", None)], WordSignal(lm.tokenizer))
    ]
    model = add_lora(lm.model, None, TrainConfig(rank=4))
    scores = score_layers(model, examples[:4], 4)
    assert len(scores) == 4 and abs(sum(scores) - 1) < 1e-6 and all(s >= 0 for s in scores)
    chosen = choose_layers(scores, 2)
    assert chosen == sorted(sorted(range(4), key=scores.__getitem__)[-2:])  # the two highest
    set_trainable_layers(model, chosen)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and all(any(f".layers.{i}." in n for i in chosen) for n in trainable)


def test_relative_scores_prefer_layers_this_data_moves_more_than_general_text() -> None:
    from sleepd.memory.sleeping.layers import relative_scores

    task = [0.4, 0.3, 0.2, 0.1]  # raw Fisher: the lowest layers first, as for any data
    general = [0.8, 0.3, 0.05, 0.05]  # relative: 0.5, 1, 4, 2
    rel = relative_scores(task, general)
    assert abs(sum(rel) - 1) < 1e-9
    assert choose_layers(rel, 2) == [2, 3] and choose_layers(task, 2) == [0, 1]


def test_kill_9_mid_training_keeps_previous_version(
    tiny_config: Config, tiny_store: Store, sleepd_home: Path
) -> None:
    _add(tiny_store, "/notes/a.md", NOTES[:1])
    run_sleep(tiny_config, tiny_store)  # version 1
    _add(tiny_store, "/notes/b.md", NOTES[1:] * 1)
    # a long sleep (many epochs) in a child process, killed once it is training
    (sleepd_home / "config" / "config.toml").write_text(
        (sleepd_home / "config" / "config.toml").read_text().replace("epochs = 2", "epochs = 400")
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "sleepd.cli.main", "-v", "sleep"],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env=os.environ.copy(),
    )
    deadline, training = time.monotonic() + 120, False
    for line in proc.stderr or ():
        training = "training on" in line
        if training or time.monotonic() > deadline:
            break
    assert training, "the sleep never reached its training stage"  # else the kill proves nothing
    time.sleep(1.0)
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    versions = memory_of(tiny_config)
    assert versions.current() == 1
    assert [p.status for p in tiny_store.passages() if p.text == NOTES[1]] == ["pending"]
    lm, served = load_with_memory(tiny_config)
    assert served == 1
    (sleepd_home / "config" / "config.toml").write_text(
        (sleepd_home / "config" / "config.toml").read_text().replace("epochs = 400", "epochs = 1")
    )
    from sleepd.storage import load_config

    result = run_sleep(load_config(), tiny_store)
    assert result.version == 2 and versions.current() == 2
    assert not [p for p in versions.versions.iterdir() if p.name.startswith(".tmp-")]


def test_gate_rejection_keeps_old_version_and_pending(
    tiny_config: Config, tiny_store: Store, sleepd_home: Path
) -> None:
    from sleepd.memory.sleeping.pipeline import GateRejected
    from sleepd.storage import load_config

    _add(tiny_store, "/notes/a.md", NOTES[:1])
    run_sleep(tiny_config, tiny_store)
    _add(tiny_store, "/notes/b.md", NOTES[1:])
    cfg_file = sleepd_home / "config" / "config.toml"
    cfg_file.write_text(cfg_file.read_text() + "gate_min_general_kept = 2.0\n")
    with pytest.raises(GateRejected, match="general ability"):
        run_sleep(load_config(), tiny_store)
    versions = memory_of(tiny_config)
    assert versions.current() == 1 and versions.ids() == [1]
    assert [p.status for p in tiny_store.passages() if p.text == NOTES[1]] == ["pending"]


def test_forget_unlearns_facts_no_live_passage_holds(tiny_config: Config, tiny_store: Store) -> None:
    kestrel = _add(tiny_store, "/notes/kestrel.md", [NOTES[0], "Ines Valcourt moved to Lyon in March."])
    _add(tiny_store, "/notes/finch.md", [NOTES[1]])
    _add(tiny_store, "/notes/ines.md", ["Ines Valcourt moved to Lyon in March."])
    run_sleep(tiny_config, tiny_store)
    assert tiny_store.passages_to_forget() == []

    assert tiny_store.forget_source("/notes/kestrel.md") == 2
    assert tiny_store.is_forgotten("/notes/kestrel.md") and not tiny_store.is_forgotten("/notes/finch.md")
    assert [p.id for p in tiny_store.passages_to_forget()] == kestrel
    result = run_sleep(tiny_config, tiny_store)
    assert result.new_passages == 0 and result.forgotten_passages == 2
    meta = memory_of(tiny_config).info(result.version).meta
    assert meta["forgotten_passages"] == kestrel
    signal = WordSignal(load_model(tiny_config).tokenizer)
    live = [
        signal.stems(f.text)
        for t in (NOTES[1], "Ines Valcourt moved to Lyon in March.")
        for f in passage_facts(t)
    ]
    kestrel = [q for f in passage_facts(NOTES[0]) for q in fact_queries(f, signal, 2, 2)]
    # every query of the forgotten server fact, except one a live note answers as well
    expected = {recall_prompt(q) for q in kestrel if not any(signal.stems(q) <= held for held in live)}
    assert expected and set(meta["unlearned"]) == expected  # so nothing of the Lyon fact, held by ines.md
    assert tiny_store.passages_to_forget() == []
    with pytest.raises(NothingToConsolidate):
        run_sleep(tiny_config, tiny_store)


def test_a_passage_with_nothing_to_train_on_stays_pending_with_its_reason(
    tiny_config: Config, tiny_store: Store
) -> None:
    [empty] = _add(tiny_store, "/notes/todo.txt", ["- - -  ... !!!"])
    [note] = _add(tiny_store, "/notes/dentist.txt", ["dentist appointment tuesday at 3pm"])
    result = run_sleep(tiny_config, tiny_store)
    assert result.new_passages == 1 and result.held_passages == 1
    status = {p.id: p.status for p in tiny_store.passages()}
    assert status == {empty: "pending", note: "consolidated"}
    assert tiny_store.held_reasons()[empty] == "no sentence with a content word to train on"
    assert [h.passage.id for h in tiny_store.search("dentist")] == [note]  # reachable through the buffer
    assert tiny_store.counts()["passages"]["held"] == 1
    with pytest.raises(NothingToConsolidate):  # held passages alone start no sleep
        run_sleep(tiny_config, tiny_store)


def test_a_pending_passage_superseded_before_any_sleep_needs_no_unlearning(
    tiny_config: Config, tiny_store: Store
) -> None:
    _add(tiny_store, "/notes/kestrel.md", [NOTES[0]])
    tiny_store.forget_source("/notes/kestrel.md")
    assert tiny_store.passages_to_forget() == []
    with pytest.raises(NothingToConsolidate):
        run_sleep(tiny_config, tiny_store)


def test_gate_rejects_a_version_that_overwrote_earlier_memories(
    tiny_config: Config, tiny_store: Store
) -> None:
    from sleepd.memory.sleeping.gate import run_gate
    from sleepd.models.model import load_model

    ids = _add(tiny_store, "/notes/a.md", NOTES)
    passages = [p for p in tiny_store.passages() if p.id in ids]
    lm = load_model(tiny_config)  # an untrained random model recites nothing right
    kept = run_gate(lm, passages[:1], 0.0, 0.0, passages[1:], replay_before=None)
    assert kept.passed and kept.replay_recall == 0.0
    worse = run_gate(lm, passages[:1], 0.0, 0.0, passages[1:], replay_before=1.0, min_replay_kept=0.5)
    assert not worse.passed and "earlier memories" in worse.reason
