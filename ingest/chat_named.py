"""Logs of people talking, one line per turn, in the shapes plain logs use:

    Alice: are we still on for Friday?           (a transcript, or a pasted chat)
    <alice> yes, 7pm                             (IRC, Matrix bridges)
    [19:42] <alice> yes, 7pm                     (IRC with times)
    **Alice:** sure                              (a Markdown transcript)

A line that is not a turn continues the one above. A date heading ("# 2024-05-08", "--- Day changed
Wed May 08 2024") dates the turns under it, with the line's own time if it has one.

Only text that reads as a conversation is taken for one: at least two speakers who each speak twice,
and turns outnumbering distinct speakers two to one, so a note of "Address: …" / "Phone: …" lines
(every key once) stays a document.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, datetime, time

from .units import Unit

_TIME = r"(?:\[?(?:(?P<date>\d{4}-\d{2}-\d{2})[ T])?(?P<hh>\d{1,2}):(?P<mm>\d{2})(?::\d{2})?\]?\s+)?"
_TURN = re.compile(
    rf"^\s*{_TIME}(?:<[@+%&~]?(?P<nick>[^>\s]{{1,40}})>\s?(?P<t1>.*)"
    rf"|\*\*(?P<bold>[^*:\n]{{2,40}}?):?\*\*:?\s(?P<t2>.*)"
    rf"|(?P<name>[A-Z][\w.'-]{{1,30}}(?: [A-Z][\w.'-]{{0,30}}){{0,2}}):\s(?P<t3>.*))$"
)
_DAY_HEADING = re.compile(r"^\s*(?:#+|-{3}|={3})\s*.*?(?P<iso>\d{4}-\d{2}-\d{2})|Day changed (?P<day>.+)$")


def _heading_date(line: str) -> date | None:
    m = _DAY_HEADING.search(line)
    if not m:
        return None
    if m["iso"]:
        try:
            return date.fromisoformat(m["iso"])
        except ValueError:
            return None
    try:  # "--- Day changed Wed May 08 2024" (irssi)
        return datetime.strptime(m["day"].strip(), "%a %b %d %Y").date()
    except ValueError:
        return None


def _when(m: re.Match[str], day: date | None) -> datetime | None:
    if m["date"]:
        try:
            day = date.fromisoformat(m["date"])
        except ValueError:
            return None
    if day is None:
        return None
    if m["hh"] is None or int(m["hh"]) > 23 or int(m["mm"]) > 59:
        return datetime.combine(day, time())
    return datetime.combine(day, time(int(m["hh"]), int(m["mm"])))


def parse(text: str) -> list[Unit] | None:
    """The turns of a named-speaker log, or None if ``text`` does not read as a conversation."""
    turns: list[tuple[str, datetime | None, list[str]]] = []
    day: date | None = None
    for line in text.replace("\r\n", "\n").split("\n"):
        heading = _heading_date(line)
        if heading is not None:
            day = heading
            continue
        m = _TURN.match(line)
        if m:
            speaker = (m["nick"] or m["bold"] or m["name"]).strip()
            turns.append((speaker, _when(m, day), [m["t1"] or m["t2"] or m["t3"] or ""]))
        elif turns and not line.lstrip().startswith("#"):
            turns[-1][2].append(line)
    counts = Counter(s for s, _, _ in turns)
    if len([s for s, n in counts.items() if n >= 2]) < 2 or len(turns) < 2 * len(counts):
        return None
    lines = sum(1 for ln in text.splitlines() if ln.strip())
    if len(turns) < 0.3 * lines:  # prose with a few "Name: ..." lines in it
        return None
    units = [Unit("\n".join(body).strip(), speaker=s, time=when) for s, when, body in turns]
    return [u for u in units if u.text] or None
