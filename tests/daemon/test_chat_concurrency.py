"""Nothing blocks chat: a stalled reader, a second chat, a hot swap, interleaved adapter states."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from sleepd.daemon.serving import ChatRequest, ChatService
from sleepd.storage import Store
from sleepd.storage.config import Config


def first_token_after(events: Iterator[dict[str, Any]]) -> float:
    start = time.perf_counter()
    for event in events:
        if "token" in event:
            return time.perf_counter() - start
    raise AssertionError("no token")


@pytest.fixture
def service(tiny_config: Config, tiny_store: Store) -> ChatService:
    chat = ChatService(tiny_config, tiny_store)
    chat.load()
    return chat


def test_a_stalled_reader_blocks_neither_a_second_chat_nor_a_swap(service: ChatService) -> None:
    # What a streaming HTTP response does for a client that stops reading: the event generator is
    # advanced to its first token and then left suspended.
    # sampled: the tiny random model's greedy answer is a loop, which ends within a few dozen tokens
    stalled = service.chat(ChatRequest("Tell me a long story.", max_tokens=400, temperature=1.0))
    assert "session" in next(stalled)
    assert "token" in next(stalled)

    second: list[float] = []
    hi = ChatRequest("Hi?")
    worker = threading.Thread(target=lambda: second.append(first_token_after(service.chat(hi))))
    worker.start()
    worker.join(timeout=30)
    assert second, "a second chat waited on a reader that stopped reading"
    assert second[0] < 2.0

    before = service.swapped_at
    swap = threading.Thread(target=service.swap_to, args=(None,))
    swap.start()
    swap.join(timeout=60)
    assert not swap.is_alive() and service.swapped_at != before, "the swap waited on the stalled reader"

    # the stalled answer still completes (on the model it started with) once its reader comes back
    rest = list(stalled)
    assert rest[-1].get("done") and any("token" in e for e in rest)


def test_closing_a_stream_early_stops_its_generation(service: ChatService) -> None:
    lm = service._served[0]
    stream = service.chat(ChatRequest("Tell me a long story.", max_tokens=1500, temperature=1.0))
    next(stream), next(stream)
    stream.close()  # the reader went away (GeneratorExit at the yield)
    end = time.monotonic() + 10
    while time.monotonic() < end and any(t.name == "sleepd-generate" for t in threading.enumerate()):
        time.sleep(0.05)
    assert not any(t.name == "sleepd-generate" for t in threading.enumerate())
    with lm.turns.hold():  # and the model is free
        pass


def test_interleaved_generations_keep_their_own_adapter_state(tiny_config: Config) -> None:
    """Steps of an adapter-on and an adapter-off generation interleave on one model; each must give
    what it gives alone (greedy), or a turn ran with the other's adapter state."""
    from peft import LoraConfig, get_peft_model

    from sleepd.memory.serving.generate import GenerationConfig, generate
    from sleepd.models.model import LoadedModel, load_model

    base = load_model(tiny_config)
    peft_model = get_peft_model(
        base.model, LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    )
    lm = LoadedModel(peft_model, base.tokenizer, base.source)
    gen = GenerationConfig(max_new_tokens=40, temperature=0.0, repetition_penalty=1.0)
    msgs = [{"role": "user", "content": "Name three rivers."}]
    alone_on, alone_off = generate(lm, msgs, gen), generate(lm, msgs, gen, adapter=False)
    assert alone_on != alone_off  # the adapter changes the answer, so a mix-up would show

    out: dict[str, str] = {}
    order: list[str] = []
    real_pass = lm.turns.pass_turn

    def recording_pass(adapter_on: bool = True) -> None:
        order.append("on" if adapter_on else "off")
        real_pass(adapter_on)

    lm.turns.pass_turn = recording_pass  # type: ignore[method-assign]
    threads = [
        threading.Thread(target=lambda: out.__setitem__("on", generate(lm, msgs, gen))),
        threading.Thread(target=lambda: out.__setitem__("off", generate(lm, msgs, gen, adapter=False))),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert out == {"on": alone_on, "off": alone_off}
    switches = sum(a != b for a, b in zip(order, order[1:], strict=False))
    assert switches > 5, f"the two generations did not interleave: {order}"
