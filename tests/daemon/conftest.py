from __future__ import annotations

from pathlib import Path

import pytest

from sleepd.daemon.ingest import Ingestor, make_ingestor
from sleepd.storage import Config, Store, load_config, open_engine


@pytest.fixture
def tok_config(real_model_home: Path) -> Config:
    """Config whose model cache is the session's converted copy (the real tokenizer)."""
    cfg = load_config()
    cfg.paths.ensure()
    return cfg


@pytest.fixture
def tok_store(tok_config: Config) -> Store:
    return Store(open_engine(tok_config))


@pytest.fixture
def ingestor(tok_store: Store, tok_config: Config) -> Ingestor:
    return make_ingestor(tok_store, tok_config)
