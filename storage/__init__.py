"""sleepd.storage: the SQLite buffer (sources, passages, FTS5 search, chats), config and paths.

The names below are loaded on first use (PEP 562), so importing one light submodule
(``sleepd.storage.errors``, ``.config``) does not import SQLAlchemy: the CLI's start-up stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .config import Config, ConfigError, Paths, load_config
    from .db import open_engine
    from .sources import ChatState
    from .store import NewPassage, Passage, SearchHit, Source, Store

_HOME = {
    "ChatState": "sources",
    "Config": "config",
    "ConfigError": "config",
    "NewPassage": "store",
    "Passage": "store",
    "Paths": "config",
    "SearchHit": "store",
    "Source": "store",
    "Store": "store",
    "load_config": "config",
    "open_engine": "db",
}

__all__ = [
    "ChatState",
    "Config",
    "ConfigError",
    "NewPassage",
    "Passage",
    "Paths",
    "SearchHit",
    "Source",
    "Store",
    "load_config",
    "open_engine",
]


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_HOME[name]}", __name__), name)
