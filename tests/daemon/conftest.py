from __future__ import annotations

from pathlib import Path

import pytest

from sleepd.daemon.ingest import Ingestor, make_ingestor
from sleepd.storage import Config, Store, open_engine
from tests.conftest import fresh_config


@pytest.fixture
def tok_config(real_model_home: Path) -> Config:
    """Config whose model cache is the session's converted copy (the real tokenizer)."""
    return fresh_config()


@pytest.fixture
def tok_store(tok_config: Config) -> Store:
    return Store(open_engine(tok_config))


@pytest.fixture
def ingestor(tok_store: Store, tok_config: Config) -> Ingestor:
    return make_ingestor(tok_store, tok_config)
