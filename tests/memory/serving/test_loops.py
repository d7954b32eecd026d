"""No generation runs away: a real model that falls into a loop (the tiny random model does, at
once, when decoded greedily) ends within a few dozen tokens, says why, and keeps what it wrote."""

from __future__ import annotations

import time

from sleepd.memory.serving.generate import Ending, GenerationConfig, stream_generate
from sleepd.models.repetition import MIN_SPAN
from sleepd.storage import Config

LIMIT = 400


def test_a_looping_answer_ends_early_and_says_why(tiny_config: Config) -> None:
    from sleepd.models.model import load_model

    lm = load_model(tiny_config)
    messages = [{"role": "user", "content": "How do I fail over the ledger replica?"}]
    ending = Ending()
    start = time.perf_counter()
    text = "".join(stream_generate(lm, messages, GenerationConfig(LIMIT, 0.0, 1.1), ending=ending))
    assert ending.reason == "repetition" and ending.cut
    assert MIN_SPAN <= ending.tokens < LIMIT // 2, ending.tokens
    assert text  # what it wrote before it ended is kept
    # sampled, the same model does not repeat a block: it runs to its limit, and says so
    sampled = Ending()
    "".join(stream_generate(lm, messages, GenerationConfig(48, 1.0, 1.0), ending=sampled))
    assert (sampled.reason, sampled.tokens) == ("length", 48)
    assert time.perf_counter() - start < 60


def test_recitation_beams_stop_at_a_loop_too(tiny_config: Config) -> None:
    from sleepd.memory.prompts import recall_prompt
    from sleepd.memory.serving.rerank import recite_beams
    from sleepd.models.model import load_model

    lm = load_model(tiny_config)
    ids = lm.tokenizer
    [beams] = recite_beams(lm, [recall_prompt("ledger replica?")], 2, LIMIT)
    lengths = [len(ids(text, add_special_tokens=False)["input_ids"]) for text, _score in beams]
    assert beams and max(lengths) < LIMIT // 2, lengths
