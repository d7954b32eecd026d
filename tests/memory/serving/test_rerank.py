"""Recitations ranked by the prior's question writer: the writer sits beside the served memory as a
second adapter, scores as the writer alone would, leaves the memory served after, is never saved
into a memory version, and an unlearned fact still reads nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sleepd.memory.prior import RECORD, WRITER_PART
from sleepd.models.identity import model_slug
from sleepd.storage import Config, NewPassage, Store
from tests.tiny_models import save_random_adapter


def _random_prior(config: Config) -> Path:
    """A prior for the tiny model whose writer adapter is not the identity (random B matrices),
    so scores under it differ from scores under the memory adapter or the base model."""
    prior = config.paths.data_dir / "priors" / model_slug(config.model.name_or_path)
    save_random_adapter(config, prior / WRITER_PART, seed=0, scale=0.05)
    (prior / RECORD).write_text(json.dumps({"name": "tiny-writer", "data": {"summary": "nothing"}}))
    return prior


def _writer_alone(config: Config, prior: Path, question: str, note: str) -> float:
    """log P(question | note) from the writer on its own copy of the base model, unpadded."""
    import torch

    from sleepd.memory.questions import QuestionWriter, writer_prompt
    from sleepd.models.model import load_model

    base = load_model(config)
    writer = QuestionWriter.load(base.model, base.tokenizer, prior / WRITER_PART, "w")
    p = base.tokenizer(writer_prompt(note), add_special_tokens=False)["input_ids"]
    q = base.tokenizer(" " + question, add_special_tokens=False)["input_ids"]
    with torch.inference_mode():
        logits = writer.model(input_ids=torch.tensor([p + q])).logits[0, len(p) - 1 : -1]  # [Q, V]
    return float(torch.log_softmax(logits.float(), -1).gather(1, torch.tensor(q)[:, None]).sum())


def test_the_writer_ranks_beside_the_served_memory_and_is_never_saved(
    tiny_config: Config, tiny_store: Store
) -> None:
    from sleepd.memory.prompts import recall_prompt
    from sleepd.memory.served import WRITER_ADAPTER, load_with_memory
    from sleepd.memory.serving.generate import complete
    from sleepd.memory.serving.recall import RECITE_GEN, answer_with_memory
    from sleepd.memory.serving.rerank import (
        question_logprobs,
        rank_by_question,
        recite_beams,
    )
    from sleepd.memory.sleeping.pipeline import run_sleep
    from sleepd.memory.versions import memory_of

    prior = _random_prior(tiny_config)
    sid = tiny_store.upsert_source("/notes/a.md")
    tiny_store.add_passages(sid, [NewPassage("Server kestrel-9 runs Alpine on port 7001.", 8)])
    run_sleep(tiny_config, tiny_store)  # its gate reads through the writer's ranking
    version_dir = memory_of(tiny_config).path_of(1)
    assert not (version_dir / WRITER_ADAPTER).exists()
    assert json.loads((version_dir / "adapter_config.json").read_text())  # the memory alone

    lm, version = load_with_memory(tiny_config)
    assert version == 1 and lm.writer == WRITER_ADAPTER
    prompt = recall_prompt("kestrel-9 port?")
    recited = complete(lm, prompt, RECITE_GEN)

    question, notes = "Which port does kestrel-9 use?", ["Kestrel-9 listens on 7001.", "Tea is at four."]
    scores, n = question_logprobs(lm, question, notes)  # one padded batch
    assert n > 0
    for note, score in zip(notes, scores, strict=True):
        assert score == pytest.approx(_writer_alone(tiny_config, prior, question, note), abs=2e-3)
    assert lm.model.active_adapter == "default"
    assert complete(lm, prompt, RECITE_GEN) == recited  # the memory serves as before

    with pytest.raises(RuntimeError), lm.turns.hold_adapter(WRITER_ADAPTER):
        raise RuntimeError("a failed scoring pass")
    assert lm.model.active_adapter == "default"

    # both query forms go through one left-padded beam search: as each would alone
    prompts = [recall_prompt("kestrel-9 port?"), recall_prompt("Which port does the server kestrel-9 use?")]
    together = recite_beams(lm, prompts, 2, 8)
    for p, beams in zip(prompts, together, strict=True):
        (alone,) = recite_beams(lm, [p], 2, 8)
        assert [t for t, _s in beams] == [t for t, _s in alone]
        assert [s for _t, s in beams] == pytest.approx([s for _t, s in alone], abs=1e-3)

    ranked = rank_by_question(lm, question, notes)
    assert [g for g, _t in ranked] == sorted((g for g, _t in ranked), reverse=True)
    stream, rec = answer_with_memory(lm, question, beams=3)
    assert isinstance("".join(stream), str)
    assert len(rec.recitations) <= 1  # at most the one best-ranked recitation is read


QUESTION = "Which port does kestrel-9 use?"


@pytest.mark.parametrize(
    ("beams_by_query", "gains", "read"),
    [
        # the best beam of every query is "Nothing.": an unlearned fact, whatever lower beams hold
        ({"*": [("Nothing.", -0.1), ("Kestrel-9 listens on 7001.", -0.9)]}, {}, None),
        # the writer's best is read, not the beam search's best
        (
            {"*": [("Tea is at four in the harbour.", -0.1), ("Kestrel-9 listens on 7001.", -0.2)]},
            {"Tea is at four in the harbour.": 0.2, "Kestrel-9 listens on 7001.": 1.5},
            "Kestrel-9 listens on 7001.",
        ),
        # no recitation makes the question likelier than no note: nothing is read
        ({"*": [("Tea is at four in the harbour.", -0.1)]}, {"Tea is at four in the harbour.": -0.3}, None),
        # decoded without confidence (free association): not a candidate, however relevant
        ({"*": [("Kestrel-9 listens on 7001.", -0.6)]}, {"Kestrel-9 listens on 7001.": 2.0}, None),
        # the keyword form alone recites "Nothing.": the question as written still routes to the note
        (
            {"*": [("Nothing.", -0.1)], "asked": [("Kestrel-9 listens on 7001.", -0.1)]},
            {"Kestrel-9 listens on 7001.": 1.5},
            "Kestrel-9 listens on 7001.",
        ),
        # the question as written recites "Nothing.": never read (or forgotten), whatever the
        # keyword form recites
        (
            {"*": [("Kestrel-9 listens on 7001.", -0.1)], "asked": [("Nothing.", -0.1)]},
            {"Kestrel-9 listens on 7001.": 1.5},
            None,
        ),
    ],
)
def test_what_the_ranked_recall_reads(
    monkeypatch: pytest.MonkeyPatch, tiny_model_dir: Path, beams_by_query: dict, gains: dict, read: str | None
) -> None:
    from transformers import AutoTokenizer

    from sleepd.memory.serving import recall

    class Served:  # what _recite_ranked reads of a LoadedModel: its tokenizer and its writer
        tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
        writer = "prior-writer"

    asked = recall.recall_prompt(QUESTION)  # "*": every other query form (the keyword form)

    def beams(_lm: object, prompts: list[str], _n: int, _max: int) -> list[list[tuple[str, float]]]:
        return [beams_by_query.get("asked" if p == asked else "*", beams_by_query["*"]) for p in prompts]

    monkeypatch.setattr(recall, "recite_beams", beams)
    monkeypatch.setattr(
        recall,
        "rank_by_question",
        lambda _lm, _q, texts: sorted(((gains[t], t) for t in texts), reverse=True),
    )
    rec = recall.recite_for(Served(), QUESTION, beams=2)  # type: ignore[arg-type]
    assert [t for _q, t in rec.recitations] == ([read] if read else [])


@pytest.mark.parametrize("writer_prefers_memory", [True, False])
def test_default_chat_reads_the_memorys_note_first_and_alone_only_where_the_writer_prefers_it(
    monkeypatch: pytest.MonkeyPatch, tiny_model_dir: Path, writer_prefers_memory: bool
) -> None:
    from transformers import AutoTokenizer

    from sleepd.memory.serving import recall

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)

    class Served:
        tokenizer = tok
        writer = "prior-writer"

    passage = (  # one paragraph of more than FACT_WORDS words: read by the sentence
        "The harbour office opens at eight on weekdays and at ten on Sundays and holidays. "
        "The ferry Amber Finch is skippered by Ragnar Solheim. "
        "Tickets are sold on board and at the kiosk by the pier, cash or card. "
        "The cafe beside the waiting room closes at six, earlier in the winter months."
    )
    recitation = "The ferry Amber Finch is skippered by Ragnar Solheim."
    buffer_note = "Ferry tickets for the Amber Finch cost twelve crowns; the ferry leaves at nine."

    def rank(_lm: object, _q: str, texts: list[str]) -> list[tuple[float, str]]:
        best = (lambda t: "Solheim" in t) if writer_prefers_memory else (lambda t: "crowns" in t)
        return sorted(((1.0 if best(t) else 0.1, t) for t in texts), reverse=True)

    monkeypatch.setattr(recall, "rank_by_question", rank)
    signal = recall.word_signal(tok)
    read = recall.memory_leads(
        Served(),  # type: ignore[arg-type]
        "Who skippers the Amber Finch?",
        [(passage, recitation)],
        [buffer_note],
        note_tokens=24,
        signal=signal,
        count=lambda t: len(tok(t, add_special_tokens=False)["input_ids"]),
    )
    if writer_prefers_memory:  # the passage's recited sentence, as written, and nothing else
        assert read is not None and len(read) == 1 and "Ragnar Solheim" in read[0]
        assert "cafe" not in read[0] and "crowns" not in read[0]
    else:  # the memory's sentence first, then the buffer note the writer prefers, as chat cuts it
        assert read is not None and len(read) == 2
        assert "Ragnar Solheim" in read[0] and "cafe" not in read[0]
        assert "crowns" in read[1]
