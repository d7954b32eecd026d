from __future__ import annotations

from pathlib import Path

import pytest

from sleepd.storage import ConfigError, Paths, load_config
from sleepd.storage.config import SleepConfig


def test_defaults_without_a_file(sleepd_home: Path) -> None:
    cfg = load_config()
    assert cfg.paths.config_dir == sleepd_home.resolve() / "config"
    assert cfg.paths.socket_path.parent == sleepd_home.resolve() / "run"
    assert cfg.db_path.parent == sleepd_home.resolve() / "data"
    assert cfg.model.name_or_path == ""
    assert cfg.watch.max_file_bytes == 20 * 1024 * 1024


def test_file_overrides_defaults(sleepd_home: Path) -> None:
    paths = Paths.from_env()
    paths.ensure()
    paths.config_file.write_text(
        '[model]\nname_or_path = "/models/mine"\nmax_new_tokens = 64\ntemperature = 1\n'
        '[sleep]\nlayer_share = 0.25\n[watch]\ndefault_excludes = ["*.log"]\n'
    )
    cfg = load_config()
    assert cfg.model.name_or_path == "/models/mine"
    assert cfg.model.max_new_tokens == 64
    assert cfg.model.temperature == 1.0
    assert cfg.sleep.layer_share == 0.25 and cfg.sleep.layers_of(30) == 8
    assert cfg.watch.default_excludes == ("*.log",)
    assert cfg.sleep.epochs == SleepConfig().epochs  # untouched default
    with pytest.raises(AttributeError):
        cfg.model.max_new_tokens = 1  # type: ignore[misc]  # frozen


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[model]\nnmae = 1\n", "unknown setting model.nmae"),
        ("[modle]\n", "unknown section"),
        ('[model]\nmax_new_tokens = "many"\n', "model.max_new_tokens: Input should be a valid integer"),
        ("[model\n", "config.toml"),
        # a string where a list belongs once became one pattern per character, "*" among them,
        # which excluded every file
        ('[watch]\ndefault_excludes = "*.log"\n', "watch.default_excludes: Input should be a valid array"),
        ("[daemon]\ntcp_port = true\n", "daemon.tcp_port: Input should be a valid integer"),  # bool is an int
        ('[sleep]\nlayer_choice = "best"\n', "sleep.layer_choice must be"),
        ("[sleep]\nmin_steps_per_epoch = 0\n", "sleep.min_steps_per_epoch must be 1 or more"),
        ("[sleep]\nmax_minutes = -1\n", "sleep.max_minutes must be 0 \\(no budget\\) or more"),
    ],
)
def test_bad_files_are_one_clear_error(sleepd_home: Path, body: str, message: str) -> None:
    paths = Paths.from_env()
    paths.ensure()
    paths.config_file.write_text(body)
    with pytest.raises(ConfigError, match=message):
        load_config()


def test_settings_of_removed_experiments_load_with_one_warning_each(
    sleepd_home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    body = "[sleep]\nstop_loss = 0.2\nroute_tokens = 6\nepochs = 3\n[recall]\nheld_scores = true\n"
    with caplog.at_level("WARNING", logger="sleepd.storage.config"):
        config = load_config(Paths.from_env(), text=body)
    assert config.sleep.epochs == 3  # the rest of the file still applies
    warned = [r.getMessage() for r in caplog.records]
    assert len(warned) == 3 and all("no longer a setting" in w for w in warned)
    assert {w.split()[1] for w in warned} == {"sleep.stop_loss", "sleep.route_tokens", "recall.held_scores"}
    assert not hasattr(config.sleep, "stop_loss")


def test_without_sleepd_home_uses_user_dirs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SLEEPD_HOME")
    paths = Paths.from_env()
    assert "sleepd" in str(paths.config_dir) and "sleepd" in str(paths.data_dir)


def test_set_setting_changes_one_line_and_keeps_the_rest(sleepd_home: Path) -> None:
    from sleepd.storage.config import set_setting

    paths = Paths.from_env()
    paths.config_dir.mkdir(parents=True)
    paths.config_file.write_text("# mine\n[model]\nmax_new_tokens = 99  # short\n\n[sleep]\nepochs = 3\n")
    config = set_setting(paths, "model", "name_or_path", '/models/a "b".gguf')
    assert config.model.name_or_path == '/models/a "b".gguf' and config.model.max_new_tokens == 99
    text = paths.config_file.read_text()
    assert text.startswith("# mine\n[model]\nname_or_path = ") and "max_new_tokens = 99  # short" in text
    assert set_setting(paths, "model", "name_or_path", "/other").model.name_or_path == "/other"
    assert paths.config_file.read_text().count("name_or_path") == 1
    assert set_setting(paths, "model", "name_or_path", None).model.name_or_path == ""
    assert set_setting(paths, "daemon", "tcp_host", "::1").daemon.tcp_host == "::1"  # a new section
    before = paths.config_file.read_text()
    with pytest.raises(ConfigError, match="model.device must be one of"):
        set_setting(paths, "model", "device", "tpu")
    assert paths.config_file.read_text() == before  # nothing written
