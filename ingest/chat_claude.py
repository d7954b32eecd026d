"""Claude's data export, ``conversations.json``: a list of conversations with ``name`` and
``chat_messages``, each ``{"sender": "human" | "assistant", "text", "content": [{"type": "text",
"text"}], "created_at"}``."""

from __future__ import annotations

from typing import Any

from .units import Unit, from_iso

ASSISTANT = "Claude"


def _is_export(obj: Any) -> bool:
    return (
        isinstance(obj, list)
        and bool(obj)
        and all(isinstance(c, dict) and isinstance(c.get("chat_messages"), list) for c in obj)
    )


def _text(message: dict[str, Any]) -> str:
    blocks = message.get("content")
    if isinstance(blocks, list):
        parts = [b.get("text") for b in blocks if isinstance(b, dict) and b.get("type") == "text"]
        text = "\n".join(p for p in parts if isinstance(p, str))
        if text.strip():
            return text.strip()
    return str(message.get("text") or "").strip()


def parse(obj: Any) -> list[Unit] | None:
    if not _is_export(obj):
        return None
    units = []
    for conv in obj:
        title = str(conv.get("name") or "untitled conversation")
        for message in conv["chat_messages"]:
            if not isinstance(message, dict):
                continue
            role = {"human": "user", "assistant": "assistant"}.get(str(message.get("sender")))
            text = _text(message)
            if role is None or not text:
                continue
            speaker = ASSISTANT if role == "assistant" else None
            when = from_iso(message.get("created_at"))
            units.append(Unit(text, role=role, speaker=speaker, time=when, session=title))
    return units or None
