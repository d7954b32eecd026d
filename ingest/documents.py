"""Documents that are not plain text: HTML (parsed, text only) and PDF (pypdf)."""

from __future__ import annotations

import io
import re

from .text import paragraphs
from .units import Parsed, Skip, Unit

HTML_SUFFIXES = {".html", ".htm", ".xhtml"}
PDF_SUFFIXES = {".pdf"}


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

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            return Skip("encrypted PDF")
        pages = [page.extract_text() or "" for page in reader.pages]
    except Exception as e:  # pypdf raises many things on malformed files; none may stop ingest
        return Skip(f"unreadable PDF: {type(e).__name__}: {str(e)[:120]}")
    units = [u for page in pages for u in paragraphs(page)]
    if not units:
        return Skip("PDF has no extractable text")
    return Parsed("docs", units)
