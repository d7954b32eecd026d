"""Slack exports: a channel folder of day files (``general/2024-05-08.json``), each a JSON list of
messages, or one file holding such a list (or ``{"messages": [...]}``).

A message is ``{"type": "message", "user": "U…", "text": …, "ts": "1715170560.000100"}``, often with
``user_profile.real_name``; otherwise the name comes from the export's ``users.json`` (looked up in the
folders above the day file). Replies carry ``thread_ts``: they are kept in time order, marked as
replies. Joins, leaves and other subtypes that are not people talking are left out.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from .units import Unit, from_epoch

_KEPT_SUBTYPES = {None, "", "thread_broadcast", "me_message", "file_share"}
_MENTION = re.compile(r"<@([A-Z0-9]+)(?:\|([^>]+))?>")
_LINK = re.compile(r"<(https?://[^|>]+)(?:\|([^>]+))?>")


METADATA_FILES = (
    "users.json",
    "channels.json",
    "groups.json",
    "dms.json",
    "mpims.json",
    "integration_logs.json",
)


def is_metadata(obj: Any, path: str | None) -> bool:
    """An export's users/channels list: read with the day files (for names), not as a note."""
    if not path or Path(path).name not in METADATA_FILES or not isinstance(obj, list):
        return False
    return all(isinstance(o, dict) and "id" in o for o in obj)


def _messages(obj: Any) -> list[dict[str, Any]] | None:
    if isinstance(obj, dict):
        obj = obj.get("messages")
    if not isinstance(obj, list) or not obj:
        return None
    msgs = [m for m in obj if isinstance(m, dict)]
    if len(msgs) < len(obj) or not all("ts" in m and ("text" in m or "files" in m) for m in msgs):
        return None
    return msgs


@lru_cache(maxsize=16)
def _users_file(path: str, mtime: float) -> dict[str, str]:
    try:
        users = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    names: dict[str, str] = {}
    for u in users if isinstance(users, list) else []:
        if isinstance(u, dict) and "id" in u:
            profile = u.get("profile") or {}
            names[u["id"]] = (
                profile.get("display_name") or u.get("real_name") or profile.get("real_name") or u.get("name")
            ) or u["id"]
    return names


def _user_names(path: str | None) -> dict[str, str]:
    if not path:
        return {}
    for folder in list(Path(path).parents)[:2]:
        users = folder / "users.json"
        if users.is_file():
            return _users_file(str(users), users.stat().st_mtime)
    return {}


def _name(m: dict[str, Any], names: dict[str, str]) -> str:
    profile = m.get("user_profile") or {}
    return (
        profile.get("display_name")
        or profile.get("real_name")
        or m.get("user_name")
        or names.get(m.get("user", ""))
        or m.get("username")
        or m.get("user")
        or "someone"
    )


def parse(obj: Any, path: str | None) -> list[Unit] | None:
    msgs = _messages(obj)
    if msgs is None:
        return None
    names = _user_names(path)
    units = []
    for m in sorted(msgs, key=lambda m: float(m.get("ts") or 0)):
        if m.get("type", "message") != "message" or m.get("subtype") not in _KEPT_SUBTYPES:
            continue
        text = str(m.get("text") or "")
        text = _MENTION.sub(lambda x: "@" + (x[2] or names.get(x[1], x[1])), text)
        text = _LINK.sub(lambda x: x[2] or x[1], text).replace("&amp;", "&").replace("&lt;", "<")
        text = text.replace("&gt;", ">").strip()
        if not text:
            continue
        if m.get("thread_ts") and m.get("thread_ts") != m.get("ts"):
            text = f"(in a thread) {text}"
        units.append(Unit(text, speaker=_name(m, names), time=from_epoch(m.get("ts"))))
    return units or None
