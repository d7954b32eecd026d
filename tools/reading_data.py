"""Training data for the reading prior: notes in the prompt as sleepd shows them, a question, and a
short answer in the notes' own words, or ``NOT_IN_NOTES`` where they do not hold it.

From the reading corpora of the shared folder (``corpus/reading``; each with its licence):

- ``squad-train``: a Wikipedia paragraph, its crowd questions, the answer spans (SQuAD v1.0 train,
  CC BY-SA 4.0). A share of paragraphs come with a second, unrelated one first or after, as chat
  reads two buffer notes; a share of questions come from another paragraph and answer
  ``NOT_IN_NOTES``.
- ``friendsqa``: a TV scene, each line rendered as sleepd renders a chat turn, with a made-up date
  ("On 3 March 2021, Ross Geller said: ..."); answer spans, or the speaker (Apache-2.0).
- ``molweni``: an Ubuntu IRC chat rendered the same way; its unanswerable questions, and questions
  put beside another chat's lines, answer ``NOT_IN_NOTES`` (Apache-2.0).
- ``covidqa``: the paragraph of a long article that holds the answer (Apache-2.0).
- ``own-notes``: fictional list notes, family chats and runbooks of our own (``own_notes.py``).

A note comes with every question asked of it (``ReadingGroup``), so training reads it once for
all of them. No example holds a sentence or question of the benchmark sets (``bench_overlap``).
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path

from sleepd.memory.serving.recall import NOT_IN_NOTES

from .own_notes import own_note_groups
from .reading_group import ReadingGroup, said

READING = Path("corpus") / "reading"
TWO_NOTES = 0.3  # share of SQuAD examples that read a second, unrelated paragraph
UNANSWERABLE = 0.1  # share of questions asked of another paragraph's or chat's text


_DETOKENIZE = [
    (re.compile(r" ([.,!?;:%)\]])"), r"\1"),
    (re.compile(r"([(\[$]) "), r"\1"),
    (re.compile(r" (n't|'s|'re|'m|'ll|'ve|'d)\b", re.IGNORECASE), r"\1"),
    (re.compile(r"\bgon na\b"), "gonna"),
    (re.compile(r"\bwan na\b"), "wanna"),
]


def detokenize(text: str) -> str:
    """Tokenized corpus text ("do n't know , Ross .") as people write it ("don't know, Ross.")."""
    for pattern, repl in _DETOKENIZE:
        text = pattern.sub(repl, text)
    return re.sub(r"\s+", " ", text).strip()


def _a_day(rng: random.Random) -> datetime | None:
    """A made-up date for a chat, or none (exports without times), so both renderings are read."""
    return None if rng.random() < 0.3 else datetime(2019, 1, 1) + timedelta(days=rng.randrange(6 * 365))


def _scene_line(turn: dict, day: datetime | None) -> str:
    """A line of a scene: a turn, or the script's own note (a stage direction) as it is."""
    text = detokenize(turn["utterance"])
    speakers = [s for s in turn["speakers"] if s != "#NOTE#"]
    return said(" and ".join(speakers), text, day) if speakers else text


def _ask_elsewhere(
    qas: list[tuple[str, str]], notes: Sequence[str], others: Sequence[tuple[str, str]], rng: random.Random
) -> list[tuple[str, str]]:
    """``qas`` with, for about ``UNANSWERABLE`` of them, a question of another text put beside
    them, answered ``NOT_IN_NOTES`` (when its answer is nowhere in ``notes``)."""
    text = "\n".join(notes).lower()
    out = list(qas)
    for _ in qas:
        if others and rng.random() < UNANSWERABLE:
            q, a = rng.choice(others)
            if a.lower() not in text:
                out.insert(rng.randrange(len(out) + 1), (q, NOT_IN_NOTES))
    return out


def squad_groups(path: Path, rng: random.Random) -> Iterator[ReadingGroup]:
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    paragraphs = [p for article in data for p in article["paragraphs"]]
    contexts = [p["context"] for p in paragraphs]
    every = [
        (qa["question"].strip(), qa["answers"][0]["text"].strip())
        for p in paragraphs
        for qa in p["qas"]
        if qa.get("answers")
    ]
    for para in paragraphs:
        qas = [
            (qa["question"].strip(), qa["answers"][0]["text"].strip())
            for qa in para["qas"]
            if qa.get("answers") and qa["answers"][0]["text"].strip() in para["context"]
        ]
        notes = [para["context"]]
        if rng.random() < TWO_NOTES:
            notes.insert(rng.randrange(2), rng.choice(contexts))
        if qas:
            yield ReadingGroup(tuple(notes), tuple(_ask_elsewhere(qas, notes, every, rng)), "squad-train")


def friendsqa_groups(paths: Sequence[Path], rng: random.Random) -> Iterator[ReadingGroup]:
    for path in paths:
        for scene in json.loads(path.read_text(encoding="utf-8"))["data"]:
            for para in scene["paragraphs"]:
                turns = para.get("utterances:") or para.get("utterances") or []
                day = _a_day(rng)
                note = "\n".join(_scene_line(t, day) for t in turns)
                qas = []
                for qa in para["qas"]:
                    answer = detokenize(qa["answers"][0]["answer_text"]).rstrip(" .") if qa["answers"] else ""
                    if answer and answer in note:
                        qas.append((detokenize(qa["question"]), answer))
                if qas:
                    yield ReadingGroup((note,), tuple(qas), "friendsqa")


def molweni_groups(path: Path, rng: random.Random) -> Iterator[ReadingGroup]:
    dialogues = json.loads(path.read_text(encoding="utf-8"))["data"]["dialogues"]
    notes = []
    for d in dialogues:
        day = _a_day(rng)
        notes.append("\n".join(said(e["speaker"], detokenize(e["text"]), day) for e in d["edus"]))
    answerable = [
        (detokenize(qa["question"]), detokenize(qa["answers"][0]["text"]))
        for d in dialogues
        for qa in d["qas"]
        if not qa.get("is_impossible") and qa["answers"]
    ]
    for note, d in zip(notes, dialogues, strict=True):
        qas = []
        for qa in d["qas"]:
            question = detokenize(qa["question"])
            if qa.get("is_impossible"):
                qas.append((question, NOT_IN_NOTES))
                continue
            answer = detokenize(qa["answers"][0]["text"]) if qa["answers"] else ""
            if answer and answer.lower() in note.lower():
                start = note.lower().index(answer.lower())
                qas.append((question, note[start : start + len(answer)]))
        if qas:
            yield ReadingGroup((note,), tuple(_ask_elsewhere(qas, [note], answerable, rng)), "molweni")


def covidqa_groups(path: Path, max_chars: int = 1200) -> Iterator[ReadingGroup]:
    """The paragraph (line block) of a long article that holds the answer, if short enough."""
    for article in json.loads(path.read_text(encoding="utf-8"))["data"]:
        for para in article["paragraphs"]:
            blocks = [b.strip() for b in para["context"].split("\n") if b.strip()]
            by_block: dict[str, list[tuple[str, str]]] = {}
            for qa in para["qas"]:
                answer = qa["answers"][0]["text"].strip() if qa.get("answers") else ""
                block = next((b for b in blocks if answer and answer in b), None)
                if block and len(block) <= max_chars and len(answer.split()) <= 25:
                    by_block.setdefault(block, []).append((qa["question"].strip(), answer))
            for block, qas in by_block.items():
                yield ReadingGroup((block,), tuple(qas), "covidqa")


def reading_groups(shared: Path, per_corpus: dict[str, int], seed: int = 0) -> list[ReadingGroup]:
    """Notes of each corpus, drawn at random, with all their questions, until ``per_corpus[name]``
    questions (0 or absent: none)."""
    rng = random.Random(seed)
    root = shared / READING
    sources = {
        "squad-train": lambda: squad_groups(root / "squad-train" / "train-v1.0.json", rng),
        "friendsqa": lambda: friendsqa_groups(sorted((root / "friendsqa").glob("friendsqa_*.json")), rng),
        "molweni": lambda: molweni_groups(root / "molweni" / "mrc_test.json", rng),
        "covidqa": lambda: covidqa_groups(root / "covidqa" / "covidQA-200423.json"),
        "own-notes": lambda: own_note_groups(per_corpus.get("own-notes", 0), seed),
    }
    out: list[ReadingGroup] = []
    for name, make in sources.items():
        wanted = per_corpus.get(name, 0)
        pool = list(make()) if wanted > 0 else []
        rng.shuffle(pool)
        for group in pool:
            if wanted <= 0:
                break
            out.append(group)
            wanted -= len(group.questions)
    rng.shuffle(out)
    return out
