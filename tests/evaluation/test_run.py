"""`sleepd eval` in a throwaway home, on the tiny model: a sleep the gate rejects is recorded and the
run goes on measuring the version still served, as the daemon would serve it."""

from __future__ import annotations

from pathlib import Path

from sleepd.evaluation.command import render_text
from sleepd.evaluation.questions import Question
from sleepd.evaluation.run import EvalOptions, run_eval
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

    result = run_eval(load_config(), docs, questions, options=EvalOptions(batches=2, baselines=False))

    assert [r["sleep"] for r in result["rejected_sleeps"]] == [1, 2]
    assert all("general ability" in r["reason"] for r in result["rejected_sleeps"])
    assert len(result["sleep_seconds"]) == 2
    assert result["retention"][0][1] is not None and result["retention"][1][1] is not None
    assert result["train_tokens_per_new_token"] == 0  # no version was written
    assert result["question_writing"] is None  # nor a question-writing record
    # no version served: as chat, nothing is recited, so closed-book is the plain model's answers
    assert result["after"] == result["before"] and result["chat"] == result["buffer"]
    assert result["precision"] == {"dtype": "fp32", "reason": "set in the config (fp32)"}
    text = "\n".join(render_text(result))  # what `sleepd eval` prints
    assert "precision     fp32 (set in the config (fp32))" in text
    assert "sleep 1 rejected by the gate: general ability" in text and "closed-book" in text


def test_eval_input_errors_are_one_line(tiny_config: Config, tmp_path: Path) -> None:
    import pytest

    from sleepd.evaluation.command import EvalInputError, eval_command

    with pytest.raises(EvalInputError, match="give --set, or both --docs and --questions"):
        eval_command(tiny_config)
    with pytest.raises(EvalInputError, match="not a folder"):
        eval_command(tiny_config, docs=str(tmp_path / "none"), questions=str(tmp_path / "q.json"))
    (tmp_path / "d").mkdir()
    with pytest.raises(EvalInputError, match="cannot read questions"):
        eval_command(tiny_config, docs=str(tmp_path / "d"), questions=str(tmp_path / "q.json"))
    with pytest.raises(EvalInputError, match="--batches"):
        eval_command(tiny_config, bench_set="devset", batches=0)
