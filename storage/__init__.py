"""sleepd.storage: the SQLite buffer (sources, passages, FTS5 search, chats), config and paths."""

from .config import Config, ConfigError, Paths, load_config
from .db import open_engine
from .sources import ChatState
from .store import NewPassage, Passage, SearchHit, Source, Store

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
