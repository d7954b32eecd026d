"""Every test runs with SLEEPD_HOME in its own temp dir: a real SQLite file, nothing shared."""

from __future__ import annotations

from pathlib import Path

import pytest

from sleepd.ingest.ingestor import Ingestor, make_ingestor
from sleepd.models.tokens import load_token_counter
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


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory, model_cache_dir: Path) -> Path:
    """A randomly initialised 4-layer Llama with the bundled model's real tokenizer."""
    from sleepd.models.model import ensure_converted, resolve_model_source

    home = tmp_path_factory.mktemp("tokhome")
    (home / "config").mkdir()
    (home / "config" / "config.toml").write_text(f'[model]\ncache_dir = "{model_cache_dir}"\n')
    cached = Path(
        ensure_converted(resolve_model_source(load_config(Paths.from_env({"SLEEPD_HOME": str(home)}))))
    )
    from tests.tiny_models import build_tiny

    return build_tiny("llama", cached, tmp_path_factory.mktemp("tiny-llama"))


def write_tiny_config(home: Path, model_dir: Path) -> Config:
    """Point ``home``'s config at the tiny model, with short sleeps; returns the config."""
    (home / "config").mkdir(parents=True, exist_ok=True)
    (home / "config" / "config.toml").write_text(
        f'[model]\nname_or_path = "{model_dir}"\n[sleep]\nepochs = 2\nlora_rank = 4\ndtype = "fp32"\n'
    )
    return fresh_config()


@pytest.fixture
def tiny_config(sleepd_home: Path, tiny_model_dir: Path) -> Config:
    return write_tiny_config(sleepd_home, tiny_model_dir)


@pytest.fixture
def tiny_store(tiny_config: Config) -> Store:
    return Store(open_engine(tiny_config))


# -- ingestion with the real tokenizer (tests/ingest, tests/daemon) ----------------------------------
@pytest.fixture
def tok_config(real_model_home: Path) -> Config:
    """Config whose model cache is the session's converted copy (the real tokenizer)."""
    return fresh_config()


@pytest.fixture
def tok_store(tok_config: Config) -> Store:
    return Store(open_engine(tok_config))


@pytest.fixture
def ingestor(tok_store: Store, tok_config: Config) -> Ingestor:
    return make_ingestor(tok_store, tok_config, load_token_counter(tok_config))
