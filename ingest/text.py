"""Bytes to text: binary detection, decoding, paragraphs."""

from __future__ import annotations

import re
import unicodedata

from .units import Unit

# Bytes that never appear in text; a few of them in the first block mean a binary file.
_CONTROL = bytes(range(0, 9)) + bytes(range(14, 32))


def looks_binary(data: bytes) -> bool:
    head = data[:8192]
    if b"\x00" in head and not (head.startswith((b"\xff\xfe", b"\xfe\xff"))):
        return True
    controls = sum(head.count(bytes([c])) for c in _CONTROL)
    return controls > max(8, len(head) // 100)


def decode_text(data: bytes) -> tuple[str, list[str]]:
    """UTF-8 (with or without BOM) or UTF-16 with BOM as they are; anything else is detected by
    charset-normalizer (a Latin-1 note reads as Latin-1, not as U+FFFD), noted; failing that, UTF-8
    with replacement, noted."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), []
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError as e:
        bad_at = e.start
    encoding = legacy_encoding(data[:1_000_000])
    if encoding is not None:
        try:
            return data.decode(encoding), [f"not UTF-8: decoded as {encoding}"]
        except (UnicodeDecodeError, LookupError):
            pass
    return data.decode("utf-8", errors="replace"), [f"invalid UTF-8 at byte {bad_at} replaced"]


# A short note gives charset-normalizer little evidence: "caf\xe9 au lait" ties cp1006 (Urdu), cp1251
# and a dozen others, listed in name order. Ties go to the candidate whose non-ASCII characters are
# Latin letters when the rest of the text is Latin (it is, if it ties), then to Windows-1252, what
# "Latin-1" files and most Western legacy text are.
_TIE_BREAK = "cp1252"


def _latin_letters(text: str) -> int:
    return sum(1 for c in text if ord(c) > 127 and unicodedata.name(c, "").startswith("LATIN"))


def legacy_encoding(data: bytes) -> str | None:
    """The encoding charset-normalizer finds most plausible (least chaos, most coherent language)."""
    from charset_normalizer import from_bytes

    matches = list(from_bytes(data))
    if not matches:
        return None
    best = matches[0]
    tied = [m for m in matches if m.chaos <= best.chaos + 0.01 and m.coherence >= best.coherence - 0.01]
    if any(m.encoding == _TIE_BREAK for m in tied) or any(
        _TIE_BREAK in m.could_be_from_charset for m in tied
    ):
        return _TIE_BREAK if _latin_letters(data.decode(_TIE_BREAK, errors="replace")) else best.encoding
    return max(tied, key=lambda m: _latin_letters(str(m))).encoding


def paragraphs(text: str) -> list[Unit]:
    """Split on blank lines; each paragraph's inner line breaks are kept."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    parts = re.split(r"\n\s*\n", text)
    return [Unit(p.strip("\n").rstrip()) for p in parts if p.strip()]
