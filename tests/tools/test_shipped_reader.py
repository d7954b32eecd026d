"""The reader shipped for the bundled model: its training data, rebuilt from its record, are the data
it was trained on and hold no text of any benchmark set (passages or questions)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sleepd.memory.prior import READER_PART, RECORD, SHIPPED
from sleepd.models.identity import model_slug
from sleepd.models.model import BUNDLED_NAME

SHARED = Path(__file__).resolve().parents[3] / "shared"


def test_the_shipped_readers_data_hold_no_benchmark_text() -> None:
    prior = SHIPPED / model_slug(BUNDLED_NAME)
    record = json.loads((prior / RECORD).read_text())
    if "reader" not in record:
        pytest.skip("no reader shipped")
    if not (SHARED / "corpus" / "reading").is_dir():
        pytest.skip("no shared/corpus beside this checkout")
    from sleepd.tools.prior_train import bench_overlap
    from sleepd.tools.reader_train import parse_mix
    from sleepd.tools.reading_data import reading_groups

    assert (prior / READER_PART / "adapter_config.json").is_file()
    data = record["reader"]["data"]
    groups = reading_groups(SHARED, parse_mix(data["mix"]), seed=data["seed"])
    trained = groups[record["reader"]["measured"]["held_out"] :]
    per_corpus = {c: sum(len(g.questions) for g in trained if g.corpus == c) for c in data["per_corpus"]}
    assert per_corpus == data["per_corpus"]  # rebuilt exactly as trained
    texts = [t for g in groups for t in (*g.notes, *(x for qa in g.questions for x in qa))]
    assert bench_overlap(texts, SHARED) == []
