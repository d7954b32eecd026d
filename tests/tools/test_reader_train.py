"""`python -m sleepd.tools.reader_train` end to end on the tiny model and a few examples: the reader
is written as a part of the prior, with its data, licences and before/after figures recorded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sleepd.storage import Config

SHARED = Path(__file__).resolve().parents[3] / "shared"


def test_the_reader_is_trained_and_recorded(tiny_config: Config, tmp_path: Path) -> None:
    if not (SHARED / "corpus" / "reading").is_dir():
        pytest.skip("no shared/corpus beside this checkout")
    from sleepd.tools.reader_train import READER_PART, main

    out = tmp_path / "prior"
    out.mkdir()
    (out / "prior.json").write_text(json.dumps({"name": "mine", "parts": {"question-writer": "..."}}))
    args = ["--shared", str(SHARED), "--out", str(out), "--per-corpus", "squad-train=12,molweni=6"]
    assert main([*args, "--held-out", "3", "--epochs", "1", "--rank", "4"]) == 0
    assert (out / READER_PART / "adapter_config.json").is_file()
    record = json.loads((out / "prior.json").read_text())
    assert set(record["parts"]) == {"question-writer", READER_PART}  # the writer's entry is kept
    reader = record["reader"]
    assert reader["data"]["licences"].keys() == {"squad-train", "molweni"}
    assert reader["data"]["conversations"] > 0 and reader["data"]["bench_overlap"] == 0
    assert 0.0 <= reader["measured"]["right_without"]["all"] <= 1.0 and reader["measured"]["held_out"] == 3
