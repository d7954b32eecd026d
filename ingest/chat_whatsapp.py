"""WhatsApp "Export chat" text files, both shapes the apps write:

    [12/03/2026, 19:42:11] Ana: message          (iOS)
    12/03/2026, 19:42 - Ana: message             (Android; "12/3/26, 7:42 PM - " in US locales)

A line that does not start with a timestamp continues the message above. System lines (encryption
notice, "X added Y") have no "Name:" and are left out, as are "<Media omitted>" placeholders and
deleted messages (iOS marks system lines and attachments with a left-to-right mark). Day-first or
month-first dates are told apart by the file itself (a first field above 12 means day-first);
ambiguous files are read day-first, as most of the world writes them.
"""

from __future__ import annotations

import re
from datetime import datetime

from .units import Unit

_STAMP = re.compile(
    r"^\u200e?\[?(?P<a>\d{1,2})[/.-](?P<b>\d{1,2})[/.-](?P<y>\d{2,4}),?\s+"
    r"(?P<h>\d{1,2})[:.](?P<m>\d{2})(?:[:.](?P<s>\d{2}))?\s*(?P<ampm>[AaPp]\.?\s?[Mm]\.?)?\]?"
    r"(?:\s+-\s+|\s+)(?P<rest>.*)$"
)
_SPEAKER = re.compile(r"^(?P<name>[^:]{1,60}?):\s(?P<text>.*)$")
_DROPPED = re.compile(
    r"^\u200e?(<Media omitted>|<attached: .*>|image omitted|video omitted|audio omitted|sticker omitted|"
    r"GIF omitted|document omitted|This message was deleted\.?|You deleted this message\.?|"
    r"<This message was edited>|null)$",
    re.IGNORECASE,
)


def _day_first(matches: list[re.Match[str]]) -> bool:
    if any(int(m["a"]) > 12 for m in matches):
        return True
    return not any(int(m["b"]) > 12 for m in matches)


def _time(m: re.Match[str], day_first: bool) -> datetime | None:
    a, b, year = int(m["a"]), int(m["b"]), int(m["y"])
    day, month = (a, b) if day_first else (b, a)
    year += 2000 if year < 100 else 0
    hour = int(m["h"])
    ampm = (m["ampm"] or "").lower().replace(".", "").replace(" ", "")
    if ampm == "pm" and hour < 12:
        hour += 12
    elif ampm == "am" and hour == 12:
        hour = 0
    try:
        return datetime(year, month, day, hour, int(m["m"]), int(m["s"] or 0))
    except ValueError:
        return None


def parse(text: str) -> list[Unit] | None:
    """The messages of a WhatsApp export, or None if ``text`` is not one."""
    lines = text.replace("\r\n", "\n").split("\n")
    stamped = [(i, m) for i, m in ((i, _STAMP.match(ln)) for i, ln in enumerate(lines)) if m]
    nonblank = sum(1 for ln in lines if ln.strip())
    spoken = [m for _, m in stamped if _SPEAKER.match(m["rest"])]
    # Most lines are stamped (multi-line messages add continuation lines) and two of them speak.
    if len(spoken) < 2 or len(stamped) < 0.4 * nonblank or not _STAMP.match(lines[_first(lines)]):
        return None
    day_first = _day_first([m for _, m in stamped])
    messages: list[tuple[str | None, datetime | None, list[str]]] = []
    for line in lines:
        m = _STAMP.match(line)
        if m is None:
            if messages and messages[-1][0] is not None:
                messages[-1][2].append(line)
            continue
        s = _SPEAKER.match(m["rest"])
        if s is None or s["text"].startswith("\u200e"):
            # a system line ("Messages and calls are end-to-end encrypted."); iOS writes those, and
            # attachments, under a name but starting with a left-to-right mark
            messages.append((None, None, []))
            continue
        messages.append((s["name"].strip().strip("\u200e~ "), _time(m, day_first), [s["text"]]))
    units = []
    for speaker, when, body in messages:
        content = "\n".join(body).strip().replace("\u200e", "")
        if speaker is None or not content or _DROPPED.match(content):
            continue
        units.append(Unit(content, speaker=speaker, time=when))
    return units or None


def _first(lines: list[str]) -> int:
    return next((i for i, ln in enumerate(lines) if ln.strip()), 0)
