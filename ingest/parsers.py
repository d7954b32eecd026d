"""One file's bytes to text units: the paragraphs of a document, or the turns of a chat.

Every failure is a ``Skip`` with a one-line reason, never an exception: ingest records it and goes on.
Documents: Markdown, plain text, reStructuredText, source code (as text), HTML, PDF. Chats, recognised
by content whatever the file is called (``kind="chat"`` only forces the plain ``user:`` reading when
nothing else fits): ChatGPT and Claude ``conversations.json``, Slack and Discord JSON, WhatsApp
exports, JSONL ``{"role", "content"}`` lines, ``user:`` / ``assistant:`` logs and named-speaker logs.
A format module answers None when the text is not its format; the first that answers wins, most
specific first.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from . import chat_chatgpt, chat_claude, chat_discord, chat_named, chat_roles, chat_slack, chat_whatsapp
from .documents import HTML_SUFFIXES, PDF_SUFFIXES, parse_html, parse_pdf
from .text import decode_text, looks_binary, paragraphs
from .units import Parsed, Skip, Unit

__all__ = ["Parsed", "Skip", "Unit", "parse_bytes"]

_JSON_FORMATS: tuple[tuple[str, Callable[[Any, str | None], list[Unit] | None]], ...] = (
    ("chatgpt", lambda obj, _path: chat_chatgpt.parse(obj)),
    ("claude", lambda obj, _path: chat_claude.parse(obj)),
    ("discord", lambda obj, _path: chat_discord.parse(obj)),
    ("slack", chat_slack.parse),
)
_TEXT_FORMATS: tuple[tuple[str, Callable[[str], list[Unit] | None]], ...] = (
    ("jsonl", chat_roles.parse_jsonl),
    ("whatsapp", chat_whatsapp.parse),
    ("roles", chat_roles.parse_plain),
    ("named", chat_named.parse),
)


SLACK_METADATA = "Slack export metadata (read for names with the channel files)"


def parse_chat(text: str, path: str | None = None) -> tuple[str, list[Unit]] | Skip | None:
    """(format, turns) if ``text`` is a chat in a format we know."""
    if text.lstrip()[:1] in ("[", "{"):
        try:
            obj = json.loads(text)
        except ValueError:
            obj = None
        if chat_slack.is_metadata(obj, path):
            return Skip(SLACK_METADATA)
        if obj is not None:
            for name, parse in _JSON_FORMATS:
                units = parse(obj, path)
                if units:
                    return name, units
    for name, parse_text in _TEXT_FORMATS:
        units = parse_text(text)
        if units:
            return name, units
    return None


def parse_bytes(data: bytes, suffix: str, kind: str = "auto", path: str | None = None) -> Parsed | Skip:
    """Parse a file's content. ``kind`` is "auto", "docs" or "chat"; ``path`` lets a format read a
    file beside it (a Slack export's ``users.json``)."""
    suffix = suffix.lower()
    if not data:
        return Skip("empty file")
    if suffix in PDF_SUFFIXES or data.startswith(b"%PDF-"):
        return parse_pdf(data)
    if looks_binary(data):
        return Skip("binary file")
    text, notes = decode_text(data)
    if not text.strip():
        return Skip("no text (whitespace only)")
    if kind != "docs":
        chat = parse_chat(text, path)
        if isinstance(chat, Skip):
            return chat
        if chat is None and kind == "chat":
            forced = chat_roles.parse_plain(text, forced=True)
            chat = ("roles", forced) if forced else None
        if chat is not None:
            return Parsed("chat", chat[1], notes, format=chat[0])
        if kind == "chat":
            return Skip("not a chat log in a format sleepd knows")
    if suffix in HTML_SUFFIXES or (suffix == "" and re.match(r"\s*<(!doctype html|html)", text, re.I)):
        units = parse_html(text)
    else:
        units = paragraphs(text)
    if not units:
        return Skip("no text")
    return Parsed("docs", units, notes)
