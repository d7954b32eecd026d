"""Every test runs with SLEEPD_HOME in its own temp dir: a real SQLite file, nothing shared."""

from __future__ import annotations

from pathlib import Path

import pytest

from sleepd.storage import Config, Paths, Store, load_config, open_engine

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
DEVSET = SHARED / "bench" / "devset"


@pytest.fixture(autouse=True)
def sleepd_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("SLEEPD_HOME", str(home))
    return home


def fresh_config() -> Config:
    """The config of the current SLEEPD_HOME, its dirs made (the DB is not opened)."""
    cfg = load_config(Paths.from_env())
    cfg.paths.ensure()
    return cfg


@pytest.fixture
def config(sleepd_home: Path) -> Config:
    return fresh_config()


@pytest.fixture
def store(config: Config) -> Store:
    return Store(open_engine(config))


@pytest.fixture(scope="session")
def model_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One converted copy of the bundled model for the whole session (conversion takes ~20 s)."""
    return tmp_path_factory.mktemp("models")


@pytest.fixture
def real_model_home(sleepd_home: Path, model_cache_dir: Path) -> Path:
    """A SLEEPD_HOME whose config points the model cache at the session's shared copy."""
    cfg_dir = sleepd_home / "config"
    cfg_dir.mkdir(parents=True, exist_ok=True)
    (cfg_dir / "config.toml").write_text(f'[model]\ncache_dir = "{model_cache_dir}"\n')
    return sleepd_home
