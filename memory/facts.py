"""What a passage holds, cut into units a question can reach, and the queries that reach them.

A *fact* is a few consecutive sentences of a passage (at most ``FACT_WORDS`` words, a longer sentence
stays whole) with the heading it sits under. Sleep trains the model to recite a fact when asked any of
several *queries* made from the fact alone by rule (no evaluation question, no model-written text):

- keyword queries: a few of the fact's content words in their order ("Norse leader Rollo?"), the way
  people type into a search box and the way a short question shares words with the note it is about;
- cloze questions: a window of the fact around one content word, that word replaced by "what"
  ("... under their leader what, agreed to swear fealty?").

At answer time the question itself is the query (see ``recall``): the weights route it to the facts it
shares words with, as a differentiable search index would (DSI: a transformer trained on
query -> document learns to be its own index), and recite them. Facts are small so that each recitation
is cheap to train and easy to read, and many notes under one subject stay apart: nothing depends on a
note naming a subject.

Which words carry content is read off the model's own tokenizer, not a word list: byte-level BPE
vocabularies are built by merging the most frequent pairs first, so the lowest ids are the commonest
words ("the", "of", "who", "was"); a word that is one token among the first ``COMMON_SHARE`` of the
vocabulary is a function word (or a word so common that it tells notes apart no better). Names and
rare words are never there.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

FACT_WORDS = 40  # words per fact: a SQuAD paragraph makes 3-4 facts, a short note one
COMMON_SHARE = 0.04  # the first 4% of a BPE vocabulary (~2k of 49k ids): "the", "who", "did", "why"

_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]?\s+(?=[\"'(\[]?[A-Z0-9])")
_WORD = re.compile(r"[\w][\w'’.-]*[\w]|[\w]")


@dataclass(frozen=True)
class Fact:
    passage_id: int | None
    title: str  # the heading the sentences sit under, '' if none
    body: str

    @property
    def text(self) -> str:
        """What the model recites for this fact."""
        return f"{self.title}: {self.body}" if self.title else self.body


class WordSignal:
    """Tells function words from content words by the tokenizer's own frequency order."""

    def __init__(self, tokenizer: Any, share: float = COMMON_SHARE) -> None:
        self._tokenizer = tokenizer
        self._limit = max(1, int(len(tokenizer) * share))
        self._common = lru_cache(maxsize=65536)(self._is_common)

    def _is_common(self, word: str) -> bool:
        ids = self._tokenizer(" " + word, add_special_tokens=False)["input_ids"]
        return len(ids) == 1 and ids[0] < self._limit

    def is_content(self, word: str) -> bool:
        low = normal(word)
        if not low or (low.isdigit() and len(low) < 4):  # "13", "05"; years stay
            return False
        return not self._common(low)

    def content_words(self, text: str) -> list[str]:
        """The content words of ``text`` in order, each once (compared by ``stem``)."""
        seen: set[str] = set()
        out = []
        for w in _WORD.findall(text):
            s = stem(w)
            if s not in seen and self.is_content(w):
                seen.add(s)
                out.append(w.rstrip("."))
        return out

    def stems(self, text: str) -> set[str]:
        """The ``stem`` of each content word of ``text``: what two texts are compared by."""
        return {stem(w) for w in self.content_words(text)}


def normal(word: str) -> str:
    """Lowercase, no possessive, no trailing dots: "Rollo's" -> "rollo"."""
    return re.sub(r"['’]s$", "", word.lower()).strip(".'’")


def stem(word: str) -> str:
    """A crude stem, enough to match "Normans"/"Norman's" and "launched"/"launch": 5 letters."""
    return normal(word)[:5]


def sentences(text: str, limit: int = FACT_WORDS) -> list[str]:
    """Lines, and a line of more than ``limit`` words (0: any line) cut at sentence ends."""
    out: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        if limit and len(line.split()) <= limit:
            out.append(line)
            continue
        out.extend(s.strip() for s in _SENTENCE_END.split(line) if s.strip())
    return out


def _pack(units: Sequence[str], limit: int) -> list[str]:
    """Consecutive units joined while they fit in ``limit`` words (one longer unit stays whole)."""
    packed: list[str] = []
    current: list[str] = []
    words = 0
    for unit in units:
        n = len(unit.split())
        if current and words + n > limit:
            packed.append(" ".join(current))
            current, words = [], 0
        current.append(unit)
        words += n
    if current:
        packed.append(" ".join(current))
    return packed


def passage_facts(text: str, passage_id: int | None = None, limit: int = FACT_WORDS) -> list[Fact]:
    """The passage's facts in order; each heading titles the facts below it."""
    facts: list[Fact] = []
    title = ""
    block: list[str] = []

    def flush() -> None:
        facts.extend(Fact(passage_id, title, body) for body in _pack(sentences("\n".join(block)), limit))
        block.clear()

    for line in text.splitlines():
        m = _HEADING.match(line)
        if m:
            flush()
            title = m.group(1).strip()
        else:
            block.append(line)
    flush()
    return [f for f in facts if _WORD.search(f.body)]


def _rng(fact: Fact, salt: str) -> random.Random:
    seed = hashlib.sha256(f"{salt}\n{fact.text}".encode()).digest()[:8]
    return random.Random(int.from_bytes(seed, "big"))


def keyword_queries(fact: Fact, signal: WordSignal, n: int) -> list[str]:
    """``n`` different runs of 2-5 of the fact's content words (title words too), in order."""
    words = signal.content_words(fact.text)
    if not words:
        return []
    rng = _rng(fact, "keywords")
    out: dict[str, None] = {}
    for _ in range(n * 4):
        if len(out) >= n:
            break
        k = min(len(words), rng.randint(2, 5))
        picked = sorted(rng.sample(range(len(words)), k))
        out[" ".join(words[i] for i in picked) + "?"] = None
    return list(out)


def cloze_queries(fact: Fact, signal: WordSignal, n: int, window: int = 8) -> list[str]:
    """``n`` question-shaped windows of the body: one content word replaced by "what"."""
    tokens = fact.body.split()
    spots = [i for i, t in enumerate(tokens) if signal.is_content(t.strip(".,;:!?()\"'"))]
    rng = _rng(fact, "cloze")
    out = []
    for i in rng.sample(spots, min(n, len(spots))):
        lo, hi = max(0, i - window), min(len(tokens), i + window + 1)
        tail = re.sub(r"^[^\w]*", "", tokens[i])
        tail = tail[len(tail.rstrip(".,;:!?)\"'")) :]  # keep the punctuation after the word
        words = [*tokens[lo:i], "what" + tail.rstrip(".!?"), *tokens[i + 1 : hi]]
        out.append(" ".join(words).rstrip(".,;:!?") + "?")
    return out


def fact_queries(fact: Fact, signal: WordSignal, keywords: int = 2, clozes: int = 2) -> list[str]:
    return keyword_queries(fact, signal, keywords) + cloze_queries(fact, signal, clozes)


def question_query(question: str, signal: WordSignal) -> str:
    """A question in the shape of the keyword queries sleep trains on: its content words, in order."""
    words = signal.content_words(question)
    return " ".join(words) + "?" if words else question


def coverage(question: str, text: str, signal: WordSignal) -> float:
    """The share of the question's content words (by ``stem``) that ``text`` holds."""
    q = signal.stems(question)
    return len(q & signal.stems(text)) / len(q) if q else 0.0
