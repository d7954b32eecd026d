"""docs/configuration.md is generated from the config dataclasses and kept current."""

from __future__ import annotations

from pathlib import Path

from sleepd.storage.config_docs import configuration_markdown, undocumented

PAGE = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def test_the_configuration_page_is_current() -> None:
    assert PAGE.read_text(encoding="utf-8") == configuration_markdown(), (
        "docs/configuration.md is stale: python -m sleepd.storage.config_docs docs/configuration.md"
    )


def test_every_setting_is_documented() -> None:
    assert undocumented() == []


def test_the_page_shows_every_default_as_toml() -> None:
    import tomllib

    blocks = configuration_markdown().split("```toml\n")[1:]
    parsed = {}
    for block in blocks:
        parsed |= tomllib.loads(block.split("```")[0])
    from sleepd.storage import Paths, load_config

    defaults = load_config(Paths.from_env({"SLEEPD_HOME": "/nonexistent"}), text="")
    assert parsed["sleep"]["epochs"] == defaults.sleep.epochs
    assert parsed["recall"]["note_tokens"] == defaults.recall.note_tokens
    assert parsed["watch"]["default_excludes"] == list(defaults.watch.default_excludes)
    assert "stop_loss" not in parsed["sleep"]
