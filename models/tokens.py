"""Counting tokens with the model's own tokenizer, without importing torch.

Passages are cut at ~400 tokens of the model's tokenizer. The fast path loads ``tokenizer.json``
with the Rust ``tokenizers`` library (no torch, ~0.1 s). Only when no such file exists yet (the
bundled GGUF not converted, a hub id) do we fall back to transformers, which prepares it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from sleepd.storage.config import Config

from .model import resolve_model_source

log = logging.getLogger(__name__)

CountTokens = Callable[[str], int]


def _tokenizer_file(config: Config) -> Path | None:
    source = resolve_model_source(config)
    # a GGUF's folder may hold other models' files: only its converted copy has its tokenizer
    for directory in (source.cached_dir, None if source.gguf_file else Path(source.path)):
        if directory is not None and (directory / "tokenizer.json").is_file():
            return directory / "tokenizer.json"
    return None


def load_token_counter(config: Config) -> CountTokens:
    path = _tokenizer_file(config)
    if path is None:
        source = resolve_model_source(config)
        if source.cached_dir is not None:
            from .model import ensure_converted

            ensure_converted(source)
            path = source.cached_dir / "tokenizer.json"
        else:
            from transformers import AutoTokenizer

            hf = AutoTokenizer.from_pretrained(source.path)
            return lambda text: len(hf(text, add_special_tokens=False)["input_ids"])
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(path))
    return lambda text: len(tokenizer.encode(text, add_special_tokens=False).ids)
