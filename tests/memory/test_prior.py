"""The shipped consolidation prior: its record, its size, and that no benchmark text reached its
training data or a sleep's."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from sleepd.memory.facts import WordSignal
from sleepd.memory.prior import RECORD, SHIPPED, WRITER_PART, prior_status
from sleepd.memory.sleeping.dataset import PassageInput, build_examples
from sleepd.models.identity import base_fingerprint, model_slug
from sleepd.models.model import BUNDLED_NAME, bundled_gguf_path
from sleepd.storage import Config
from sleepd.tools.prior_train import CORPUS, bench_overlap, bench_texts, paragraph_text

from ..conftest import SHARED

PRIOR = SHIPPED / model_slug(BUNDLED_NAME)


def _record() -> dict:
    return json.loads((PRIOR / RECORD).read_text())


def test_the_shipped_prior_says_what_it_was_trained_on() -> None:
    record = _record()
    assert record["data"]["licence"] == "CC BY-SA 4.0"
    assert record["base_model"] == BUNDLED_NAME
    assert re.fullmatch(r"[0-9a-f]{64}", record["base_sha256"])
    assert re.fullmatch(r"[0-9a-f]{64}", record["data"]["corpus_sha256"])
    assert not set(record["data"]["train_articles"]) & set(record["data"]["held_out_articles"])
    assert (PRIOR / WRITER_PART / "adapter_config.json").is_file()
    size = sum(f.stat().st_size for f in PRIOR.rglob("*") if f.is_file())
    assert size <= 50 * 1024 * 1024


def test_the_shipped_prior_matches_the_bundled_weights() -> None:
    gguf = bundled_gguf_path()
    if gguf is None:
        pytest.skip("bundled model not installed")
    assert base_fingerprint(str(gguf.parent), gguf.name) == _record()["base_sha256"]


def test_status_names_the_prior_in_use(config: Config) -> None:
    import dataclasses

    if bundled_gguf_path() is None:
        pytest.skip("bundled model not installed")
    assert _record()["name"] in prior_status(config)
    off = dataclasses.replace(config, sleep=dataclasses.replace(config.sleep, prior="none"))
    assert prior_status(off) == "none"


def test_no_benchmark_text_is_in_the_priors_training_data() -> None:
    """Every passage sentence and question of shared/bench against the corpus paragraphs and
    questions of the articles the prior was trained on (the corpus it names, by hash)."""
    corpus = SHARED / CORPUS
    if not corpus.is_file():
        pytest.skip("no shared/corpus beside this checkout")
    import hashlib

    record = _record()
    assert hashlib.sha256(corpus.read_bytes()).hexdigest() == record["data"]["corpus_sha256"]
    train = set(record["data"]["train_articles"])
    paragraphs = [p for p in json.loads(corpus.read_text()) if p["title"] in train]
    texts = [paragraph_text(p) for p in paragraphs] + [qa["q"] for p in paragraphs for qa in p["qas"]]
    docs, questions = bench_texts(SHARED)
    assert docs and questions  # the check ran on something
    assert bench_overlap(texts, SHARED) == []
    # and the check finds what it looks for
    assert bench_overlap([*texts, docs[0]], SHARED)


def test_no_question_of_a_set_reaches_sleeps_training_data(tiny_model_dir: Path) -> None:
    from transformers import AutoTokenizer

    if not (SHARED / "bench").is_dir():
        pytest.skip("no shared/bench beside this checkout")
    signal = WordSignal(AutoTokenizer.from_pretrained(tiny_model_dir))
    for name in ("squad", "devset", "locomo"):
        root = SHARED / "bench" / name
        if not root.is_dir():
            continue
        files = sorted(f for f in (root / "docs").rglob("*") if f.is_file())
        passages = [PassageInput(i, f.read_text(errors="replace"), str(f), None) for i, f in enumerate(files)]
        prompts = " ".join(e.prompt.lower() for e in build_examples(passages, signal))
        for q in json.loads((root / "questions.json").read_text()):
            assert q["q"].lower() not in prompts, (name, q["q"])
