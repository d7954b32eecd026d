"""`sleepd eval` in a throwaway home, on the tiny model: a sleep the gate rejects is recorded and the
run goes on measuring the version still served, as the daemon would serve it."""

from __future__ import annotations

from pathlib import Path

from sleepd.evaluation.questions import Question
from sleepd.evaluation.run import run_eval
from sleepd.storage import Config, load_config


def test_a_rejected_sleep_is_recorded_and_the_run_goes_on(
    tiny_config: Config, sleepd_home: Path, tmp_path: Path
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("Server kestrel-9 runs Alpine and listens on port 7001.\n")
    (docs / "b.md").write_text("The skipper of the Amber Finch is Ragnar Solheim.\n")
    questions = [
        Question("Which port does kestrel-9 listen on?", "7001", "a.md"),
        Question("Who is the skipper of the Amber Finch?", "Ragnar Solheim", "b.md"),
    ]
    cfg_file = sleepd_home / "config" / "config.toml"
    cfg_file.write_text(cfg_file.read_text() + "gate_min_general_kept = 2.0\n")  # rejects every sleep

    result = run_eval(load_config(), docs, questions, batches=2, baselines=False)

    assert [r["sleep"] for r in result["rejected_sleeps"]] == [1, 2]
    assert all("general ability" in r["reason"] for r in result["rejected_sleeps"])
    assert len(result["sleep_seconds"]) == 2
    assert result["retention"][0][1] is not None and result["retention"][1][1] is not None
    assert result["train_tokens_per_new_token"] == 0  # no version was written
