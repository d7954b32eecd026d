"""Discord channel exports in DiscordChatExporter's JSON shape: ``{"guild", "channel", "messages":
[{"timestamp", "content", "author": {"name", "nickname"}, "attachments", "type"}]}``. Messages with
no text (an attachment alone) say what was attached; joins and pins are left out."""

from __future__ import annotations

from typing import Any

from .units import Unit, from_iso

_KEPT_TYPES = {"Default", "Reply", None}


def parse(obj: Any) -> list[Unit] | None:
    if not (isinstance(obj, dict) and isinstance(obj.get("messages"), list) and "channel" in obj):
        return None
    units = []
    for m in obj["messages"]:
        if not isinstance(m, dict) or m.get("type") not in _KEPT_TYPES:
            continue
        author = m.get("author") or {}
        text = str(m.get("content") or "").strip()
        if not text and m.get("attachments"):
            names = [a.get("fileName", "a file") for a in m["attachments"] if isinstance(a, dict)]
            text = f"(shared {', '.join(names)})"
        if not text:
            continue
        speaker = author.get("nickname") or author.get("name") or "someone"
        units.append(Unit(text, speaker=speaker, time=from_iso(m.get("timestamp"))))
    return units or None
