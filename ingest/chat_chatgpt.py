"""ChatGPT's data export, ``conversations.json``: a list of conversations, each with a ``title`` and a
``mapping`` of message nodes (``{"message": {"author": {"role"}, "content": {"parts"}, "create_time"},
"parent", "children"}``) forming a tree: regenerated answers are branches. The conversation as it was
left is the path from ``current_node`` up to the root; other branches are left out, as are system and
tool messages and non-text parts (images, code-interpreter output)."""

from __future__ import annotations

from typing import Any

from .units import Unit, from_epoch

ASSISTANT = "ChatGPT"


def _is_export(obj: Any) -> bool:
    if isinstance(obj, dict):
        obj = [obj]
    return isinstance(obj, list) and bool(obj) and all(isinstance(c, dict) and "mapping" in c for c in obj)


def _branch(conv: dict[str, Any]) -> list[dict[str, Any]]:
    mapping = conv.get("mapping") or {}
    node_id = conv.get("current_node")
    if node_id not in mapping:  # no pointer: follow the last child from the root
        roots = [k for k, n in mapping.items() if not n.get("parent")]
        node_id = roots[0] if roots else None
        while node_id and (mapping[node_id].get("children") or []):
            node_id = mapping[node_id]["children"][-1]
    path, seen = [], set()
    while node_id in mapping and node_id not in seen:
        seen.add(node_id)
        path.append(mapping[node_id])
        node_id = mapping[node_id].get("parent")
    return path[::-1]


def _text(message: dict[str, Any]) -> str:
    content = message.get("content") or {}
    parts = content.get("parts") or ([content["text"]] if isinstance(content.get("text"), str) else [])
    return "\n".join(p for p in parts if isinstance(p, str)).strip()


def parse(obj: Any) -> list[Unit] | None:
    if not _is_export(obj):
        return None
    units = []
    for conv in obj if isinstance(obj, list) else [obj]:
        title = str(conv.get("title") or "untitled conversation")
        for node in _branch(conv):
            message = node.get("message") or {}
            role = (message.get("author") or {}).get("role")
            text = _text(message)
            if role not in ("user", "assistant") or not text:
                continue
            when = from_epoch(message.get("create_time") or conv.get("create_time"))
            speaker = ASSISTANT if role == "assistant" else None
            units.append(Unit(text, role=role, speaker=speaker, time=when, session=title))
    return units or None
