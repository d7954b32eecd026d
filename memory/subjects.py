"""What a passage is about: every name a question could use to reach it.

A passage must be reachable by each name it holds, not by one guess: its heading, its file name,
every entity in it (capitalised names, identifiers such as ``atlas-07``), and for a chat turn the
same from its text. Questions go through the same extractor (``question_keys``), so a key that a
question names lines up with a key the memory was trained on.

This is generic text analysis, not a template: nothing here knows the devset's sentences.
"""

from __future__ import annotations

import re
from pathlib import PurePath

# Words that start sentences or questions and are capitalised only because of that.
_STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "this",
        "that",
        "these",
        "those",
        "there",
        "their",
        "they",
        "them",
        "he",
        "she",
        "it",
        "its",
        "his",
        "her",
        "i",
        "me",
        "my",
        "mine",
        "we",
        "our",
        "you",
        "your",
        "yours",
        "who",
        "what",
        "when",
        "where",
        "which",
        "why",
        "how",
        "whose",
        "whom",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "do",
        "does",
        "did",
        "done",
        "have",
        "has",
        "had",
        "having",
        "can",
        "could",
        "shall",
        "should",
        "will",
        "would",
        "may",
        "might",
        "must",
        "not",
        "no",
        "nor",
        "and",
        "or",
        "but",
        "if",
        "then",
        "else",
        "so",
        "than",
        "too",
        "very",
        "just",
        "also",
        "only",
        "ever",
        "never",
        "always",
        "often",
        "some",
        "any",
        "all",
        "each",
        "every",
        "both",
        "either",
        "neither",
        "of",
        "in",
        "on",
        "at",
        "to",
        "for",
        "from",
        "by",
        "with",
        "about",
        "into",
        "onto",
        "over",
        "under",
        "after",
        "before",
        "between",
        "through",
        "during",
        "without",
        "within",
        "against",
        "among",
        "per",
        "via",
        "as",
        "like",
        "note",
        "notes",
        "note:",
        "remember",
        "please",
        "tell",
        "say",
        "says",
        "said",
        "ok",
        "okay",
        "yes",
        "got",
        "thanks",
        "thank",
        "hello",
        "hi",
        "dear",
        "re",
        "fwd",
        "todo",
        "done",
        "list",
        "user",
        "assistant",
        "system",
        "much",
        "many",
        "more",
        "most",
        "less",
    ]
)
_CONNECTORS = frozenset(
    {"of", "the", "de", "del", "da", "di", "van", "von", "der", "la", "le", "du", "y", "and"}
)
_WORD = re.compile(r"[A-Za-zÀ-ÖØ-öø-ÿ][\w'’.-]*[\w]|[A-Za-zÀ-ÖØ-öø-ÿ]")
_IDENT = re.compile(
    r"\b(?=[\w.-]*[A-Za-z])(?=[\w.-]*\d)[A-Za-z0-9][\w.-]*[A-Za-z0-9]\b|\b[a-z]+(?:[-_][a-z0-9]+)+\b"
)
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$|^(.+)\n[=\-~^]{3,}\s*$", re.MULTILINE)


def _clean(key: str) -> str:
    key = key.strip(" \t\n.,;:!?()[]{}\"'`*_")
    key = re.sub(r"^(?:the|a|an)\s+", "", key, flags=re.IGNORECASE)
    return re.sub(r"\s+", " ", key)


def _is_unit_like(key: str) -> bool:
    """Short all-caps words and runs of them ("GB of RAM", "CPU"): units and acronyms, not names."""
    words = [w for w in key.split() if w.lower() not in _CONNECTORS]
    return all(w.isupper() and len(w) <= 4 for w in words)


def _is_capitalised(word: str) -> bool:
    return word[:1].isupper()


def capitalised_spans(text: str) -> list[str]:
    """Runs of capitalised words ("Gull's Errand", "Vesna Kowalczyk").

    A lone capitalised word opening a sentence ("Server brimstone ...") is capitalised by position,
    not because it is a name: it counts only if the text also capitalises it mid-sentence.
    """
    sentences = [_WORD.findall(s) for s in re.split(r"(?<=[.!?:;])\s+|\n+", text)]
    mid_caps = {w for words in sentences for w in words[1:] if _is_capitalised(w)}
    spans: list[str] = []
    for words in sentences:
        run: list[str] = []
        run_start = 0
        for i, w in enumerate([*words, ""]):
            base = re.sub(r"['’]s$", "", w)
            if w and _is_capitalised(w) and base.lower() not in _STOP:
                if not run:
                    run_start = i
                run.append(w)
            elif w.lower() in _CONNECTORS and run:
                run.append(w)
            else:
                while run and run[-1].lower() in _CONNECTORS:
                    run.pop()
                if run and not (len(run) == 1 and run_start == 0 and run[0] not in mid_caps):
                    spans.append(" ".join(run))
                run = []
    return spans


def identifiers(text: str) -> list[str]:
    """Tokens mixing letters and digits or joined by hyphens: atlas-07, tundra-42, quokka-db, 4B."""
    return [m.group(0) for m in _IDENT.finditer(text) if not re.fullmatch(r"\d+[a-z]{0,2}", m.group(0))]


def headings(text: str) -> list[str]:
    return [_clean(m.group(1) or m.group(2)) for m in _HEADING.finditer(text)]


def file_keys(path: str) -> list[str]:
    """The file's stem, if it is a name (not "0" or "notes"), and its words when it is a compound."""
    stem = PurePath(path).stem
    if not re.search(r"[A-Za-z]{3,}", stem) or stem.lower() in _STOP:
        return []
    keys = [stem]
    spaced = re.sub(r"[-_]+", " ", stem).strip()
    if spaced != stem:
        keys.append(spaced)
    return keys


def _fix_case(key: str, text: str) -> str:
    """Prefer how the body writes a key ("Gull's Errand") over a heading's casing ("Gull'S")."""
    m = re.search(re.escape(key), text, re.IGNORECASE)
    return m.group(0) if m else key


def passage_keys(text: str, source_path: str = "", limit: int = 8) -> list[str]:
    """Every name the passage can be reached by, most specific first, deduplicated."""
    body_for_case = re.sub(_HEADING, "", text)
    candidates = [_fix_case(h, body_for_case) for h in headings(text)]
    candidates += capitalised_spans(text) + identifiers(text)
    candidates += [k for k in file_keys(source_path) if k.lower() in text.lower() or not candidates]
    seen: dict[str, str] = {}
    for key in map(_clean, candidates):
        low = key.lower()
        if len(key) < 2 or low in _STOP or low in seen:
            continue
        seen[low] = key
    keys = [k for k in seen.values() if not _is_unit_like(k)]
    # Drop a single word that only repeats part of a longer key ("Wren" beside "Copper Wren").
    keys = [k for k in keys if " " in k or not any(k != o and k in o.split() for o in keys)]
    return keys[:limit]


def question_keys(question: str, limit: int = 3) -> list[str]:
    """The names a question asks about, then its longest remaining content words."""
    keys = passage_keys(question, limit=limit)
    taken = {w.lower() for k in keys for w in k.split()}
    words = [
        w
        for w in re.findall(r"[\w'-]+", question)
        if re.sub(r"['’]s$", "", w).lower() not in _STOP
        and len(w) > 3
        and w.lower() not in taken
        and not _is_unit_like(w)
    ]
    words.sort(key=len, reverse=True)
    # Content words only when the question names nothing: beside a name they recite noise.
    return keys[:limit] if keys else words[:limit]
