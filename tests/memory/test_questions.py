"""Written questions: the check they must pass, how they share a fact's queries, the cache, and the
writer on a tiny model inside a real sleep."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sleepd.memory.facts import Fact, WordSignal, cloze_queries, keyword_queries, passage_facts
from sleepd.memory.prior import RECORD, WRITER_PART, find_prior
from sleepd.memory.questions import QuestionCache, Written, holds_answer, parse_written, writer_target
from sleepd.memory.sleeping.dataset import DataConfig, PassageInput, build_examples, queries_for
from sleepd.memory.sleeping.rehearsal import unlearn_examples
from sleepd.models.identity import model_slug
from sleepd.storage import Config, NewPassage, Store

FACT = Fact(
    None, "Normans", "The Normans gave their name to Normandy, a region in France, in the 10th century."
)
WHERE = Written("Where is Normandy?", "France")


@pytest.fixture(scope="module")
def signal(tiny_model_dir: Path) -> WordSignal:
    from transformers import AutoTokenizer

    return WordSignal(AutoTokenizer.from_pretrained(tiny_model_dir))


def test_the_writers_text_parses_into_a_question_and_its_answer() -> None:
    assert parse_written(writer_target("Where is Normandy?", "France")) == WHERE
    assert parse_written(" Where is Normandy?\nAnswer: France.\nmore") == WHERE
    assert parse_written(" Normandy is in France.") is None  # no question
    assert parse_written(" Where is Normandy?") is None  # no answer


def test_a_written_question_is_kept_only_when_the_fact_holds_its_answer(signal: WordSignal) -> None:
    text = FACT.text
    assert holds_answer(text, Written("In what country is Normandy?", "France"), signal)
    assert holds_answer(text, Written("When did the Normans name Normandy?", "the 10th century"), signal)
    # the answer is not in the fact: made up
    assert not holds_answer(text, Written("In what country is Normandy?", "Germany"), signal)
    # the question gives its answer away: nothing to recall
    assert not holds_answer(text, Written("Is Normandy in France?", "France"), signal)
    # about something else: it shares no content word with the fact
    assert not holds_answer(text, Written("Which planet has rings?", "France"), signal)


def test_written_questions_take_the_place_of_rule_made_queries(signal: WordSignal) -> None:
    cfg = DataConfig(keyword_queries=2, cloze_queries=2, written_queries=2)
    rule = queries_for(FACT, signal, cfg)
    assert rule == keyword_queries(FACT, signal, 2) + cloze_queries(FACT, signal, 2)
    asked = ["In what country is Normandy?", "Who gave their name to Normandy?", "A third one?"]
    mixed = queries_for(FACT, signal, cfg, {FACT.text: asked})
    # one of each rule-made kind stays; two written questions join: the fact costs the same
    assert mixed == keyword_queries(FACT, signal, 1) + cloze_queries(FACT, signal, 1) + asked[:2]
    assert len(mixed) == len(rule)
    one = queries_for(FACT, signal, cfg, {FACT.text: asked[:1]})
    assert len(one) == len(rule) and one[-1] == asked[0]


def test_forgetting_a_fact_unlearns_its_written_questions_too(signal: WordSignal) -> None:
    gone = PassageInput(1, "# Normans\n" + FACT.body, "/n.md", None)
    fact = passage_facts(gone.text, 1)[0]
    written = {fact.text: ["In what country is Normandy?"]}
    prompts = {e.prompt for e in unlearn_examples([gone], [], signal, DataConfig(), written)}
    assert any("In what country is Normandy?" in p for p in prompts)
    trained = {e.prompt for e in build_examples([gone], signal, DataConfig(), written)}
    assert trained == prompts  # every query that taught the fact now recites "Nothing."


def test_the_question_cache_is_kept_per_writer(tmp_path: Path) -> None:
    path = tmp_path / "q.json"
    cache = QuestionCache(path, "writer-a")
    cache.put(FACT, ["In what country is Normandy?"])
    cache.save()
    assert QuestionCache(path, "writer-a").get(FACT) == ["In what country is Normandy?"]
    assert QuestionCache(path, "writer-b").get(FACT) is None  # a retrained writer writes anew
    path.write_text("{not json")
    assert QuestionCache(path, "writer-a").get(FACT) is None  # unreadable: written again, no crash


def _tiny_prior(config: Config, model_dir: Path) -> Path:
    """A prior for the tiny model under the data dir: a random writer adapter and its record."""
    from sleepd.memory.sleeping.train import TrainConfig, add_lora
    from sleepd.models.adapters import save_adapter
    from sleepd.models.model import load_model

    lm = load_model(config)
    writer = add_lora(lm.model, None, TrainConfig(rank=4, alpha=4))
    prior = config.paths.data_dir / "priors" / model_slug(str(model_dir))
    save_adapter(writer, prior / WRITER_PART)
    (prior / RECORD).write_text(json.dumps({"name": "tiny-writer", "data": {"summary": "nothing"}}))
    return prior


def test_a_sleep_with_a_prior_writes_questions_and_records_them(
    tiny_config: Config, tiny_store: Store
) -> None:
    from sleepd.memory.sleeping.pipeline import run_sleep
    from sleepd.memory.versions import memory_of

    path = _tiny_prior(tiny_config, Path(tiny_config.model.name_or_path))
    assert find_prior(tiny_config, tiny_config.model.name_or_path, None).path == path
    sid = tiny_store.upsert_source("/notes/a.md")
    tiny_store.add_passages(sid, [NewPassage("Server kestrel-9 runs Alpine on port 7001.", 8)])
    run_sleep(tiny_config, tiny_store)
    meta = memory_of(tiny_config).info(1).meta
    writing = meta["question_writing"]
    assert writing["prior"] == "tiny-writer" and writing["facts"] == 1 and writing["newly_written"] == 1
    # a random writer writes noise: nothing passes the check, and the sleep trains the rule-made
    # queries as without a prior
    assert writing["questions"] == 0
    cache = next((memory_of(tiny_config).root / "questions").glob("*.json"))
    assert list(json.loads(cache.read_text()).values()) == [[]]  # written once, cached


def test_a_prior_trained_on_other_weights_is_not_used(tiny_config: Config) -> None:
    name = tiny_config.model.name_or_path
    path = _tiny_prior(tiny_config, Path(name))
    record = json.loads((path / RECORD).read_text())
    (path / RECORD).write_text(json.dumps({**record, "base_sha256": "0" * 64}))
    assert find_prior(tiny_config, name, "1" * 64) is None
    assert find_prior(tiny_config, name, "0" * 64) is not None
