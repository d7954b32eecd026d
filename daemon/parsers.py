"""Turning one file's bytes into text units: paragraphs of a document, or the turns of a chat log.

Every failure is a ``Skip`` with a one-line reason, never an exception: ingest records it and goes on.
Formats: Markdown, plain text, reStructuredText, source code (as text), HTML (parsed, text only),
PDF (pypdf), and chat logs, either JSONL lines of ``{"role", "content"}`` or plain ``user:`` /
``assistant:`` logs. Chat logs are recognised by their content as well as by ``kind="chat"``.
"""

from __future__ import annotations

import io
import json
import logging
import re
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

ROLES = ("user", "assistant", "system")
HTML_SUFFIXES = {".html", ".htm", ".xhtml"}
PDF_SUFFIXES = {".pdf"}
# Bytes that never appear in text; a few of them in the first block mean a binary file.
_CONTROL = bytes(range(0, 9)) + bytes(range(14, 32))
_ROLE_LINE = re.compile(r"^\s*(user|assistant|system|human|ai|bot|me|you)\s*:\s?(.*)$", re.IGNORECASE)
_ROLE_ALIASES = {"human": "user", "me": "user", "ai": "assistant", "bot": "assistant", "you": "assistant"}


@dataclass(frozen=True)
class Unit:
    """A paragraph of a document or one chat turn; passages are built from whole units."""

    text: str
    role: str | None = None


@dataclass(frozen=True)
class Parsed:
    kind: str  # "docs" or "chat"
    units: list[Unit]
    notes: list[str] = field(default_factory=list)  # e.g. "invalid UTF-8 replaced"


@dataclass(frozen=True)
class Skip:
    reason: str


def looks_binary(data: bytes) -> bool:
    head = data[:8192]
    if b"\x00" in head and not (head.startswith((b"\xff\xfe", b"\xfe\xff"))):
        return True
    controls = sum(head.count(bytes([c])) for c in _CONTROL)
    return controls > max(8, len(head) // 100)


def decode_text(data: bytes) -> tuple[str, list[str]]:
    """UTF-8 (with or without BOM) or UTF-16 with BOM; else UTF-8 with replacement, noted."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), []
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError as e:
        return data.decode("utf-8", errors="replace"), [f"invalid UTF-8 at byte {e.start} replaced"]


def paragraphs(text: str) -> list[Unit]:
    """Split on blank lines; each paragraph's inner line breaks are kept."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    parts = re.split(r"\n\s*\n", text)
    return [Unit(p.strip("\n").rstrip()) for p in parts if p.strip()]


def _normalise_role(role: str) -> str | None:
    role = role.strip().lower()
    role = _ROLE_ALIASES.get(role, role)
    return role if role in ROLES else None


def parse_jsonl_chat(text: str) -> list[Unit] | None:
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
        role = _normalise_role(str(obj.get("role", obj.get("speaker", ""))))
        content = obj["content"]
        if role is None or not isinstance(content, str):
            return None
        if content.strip():
            units.append(Unit(content.strip(), role))
    return units


def parse_plain_chat(text: str, *, forced: bool = False) -> list[Unit] | None:
    """Turns of a ``user: ...`` / ``assistant: ...`` log, or None if the text is not one.

    Lines without a role prefix continue the current turn. Unless ``forced``, at least two turns
    and a role line at the very start are required, so prose that merely contains "User:" once
    stays a document.
    """
    turns: list[tuple[str, list[str]]] = []
    for line in text.replace("\r\n", "\n").split("\n"):
        m = _ROLE_LINE.match(line)
        role = _normalise_role(m.group(1)) if m else None
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


def parse_html(text: str) -> list[Unit]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(text, "html.parser")
    for tag in soup(["script", "style", "noscript", "template", "svg", "head"]):
        tag.decompose()
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    blocks = soup.get_text("\n\n", strip=True)
    units = paragraphs(blocks)
    # Inline tags split into separate "paragraphs" above; join short runs back into sentences.
    merged: list[Unit] = []
    for u in units:
        if merged and not re.search(r"[.!?:]$", merged[-1].text) and len(merged[-1].text) < 200:
            merged[-1] = Unit(merged[-1].text + " " + u.text)
        else:
            merged.append(u)
    return ([Unit(title)] if title and (not merged or merged[0].text != title) else []) + merged


def parse_pdf(data: bytes) -> Parsed | Skip:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            return Skip("encrypted PDF")
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError) as e:
        return Skip(f"unreadable PDF: {type(e).__name__}: {str(e)[:120]}")
    except Exception as e:  # pypdf raises many things on malformed files; none may stop ingest
        return Skip(f"unreadable PDF: {type(e).__name__}: {str(e)[:120]}")
    units = [u for page in pages for u in paragraphs(page)]
    if not units:
        return Skip("PDF has no extractable text")
    return Parsed("docs", units)


def parse_bytes(data: bytes, suffix: str, kind: str = "auto") -> Parsed | Skip:
    """Parse a file's content. ``kind`` is "auto", "docs" or "chat"."""
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
        turns = parse_jsonl_chat(text) or parse_plain_chat(text, forced=kind == "chat")
        if turns:
            return Parsed("chat", turns, notes)
        if kind == "chat":
            return Skip("not a chat log (expected JSONL role/content lines or 'user:' lines)")
    if suffix in HTML_SUFFIXES or (suffix == "" and re.match(r"\s*<(!doctype html|html)", text, re.I)):
        units = parse_html(text)
    else:
        units = paragraphs(text)
    if not units:
        return Skip("no text")
    return Parsed("docs", units, notes)
