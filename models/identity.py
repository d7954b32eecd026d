"""What names a base model on disk: a folder-safe slug for its id, and the hash of its weights
file (a prior or an adapter fits only the weights it was trained on)."""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from pathlib import Path


def model_slug(name: str) -> str:
    """A folder name for a model id or path: "HuggingFaceTB/SmolLM2-135M" -> "HuggingFaceTB--SmolLM2-135M"."""
    return re.sub(r"[^\w.-]+", "--", name.strip("/")).strip("-") or "model"


@lru_cache(maxsize=8)
def _file_sha256(path: str, size: int, mtime: float) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def base_fingerprint(model_path: str, gguf_file: str | None = None) -> str | None:
    """sha256 of the base model's weights file (the GGUF, or the first safetensors file of a
    directory); None for a hub id that is not a local path."""
    p = Path(model_path)
    files = [p / gguf_file] if gguf_file else sorted(p.glob("*.safetensors")) if p.is_dir() else []
    files = [f for f in files if f.is_file()]
    if not files:
        return None
    st = files[0].stat()
    return _file_sha256(str(files[0]), st.st_size, st.st_mtime)
