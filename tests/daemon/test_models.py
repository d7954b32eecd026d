"""`sleepd models` finds what other tools keep (an Ollama store, LM Studio's folder, the Hugging Face
cache, a loose GGUF), and `sleepd model use` switches a running daemon to each, keeping each
model's memory apart. The models are tiny random ones, written as real GGUF and safetensors files."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest

from sleepd.models.model import bundled_gguf_path
from sleepd.storage import Config
from tests.conftest import fresh_config
from tests.tiny_gguf import write_tiny_gguf
from tests.tiny_models import build_tiny

from .daemon_proc import RunningDaemon, sleepd


@pytest.fixture(scope="module")
def tiny_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    bundled = bundled_gguf_path()
    assert bundled is not None
    return write_tiny_gguf(bundled, tmp_path_factory.mktemp("gguf") / "tiny-llama-F32.gguf")


def lay_out_stores(home: Path, gguf: Path, tokenizer_dir: Path) -> Path:
    """Ollama, LM Studio and HF-cache layouts under ``home``, and a loose folder (returned)."""
    digest = hashlib.sha256(gguf.read_bytes()).hexdigest()
    ollama = home / ".ollama" / "models"
    (ollama / "blobs").mkdir(parents=True)
    shutil.copy(gguf, ollama / "blobs" / f"sha256-{digest}")
    (ollama / "blobs" / "sha256-0000").write_text("{{ .Prompt }}")  # a template layer: not a model
    manifest = ollama / "manifests" / "registry.ollama.ai" / "library" / "tinyllama" / "latest"
    manifest.parent.mkdir(parents=True)
    manifest.write_text(
        json.dumps(
            {
                "layers": [
                    {"mediaType": "application/vnd.ollama.image.model", "digest": f"sha256:{digest}"},
                    {"mediaType": "application/vnd.ollama.image.template", "digest": "sha256:0000"},
                ]
            }
        )
    )
    lms = home / ".lmstudio" / "models" / "someone" / "tiny-GGUF"
    lms.mkdir(parents=True)
    shutil.copy(gguf, lms / "tiny-Q8.gguf")
    snapshot = home / ".cache" / "huggingface" / "hub" / "models--tiny--qwen3" / "snapshots" / "abc123"
    build_tiny("qwen3", tokenizer_dir, snapshot)
    encoder = home / ".cache" / "huggingface" / "hub" / "models--tiny--t5" / "snapshots" / "def456"
    encoder.mkdir(parents=True)
    (encoder / "config.json").write_text('{"model_type": "t5"}')
    (encoder / "model.safetensors").write_bytes(len(b"{}").to_bytes(8, "little") + b"{}")
    loose = home / "models"
    loose.mkdir()
    shutil.copy(gguf, loose / "mine.gguf")
    return loose


@pytest.fixture
def laid_out(
    sleepd_home: Path,
    tiny_gguf: Path,
    tiny_model_dir: Path,
    model_cache_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Config:
    home = sleepd_home.parent / "user"
    loose = lay_out_stores(home, tiny_gguf, tiny_model_dir)
    monkeypatch.setenv("HOME", str(home))
    for var in ("OLLAMA_MODELS", "HF_HOME", "HF_HUB_CACHE"):
        monkeypatch.delenv(var, raising=False)
    (sleepd_home / "config").mkdir(parents=True)
    (sleepd_home / "config" / "config.toml").write_text(
        f'# my settings\n[model]\nsearch_paths = ["{loose}"]\nmax_new_tokens = 8\n'
        f'cache_dir = "{model_cache_dir}"\n\n'
        '[sleep]\nepochs = 2\nlora_rank = 4\ndtype = "fp32"\n'
    )
    return fresh_config()


def test_models_lists_every_store(laid_out: Config) -> None:
    rows = {r["name"]: r for r in json.loads(sleepd("models", "--json").stdout)}
    loose = str(Path(os.environ["HOME"]) / "models" / "mine.gguf")
    assert set(rows) == {
        "bundled",
        "ollama:tinyllama:latest",
        "lmstudio:someone/tiny-GGUF/tiny-Q8.gguf",
        "hf:tiny/qwen3",
        "hf:tiny/t5",
        loose,
    }
    assert rows["bundled"]["in_use"] and rows["bundled"]["quantisation"] == "Q4_1"
    tiny = rows["ollama:tinyllama:latest"]
    assert (tiny["family"], tiny["quantisation"], tiny["trainable"], tiny["chat_template"]) == (
        "llama",
        "F32",
        True,
        True,
    )
    # embedding 49152 x 64, two blocks of (q, o 64x64; k, v 32x64; three 64x128 MLP; two norms), a norm
    assert tiny["params"] == 49152 * 64 + 2 * (2 * 64 * 64 + 2 * 32 * 64 + 3 * 64 * 128 + 2 * 64) + 64
    assert rows["hf:tiny/qwen3"]["family"] == "qwen3" and rows["hf:tiny/qwen3"]["trainable"]
    assert not rows["hf:tiny/t5"]["trainable"] and "not one sleepd supports" in rows["hf:tiny/t5"]["problem"]
    text = sleepd("models").stdout
    assert "ollama:tinyllama:latest" in text and "no: family 't5'" in text


def test_model_use_switches_the_daemon_and_keeps_each_memory_apart(laid_out: Config, tmp_path: Path) -> None:
    config_file = laid_out.paths.config_file
    before = config_file.read_text()
    bad = sleepd("model", "use", "nonesuch", check=False)
    assert bad.returncode == 1 and bad.stderr.count("\n") == 1 and "no model 'nonesuch' found" in bad.stderr
    t5 = sleepd("model", "use", "hf:tiny/t5", check=False)
    assert t5.returncode == 1 and "not one sleepd supports" in t5.stderr
    assert config_file.read_text() == before  # nothing changed

    sleepd("model", "use", "tinyllama:latest")  # the store prefix may be left out when unique
    assert "# my settings" in config_file.read_text()  # the user's file kept, one line changed
    d = RunningDaemon(fresh_config(), tmp_path / "daemon.log")
    try:
        d.wait_ready()
        served = []
        loose = str(Path(os.environ["HOME"]) / "models" / "mine.gguf")
        for name in ("ollama:tinyllama:latest", "hf:tiny/qwen3", loose):
            if name != "ollama:tinyllama:latest":
                said = sleepd("model", "use", name).stdout
                assert "the daemon serves it now" in said and "memory is kept apart" in said
            status = d.client.get("/status")
            served.append(status["model"])
            assert sleepd("chat", "--no-remember", "Hello?").returncode == 0
        assert served[0].endswith(".ollama/models/blobs/sha256-" + served[0].rsplit("sha256-", 1)[-1])
        assert served[1].endswith("snapshots/abc123") and served[2].endswith("mine.gguf")
        # a model that cannot load: one line, the daemon and the config stay on the one before
        broken = tmp_path / "broken"
        broken.mkdir()
        (broken / "config.json").write_text('{"model_type": "llama"}')
        (broken / "model.safetensors").write_bytes(b"not weights")
        kept = config_file.read_text()
        failed = sleepd("model", "use", str(broken), check=False)
        assert failed.returncode == 1 and "cannot load the model" in failed.stderr
        assert failed.stderr.count("\n") == 1 and config_file.read_text() == kept
        assert d.client.get("/status")["model"] == served[2]

        sleepd("model", "use", "bundled")
        assert d.client.get("/status")["model"] == "SmolLM2-135M-Instruct"
    finally:
        assert d.stop() == 0
