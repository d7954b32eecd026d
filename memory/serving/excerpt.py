"""What default chat reads of its notes: the sentences that cover the question, under a token cap.

A chat's first token waits for the prefill of its whole prompt, and on a CPU that is linear in the
prompt's tokens, so whole notes make a large vault slow to answer (docs/decisions.md, "128 tokens of
notes"). A question is answered by a sentence or
two of a note, so past ``RecallConfig.note_tokens`` only the sentences that share the most of the
question's content words are read, each with its note's heading, then, where room is left, the
sentence after each (an answer often follows the sentence that names the subject).

A word in many sentences of the notes (a speaker's name on every chat line, a page's subject on every
line of it) tells them apart less, so a shared word counts ``log(1 + sentences / sentences holding
it)``, as in BM25's idf: counted over the notes being read, never a word list. Each note's best
sentence is read before the first note's next-best: the search ranks notes by words, and the
answer is often in the second note. A line of up to ``FACT_WORDS`` words is one unit, as in
``facts``: a chat turn's sentences after its first would be read without "On <date>, <name> said:".

Lines stay lines: sentences read from separate lines of a note are joined by a line break, and the
item after a list item is another entry, not the rest of it, so it is not read as "the sentence
after" (a password line followed by the router's address line was read as the address).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from sleepd.memory.facts import WordSignal, normal, sentences
from sleepd.models.tokens import CountTokens

GAP = " ... "  # between sentences of one note that were not next to each other
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+\S")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d{1,3}[.)])\s+\S")  # Markdown's bullets and numbered items


@dataclass(frozen=True)
class _Sentence:
    note: int  # index into the notes
    pos: int  # index into all the notes' sentences, in order
    text: str
    heading: str  # the last heading line above it in its note, '' if none
    stems: frozenset[str]
    forms: frozenset[str]  # its content words as written (lowercased): "normandy", not "norma"
    tokens: int
    line_start: bool  # the first sentence of a line of its note
    item: bool  # the first sentence of a list item


def _split(notes: Sequence[str], signal: WordSignal, count: CountTokens) -> list[_Sentence]:
    out: list[_Sentence] = []
    for n, note in enumerate(notes):
        heading = ""
        for line in note.splitlines():
            # a line of up to FACT_WORDS words (a chat turn) stays whole, as in sentences(note)
            for i, s in enumerate(sentences(line)):
                if _HEADING.match(s):
                    heading = s
                    continue
                first = i == 0
                out.append(
                    _Sentence(
                        n,
                        len(out),
                        s,
                        heading,
                        _stems(s, signal),
                        _forms(s, signal),
                        count(s),
                        line_start=first,
                        item=first and bool(_LIST_ITEM.match(s)),
                    )
                )
    return out


def _stems(text: str, signal: WordSignal) -> frozenset[str]:
    return frozenset(signal.stems(text))


def _forms(text: str, signal: WordSignal) -> frozenset[str]:
    return frozenset(normal(w) for w in signal.content_words(text))


def _scores(question: str, units: Sequence[_Sentence], signal: WordSignal) -> dict[int, float]:
    """Each sentence's share of the question: the idf of each stem it shares, plus half that of each
    word it shares as written (the 5-letter stem joins "Normandy" and "Normans"; the word as
    written tells them apart)."""
    score = dict.fromkeys((u.pos for u in units), 0.0)
    for words, q, share in (
        ([u.stems for u in units], _stems(question, signal), 1.0),
        ([u.forms for u in units], _forms(question, signal), 0.5),
    ):
        df = Counter(w for ws in words for w in ws)
        for u, ws in zip(units, words, strict=True):
            score[u.pos] += share * sum(math.log(1 + len(units) / df[w]) for w in ws & q)
    return score


def _window(
    text: str, question: frozenset[str], max_tokens: int, signal: WordSignal, count: CountTokens
) -> str:
    """A sentence longer than the cap: the run of its words around its first word the question
    shares (its start when it shares none), grown word by word while it fits."""
    words = text.split()
    hits = [i for i, w in enumerate(words) if question & signal.stems(w)]
    lo = hi = hits[0] if hits else 0
    grown = True
    while grown:
        grown = False
        if hi + 1 < len(words) and count(" ".join(words[lo : hi + 2])) <= max_tokens:
            hi, grown = hi + 1, True
        if lo > 0 and count(" ".join(words[lo - 1 : hi + 1])) <= max_tokens:
            lo, grown = lo - 1, True
    return " ".join(words[lo : hi + 1])


def excerpts(
    question: str, notes: Sequence[str], max_tokens: int, signal: WordSignal, count: CountTokens
) -> list[str]:
    """``notes`` as read for ``question``: whole while together they hold at most ``max_tokens``
    tokens (or ``max_tokens`` is 0), else each cut to its chosen sentences, in note order; a note
    none of whose sentences was chosen is left out. With no sentence sharing a word with the
    question, the first note's opening sentences are read."""
    if max_tokens <= 0 or sum(count(n) for n in notes) <= max_tokens:
        return list(notes)
    units = _split(notes, signal, count)
    if not units:
        return []
    score = _scores(question, units, signal)
    chosen: dict[int, str] = {}  # pos -> the text read for it
    headings: set[tuple[int, str]] = set()
    used = 0

    def take(u: _Sentence) -> bool:
        nonlocal used
        cost = u.tokens + (count(u.heading) if u.heading and (u.note, u.heading) not in headings else 0)
        if u.pos in chosen or used + cost > max_tokens:
            return False
        chosen[u.pos], used = u.text, used + cost
        if u.heading:
            headings.add((u.note, u.heading))
        return True

    ranked = sorted((u for u in units if score[u.pos] > 0), key=lambda u: (-score[u.pos], u.pos))
    best_of_each = list({u.note: u for u in reversed(ranked)}.values())  # each note's best, by rank
    for u in sorted(best_of_each, key=ranked.index) + ranked:  # every note's best first, then the rest
        take(u)
    for u in [u for u in ranked if u.pos in chosen]:  # then, with what is left, the sentence after
        after = units[u.pos + 1] if u.pos + 1 < len(units) else None
        if after is not None and after.note == u.note and not after.item:
            take(after)
    if not ranked:  # nothing in common: the best note's beginning
        for u in (u for u in units if u.note == 0):
            if not take(u):
                break
    if not chosen:  # the best sentence alone is over the cap
        best = ranked[0] if ranked else units[0]
        chosen[best.pos] = _window(best.text, _stems(question, signal), max_tokens, signal, count)
    return _joined(units, chosen)


def _joined(units: Sequence[_Sentence], chosen: dict[int, str]) -> list[str]:
    """Each note's chosen sentences in order, under their headings, gaps marked."""
    out: list[str] = []
    for n in dict.fromkeys(u.note for u in units):
        parts: list[str] = []
        last_pos, last_heading = -2, None
        for u in (u for u in units if u.note == n and u.pos in chosen):
            if u.heading != last_heading:
                if u.heading:
                    parts.append(("\n" if parts else "") + u.heading + "\n")
                last_heading = u.heading
            elif parts:
                parts.append(GAP if u.pos != last_pos + 1 else "\n" if u.line_start else " ")
            parts.append(chosen[u.pos])
            last_pos = u.pos
        if parts:
            out.append("".join(parts).strip())
    return out
