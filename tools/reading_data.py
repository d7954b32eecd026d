"""Training data for the reading prior: notes in the prompt as sleepd shows them, a question, and a
short answer in the notes' own words, or ``NOT_IN_NOTES`` where they do not hold it.

From the reading corpora of the shared folder (``corpus/reading``; each with its licence):

- ``squad-train``: a Wikipedia paragraph, its crowd question, the answer span (SQuAD v1.0 train,
  CC BY-SA 4.0). A share of them read a second, unrelated paragraph first or after, as chat reads
  two buffer notes; a share are asked of another paragraph alone and answer ``NOT_IN_NOTES``.
- ``friendsqa``: a TV scene, each line rendered as sleepd renders a chat turn, with a made-up date
  ("On 3 March 2021, Ross Geller said: ..."); answer spans, or the speaker (Apache-2.0).
- ``molweni``: an Ubuntu IRC chat rendered the same way; its unanswerable questions, and questions
  put beside another chat's lines, answer ``NOT_IN_NOTES`` (Apache-2.0).
- ``covidqa``: the paragraph of a long article that holds the answer (Apache-2.0).

No example holds a sentence or question of the benchmark sets (``bench_overlap``).
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

NOT_IN_NOTES = "The notes do not say."
READING = Path("corpus") / "reading"
TWO_NOTES = 0.3  # share of SQuAD examples that read a second, unrelated paragraph
UNANSWERABLE = 0.1  # share of questions asked of another paragraph's or chat's text


@dataclass(frozen=True)
class ReadingExample:
    notes: tuple[str, ...]  # as the reading prompt shows them
    question: str
    answer: str
    corpus: str


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


def said(speaker: str, text: str, day: datetime | None) -> str:
    """A chat turn as sleepd renders it (ingest/chunking.py ``render_turn``)."""
    line = f"{speaker} said: {text}"
    return f"On {day.day} {day:%B %Y}, {line}" if day else line


def _a_day(rng: random.Random) -> datetime | None:
    """A made-up date for a chat, or none (exports without times), so both renderings are read."""
    return None if rng.random() < 0.3 else datetime(2019, 1, 1) + timedelta(days=rng.randrange(6 * 365))


def _scene_line(turn: dict, day: datetime | None) -> str:
    """A line of a scene: a turn, or the script's own note (a stage direction) as it is."""
    text = detokenize(turn["utterance"])
    speakers = [s for s in turn["speakers"] if s != "#NOTE#"]
    return said(" and ".join(speakers), text, day) if speakers else text


def squad_examples(path: Path, rng: random.Random) -> Iterator[ReadingExample]:
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    contexts = [p["context"] for article in data for p in article["paragraphs"]]
    for article in data:
        for para in article["paragraphs"]:
            for qa in para["qas"]:
                answer = qa["answers"][0]["text"].strip() if qa.get("answers") else ""
                if not answer or answer not in para["context"]:
                    continue
                notes = [para["context"]]
                if rng.random() < UNANSWERABLE:  # asked of a note that does not hold it
                    other = rng.choice(contexts)
                    if answer not in other:
                        yield ReadingExample((other,), qa["question"].strip(), NOT_IN_NOTES, "squad-train")
                        continue
                if rng.random() < TWO_NOTES:
                    other = rng.choice(contexts)
                    notes.insert(rng.randrange(2), other)
                yield ReadingExample(tuple(notes), qa["question"].strip(), answer, "squad-train")


def friendsqa_examples(paths: Sequence[Path], rng: random.Random) -> Iterator[ReadingExample]:
    for path in paths:
        for scene in json.loads(path.read_text(encoding="utf-8"))["data"]:
            for para in scene["paragraphs"]:
                turns = para.get("utterances:") or para.get("utterances") or []
                day = _a_day(rng)
                lines = [_scene_line(t, day) for t in turns]
                note = "\n".join(lines)
                for qa in para["qas"]:
                    answer = detokenize(qa["answers"][0]["answer_text"]).rstrip(" .") if qa["answers"] else ""
                    if answer and answer in note:
                        yield ReadingExample((note,), detokenize(qa["question"]), answer, "friendsqa")


def molweni_examples(path: Path, rng: random.Random) -> Iterator[ReadingExample]:
    dialogues = json.loads(path.read_text(encoding="utf-8"))["data"]["dialogues"]
    notes = []
    for d in dialogues:
        day = _a_day(rng)
        notes.append("\n".join(said(e["speaker"], detokenize(e["text"]), day) for e in d["edus"]))
    for i, d in enumerate(dialogues):
        for qa in d["qas"]:
            question = detokenize(qa["question"])
            if qa.get("is_impossible"):
                yield ReadingExample((notes[i],), question, NOT_IN_NOTES, "molweni")
                continue
            answer = detokenize(qa["answers"][0]["text"]) if qa["answers"] else ""
            if not answer or answer.lower() not in notes[i].lower():
                continue
            if rng.random() < UNANSWERABLE:
                other = rng.choice([n for j, n in enumerate(notes) if j != i])
                if answer.lower() not in other.lower():
                    yield ReadingExample((other,), question, NOT_IN_NOTES, "molweni")
                    continue
            start = notes[i].lower().index(answer.lower())
            yield ReadingExample((notes[i],), question, notes[i][start : start + len(answer)], "molweni")


def covidqa_examples(path: Path, max_chars: int = 1200) -> Iterator[ReadingExample]:
    """The paragraph (blank-line block) of the article that holds the answer, if short enough."""
    for article in json.loads(path.read_text(encoding="utf-8"))["data"]:
        for para in article["paragraphs"]:
            blocks = [b.strip() for b in para["context"].split("\n") if b.strip()]
            for qa in para["qas"]:
                answer = qa["answers"][0]["text"].strip() if qa.get("answers") else ""
                block = next((b for b in blocks if answer and answer in b), None)
                if block and len(block) <= max_chars and len(answer.split()) <= 25:
                    yield ReadingExample((block,), qa["question"].strip(), answer, "covidqa")


def reading_examples(shared: Path, per_corpus: dict[str, int], seed: int = 0) -> list[ReadingExample]:
    """Up to ``per_corpus[name]`` examples of each corpus (0 or absent: none), drawn at random."""
    rng = random.Random(seed)
    root = shared / READING
    sources = {
        "squad-train": lambda: squad_examples(root / "squad-train" / "train-v1.0.json", rng),
        "friendsqa": lambda: friendsqa_examples(sorted((root / "friendsqa").glob("friendsqa_*.json")), rng),
        "molweni": lambda: molweni_examples(root / "molweni" / "mrc_test.json", rng),
        "covidqa": lambda: covidqa_examples(root / "covidqa" / "covidQA-200423.json"),
    }
    out: list[ReadingExample] = []
    for name, make in sources.items():
        n = per_corpus.get(name, 0)
        if n <= 0:
            continue
        pool = list(make())
        out += rng.sample(pool, min(n, len(pool)))
    rng.shuffle(out)
    return out
