"""Chats with an assistant as sleepd writes them: JSONL ``{"role", "content"}`` lines, or plain
``user:`` / ``assistant:`` logs (a line without a role prefix continues the turn)."""

from __future__ import annotations

import json
import re

from .units import ROLES, Unit

_ROLE_LINE = re.compile(r"^\s*(user|assistant|system|human|ai|bot|me|you)\s*:\s?(.*)$", re.IGNORECASE)
_ROLE_ALIASES = {"human": "user", "me": "user", "ai": "assistant", "bot": "assistant", "you": "assistant"}


def normalise_role(role: str) -> str | None:
    role = role.strip().lower()
    role = _ROLE_ALIASES.get(role, role)
    return role if role in ROLES else None


def parse_jsonl(text: str) -> list[Unit] | None:
    """Turns of a JSONL chat log, or None if the text is not one."""
    units: list[Unit] = []
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        return None
    for line in lines:
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            return None
        if not isinstance(obj, dict) or "content" not in obj:
            return None
        role = normalise_role(str(obj.get("role", obj.get("speaker", ""))))
        content = obj["content"]
        if role is None or not isinstance(content, str):
            return None
        if content.strip():
            units.append(Unit(content.strip(), role))
    return units


def parse_plain(text: str, *, forced: bool = False) -> list[Unit] | None:
    """Turns of a ``user: ...`` / ``assistant: ...`` log, or None if the text is not one.

    Unless ``forced``, at least two turns of two roles and a role line at the very start are
    required, so prose that merely contains "User:" once stays a document.
    """
    turns: list[tuple[str, list[str]]] = []
    for line in text.replace("\r\n", "\n").split("\n"):
        m = _ROLE_LINE.match(line)
        role = normalise_role(m.group(1)) if m else None
        if m and role:
            turns.append((role, [m.group(2)]))
        elif turns:
            turns[-1][1].append(line)
        elif line.strip():
            if not forced:
                return None
            turns.append(("user", [line]))
    units = [Unit("\n".join(lines).strip(), role) for role, lines in turns]
    units = [u for u in units if u.text]
    if not forced and (len(units) < 2 or len({u.role for u in units}) < 2):
        return None
    return units or None
