"""Closed-book answering: recite, then read.

1. The question goes into the recall prompt the sleeps trained on (``dataset.recall_prompt``), and the
   adapted model recites the fact it routes the question to: this is the memory in the weights
   speaking, with nothing from the buffer.
2. The question is asked twice, as written and in the keyword shape sleep trains on
   (``facts.question_query``). With the consolidation prior's question writer beside the memory,
   each query decodes a few recitations (beam search); of those that make the question likelier
   under the writer than no note does (``rerank``), the writer's likeliest is read, with the
   memory's confidence in each (its beam score) settling between versions of one note
   (``choose_recitation``).
   Without a writer, the greedy recitation is kept only if it holds at least ``min_coverage``
   (``RecallConfig``) of the question's content words, and the one covering most is read. Either
   way a recitation must add a word the question lacks (an echo holds nothing to read), and a
   query whose best recitation is the "Nothing." an unlearned fact recites reads nothing; when the
   question as written recites it, nothing is read at all (never read, or forgotten).
3. The same model, adapter switched off, answers the question with the kept recitations in its
   prompt; with none kept it answers as the plain model would, which keeps general ability.

Default chat also has the buffer, which holds every live passage word for word, so there a kept
recitation is *grounded* (``ground``): looked up in the buffer with its own words, and replaced by
the stored passage that holds it, or dropped when none does. The weights then act as a search that
understood the question, and what is read is the note as written (a password keeps its letters'
case), never the model's free association: a recitation invented for a question about something
never read (a general question) finds no note and is not read.
"""

from __future__ import annotations

import dataclasses
import math
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, NamedTuple

from sleepd.memory.facts import WordSignal, coverage, question_query
from sleepd.memory.prompts import is_nothing, recall_prompt
from sleepd.models.model import LoadedModel
from sleepd.models.turns import Adapter
from sleepd.storage.config import RecallConfig

from .excerpt import excerpts
from .generate import Ending, GenerationConfig, Message, complete_scored, generate, stream_generate
from .rerank import has_writer, rank_by_question, recite_beams

# No repetition penalty when text must be copied: transformers applies it to the prompt's tokens
# too, so a recitation or an answer that repeats a name or number from its note is pushed away.
RECITE_GEN = GenerationConfig(max_new_tokens=96, temperature=0.0, repetition_penalty=1.0)
# The share of a question's content words a recitation must hold to be read (RecallConfig's).
MIN_COVERAGE = RecallConfig.min_coverage
# What the prior's reader answers when its notes do not hold the answer (tools/reading_data.py).
NOT_IN_NOTES = "The notes do not say."
# The reader reads notes holding at least half the question's content words; a general question
# the search found some unrelated note for is read by the plain model, as before (decisions.md).
READER_MIN_COVERAGE = 0.5
# How much likelier (nats per question token) the question writer must find the question under a
# recitation than under an empty note for the recitation to be read (rerank.py).
MIN_GAIN = 0.0
# A recitation decoded with a mean token probability under 3/4 is free association, not memory:
# asked a general question, the adapted model invents a note in its notes' voice.
MIN_CONFIDENCE = math.log(0.75)
# The writer tells which note a question is about, not which of the memory's blended versions of
# near-identical notes is the stored one (a question does not hold the value it asks for), so the
# memory's own confidence (beam score) weighs in too (docs/decisions.md, "recitation choice").
CONFIDENCE_WEIGHT = 3.0


def reading_gen(gen: GenerationConfig) -> GenerationConfig:
    """Generation settings for answering with notes in the prompt (see RECITE_GEN)."""
    return dataclasses.replace(gen, repetition_penalty=1.0)


def read_notes(lm: LoadedModel, question: str, notes: Sequence[str], gen: GenerationConfig) -> str:
    """The whole answer to ``question`` with ``notes`` in the reading prompt (none: asked as
    written), with ``reading_gen`` where there are notes to copy from; read by the prior's reader
    where there is one, and where it finds nothing in them, the plain model's answer with none."""
    read_gen = reading_gen(gen) if notes else gen
    adapter = reading_adapter(lm, question, notes)
    answer = generate(lm, reading_messages(question, notes), read_gen, adapter=adapter)
    if adapter and abstained(answer):
        return generate(lm, reading_messages(question, []), gen, adapter=False)
    return answer


def abstained(text: str) -> bool:
    """Whether the reader's answer (so far) says that its notes do not hold the answer."""
    return text.strip().startswith(NOT_IN_NOTES)


def unless_abstained(reading: Iterator[str], plain: Callable[[], Iterator[str]]) -> Iterator[str]:
    """``reading``'s pieces; but where the reader answers that its notes do not say, ``plain``'s:
    the plain model asked with no notes, as chat answers when the buffer holds nothing (a general
    question the search found some note for). Pieces are held back while they could still be
    that sentence, so none of it is shown."""
    held: str | None = ""
    try:
        for piece in reading:
            if held is None:
                yield piece
                continue
            held += piece
            if abstained(held):
                for _rest in reading:  # the reader ends right after it; let it finish
                    pass
                yield from plain()
                return
            if not NOT_IN_NOTES.startswith(held.strip()):
                yield held
                held = None
        if held:
            yield held
    finally:
        close = getattr(reading, "close", None)
        if close is not None:  # a client that left stops the generation now, not when collected
            close()


def reading_adapter(lm: LoadedModel, question: str, notes: Sequence[str]) -> Adapter:
    """What notes are read with: the prior's reader where there is one and the notes are about the
    question (``READER_MIN_COVERAGE``); else, or with no notes, the plain model (general chat is
    the base model's)."""
    if not notes or not lm.reader:
        return False
    signal = word_signal(lm.tokenizer)
    about = max(coverage(question, n, signal) for n in notes) >= READER_MIN_COVERAGE
    return lm.reader if about else False


@dataclass
class Recollection:
    question: str
    recitations: list[tuple[str, str]] = field(default_factory=list)  # (query, text) kept
    dropped: list[tuple[str, str]] = field(default_factory=list)
    logprob: float | None = None  # of the recitation, kept or dropped
    read: list[str] = field(default_factory=list)  # kept recitations that reached the reading prompt
    ending: Ending = field(default_factory=Ending)  # why the answer ended, once it is consumed


@lru_cache(maxsize=4)
def word_signal(tokenizer: Any) -> WordSignal:
    return WordSignal(tokenizer)


def worth_reading(question: str, text: str, signal: WordSignal, min_coverage: float = MIN_COVERAGE) -> bool:
    """A recitation that answers ``question`` from memory, not free association or an echo."""
    if not text or is_nothing(text):
        return False  # unlearned
    q, t = signal.stems(question), signal.stems(text)
    return bool(q) and len(q & t) >= min_coverage * len(q) - 1e-9 and bool(t - q)


# The share of a recitation's content words a stored passage must hold to be the note it recites.
GROUND_MIN = 0.75
Search = Callable[[str], Sequence[str]]  # text -> buffer passages matching it, best first


def ground(recitation: str, search: Search, signal: WordSignal) -> str | None:
    """The stored passage a recitation recites (holding ``GROUND_MIN`` of its content words), or None."""
    best = max(((coverage(recitation, t, signal), t) for t in search(recitation)), default=(0.0, ""))
    return best[1] if best[0] >= GROUND_MIN else None


def recite_for(
    lm: LoadedModel, question: str, min_coverage: float = MIN_COVERAGE, beams: int = 1
) -> Recollection:
    """Recite for the question and for its keyword form (the shape sleep trains on); keep the one
    recitation worth reading (a small model reads one note well and two notes badly).

    With the prior's question writer beside the memory (``rerank``) and ``beams`` > 1, each query
    decodes ``beams`` recitations and, of those decoded with ``MIN_CONFIDENCE``, one is read by
    ``choose_recitation``; else the greedy recitation
    covering most of the question is read, if it covers ``min_coverage`` of it."""
    if beams > 1 and has_writer(lm):
        return _recite_ranked(lm, question, beams)
    signal = word_signal(lm.tokenizer)
    rec = Recollection(question)
    scored = []
    for query in dict.fromkeys([question_query(question, signal), question]):
        text, logprob = complete_scored(lm, recall_prompt(query), RECITE_GEN)
        if worth_reading(question, text, signal, min_coverage):
            scored.append((coverage(question, text, signal), logprob, query, text))
        else:  # an unlearned (forgotten) fact, or free association about a thing never read
            rec.dropped.append((query, text))
    if scored:
        _cov, rec.logprob, query, text = max(scored)
        rec.recitations.append((query, text))
    return rec


class Candidate(NamedTuple):
    """A recitation worth weighing: the writer's gain (``rank_by_question``), the memory's
    confidence in it (its beam score), the text and the query that recited it."""

    gain: float
    score: float
    text: str
    query: str


def recite_candidates(
    lm: LoadedModel, question: str, beams: int
) -> tuple[list[tuple[str, str]], list[Candidate]]:
    """Beams for both query forms: the (query, text) of each query whose best beam is "Nothing." (an
    unlearned fact), and the confident recitations adding a word the question lacks, best gain first.
    When the question as written recites "Nothing.", no candidate, and every query's best beam is
    returned with the unlearned ones: the memory's answer to the question itself (what a forgotten
    fact recites) outranks what a keyword form, more alike across topics, recites."""
    signal = word_signal(lm.tokenizer)
    q_words = signal.stems(question)
    unlearned: list[tuple[str, str]] = []
    found: dict[str, tuple[str, float]] = {}  # recitation -> (the query that recited it, its beam score)
    queries = list(dict.fromkeys([question_query(question, signal), question]))
    decoded = recite_beams(lm, [recall_prompt(q) for q in queries], beams, RECITE_GEN.max_new_tokens)
    best = [(q, texts[0][0] if texts else "") for q, texts in zip(queries, decoded, strict=True)]
    nothing = [not texts or is_nothing(texts[0][0]) for texts in decoded]
    if nothing[-1]:  # the question as written: about something never read, or forgotten
        return best, []
    for (query, best_text), texts, unlearned_here in zip(best, decoded, nothing, strict=True):
        if unlearned_here:  # the weights' best answer: an unlearned fact
            unlearned.append((query, best_text))
            continue
        for text, score in texts:  # an echo of the question, or "Nothing.", holds nothing to read
            worth = score >= MIN_CONFIDENCE and text and not is_nothing(text) and signal.stems(text) - q_words
            if worth and score > found.get(text, ("", -math.inf))[1]:
                found[text] = (query, score)
    # A beam that another beam continues is the same note cut short: beam scores are per token, so
    # the cut one can look surer while holding less (a combination "is the year ..." without the year).
    found = {t: v for t, v in found.items() if not any(o != t and o.startswith(t) for o in found)}
    if not found:
        return unlearned, []
    ranked = rank_by_question(lm, question, list(found))
    return unlearned, [Candidate(gain, found[t][1], t, found[t][0]) for gain, t in ranked]


def _recite_ranked(lm: LoadedModel, question: str, beams: int) -> Recollection:
    rec = Recollection(question)
    rec.dropped, candidates = recite_candidates(lm, question, beams)
    if not candidates:
        return rec
    chosen = choose_recitation(candidates)
    rec.logprob = (chosen or candidates[0]).gain
    if chosen is not None:
        rec.recitations.append((chosen.query, chosen.text))
    rec.dropped += [(c.query, c.text) for c in candidates if c is not chosen]
    return rec


def choose_recitation(candidates: Sequence[Candidate], weight: float = CONFIDENCE_WEIGHT) -> Candidate | None:
    """The candidate to read: of those that make the question likelier than no note does (gain >
    ``MIN_GAIN``), the best by gain + ``weight`` x the memory's confidence; None when none does."""
    useful = [c for c in candidates if c.gain > MIN_GAIN]
    return max(useful, key=lambda c: c.gain + weight * c.score) if useful else None


def reading_messages(
    question: str, recitations: Sequence[str], history: Sequence[Message] = ()
) -> list[Message]:
    """The prompt that reads notes to answer; also the ceiling's prompt, so the two compare. A
    quoted note, then the question, read best of the formats tried (docs/decisions.md)."""
    if not recitations:
        return [*history, {"role": "user", "content": question}]
    notes = "\n\n".join(dict.fromkeys(recitations))
    prompt = f'Here is a note:\n"""\n{notes}\n"""\nQuestion: {question}\nAnswer in one short sentence.'
    return [*history, {"role": "user", "content": prompt}]


def notes_to_read(
    question: str, recitations: Sequence[str], notes: Sequence[str], signal: WordSignal
) -> list[str]:
    """The notes default chat reads: the buffer's, plus a recitation only where it covers more of
    the question than every buffer note does (the weights found what the search missed).

    Every consolidated passage is still in the buffer, so a recitation mostly repeats one of its
    notes, and a small model reads one note well and two badly. With this rule the prompt is the
    buffer's own prompt whenever the search already holds the best note, so a sleep can only add to
    what chat answers.
    """
    best = max((coverage(question, n, signal) for n in notes), default=0.0)
    extra = [t for t in dict.fromkeys(recitations) if coverage(question, t, signal) > best]
    return extra + list(notes)


def memory_leads(
    lm: LoadedModel,
    question: str,
    offered: Sequence[tuple[str, str]],
    notes: Sequence[str],
    note_tokens: int,
    signal: WordSignal,
    count: Callable[[str], int],
) -> list[str] | None:
    """What default chat reads when the weights offer a note the buffer holds (``offered``: the
    grounded passage and its recitation): the sentences of that passage the recitation recites,
    first; alone if the prior's writer finds the question likelier under them than under any
    buffer note as chat would read it, else followed by the buffer note the writer likes best. None
    when the passage gives nothing to read (chat reads as ``notes_to_read`` says). The memory's note
    is always the first of the list.

    The writer arbitrates because word coverage cannot: a recitation that routed the question to
    the right fact often shares fewer of its words than the search's best note (docs/decisions.md,
    "the memory's note first"). Each note is cut to ``note_tokens``, so at most twice that is read."""
    # ``offered``: (grounded passage, its recitation) pairs; chat offers the writer's best one.
    # Each offers at most one excerpt (one passage), as written in the note.
    focus = [
        f
        for passage, recitation in offered
        for f in excerpts(recitation, [passage], note_tokens, signal, count)
    ]
    focus = list(dict.fromkeys(focus))
    if not focus:
        return None
    buffer = [n for n in excerpts(question, notes, note_tokens, signal, count) if n not in focus]
    ranked = [text for _gain, text in rank_by_question(lm, question, [*focus, *buffer])]
    mine = next(text for text in ranked if text in focus)
    return [mine] if ranked[0] == mine else [mine, ranked[0]]


def _count(tokenizer: Any, text: str) -> int:
    return len(tokenizer(text, add_special_tokens=False)["input_ids"])


def answer_with_memory(
    lm: LoadedModel,
    question: str,
    gen: GenerationConfig | None = None,
    history: Sequence[Message] = (),
    *,
    recite: bool = True,
    notes: Sequence[str] = (),
    min_coverage: float = MIN_COVERAGE,
    cancel: threading.Event | None = None,
    search: Search | None = None,
    note_tokens: int = 0,
    beams: int = 1,
) -> tuple[Iterator[str], Recollection]:
    """Stream the answer to ``question``: recitations from the weights (``recite``) plus ``notes``
    (fresh passages from the buffer; empty for closed-book) in the prompt. With ``search`` (the
    buffer, default chat) each recitation is grounded: the stored passage it recites is read
    instead, and a recitation no passage holds is dropped. ``note_tokens`` (``RecallConfig``; 0:
    none) caps what is read: past it, the sentences that cover the question (``excerpt``).
    ``beams`` (``RecallConfig.recite_beams``): recitations per query ranked by the prior's writer."""
    signal = word_signal(lm.tokenizer)

    def count(text: str) -> int:
        return _count(lm.tokenizer, text)

    rec = recite_for(lm, question, min_coverage, beams) if recite else Recollection(question)
    led: list[str] | None = None
    if search is not None and rec.recitations:
        grounded = [(q, ground(t, search, signal), t) for q, t in rec.recitations]
        rec.dropped += [(q, t) for q, g, t in grounded if g is None]
        rec.recitations = [(q, g) for q, g, _t in grounded if g is not None]
        kept = [(g, t) for _q, g, t in grounded if g is not None]
        if kept and beams > 1 and has_writer(lm):
            led = memory_leads(lm, question, kept[:1], notes, note_tokens, signal, count)
    if led is not None:
        read, rec.read = led, led[:1]  # the memory's note, then maybe the buffer's the writer prefers
    else:
        read = notes_to_read(question, [t for _, t in rec.recitations], notes, signal)
        rec.read = [t for t in read if t not in notes]
        read = excerpts(question, read, note_tokens, signal, count)
    messages = reading_messages(question, read, history)

    read_gen = reading_gen(gen or GenerationConfig()) if read else gen

    adapter = reading_adapter(lm, question, read)
    answer = stream_generate(lm, messages, read_gen, adapter=adapter, cancel=cancel, ending=rec.ending)
    if not adapter:
        return answer, rec

    def plain() -> Iterator[str]:
        if cancel is not None and cancel.is_set():
            return iter(())
        rec.ending.reason, rec.ending.tokens = "stop", 0
        asked = reading_messages(question, [], history)
        return stream_generate(lm, asked, gen, adapter=False, cancel=cancel, ending=rec.ending)

    return unless_abstained(answer, plain), rec
