"""Inputs bigger than the model, through the real daemon's unix socket (tiny model): a 1 MB message
is refused with one line before it is tokenized, a second client's chat meanwhile is not held up,
history is cut to fit, and an answer whose client has gone stops."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest

from sleepd.daemon.prompt_limits import MAX_CHARS_PER_TOKEN, PromptTooLong, check_message, fit_history
from sleepd.storage import Config
from tests.daemon.daemon_proc import RunningDaemon

MB = 1_000_000


@pytest.fixture
def daemon(tiny_config: Config, tmp_path: Path):  # type: ignore[no-untyped-def]
    d = RunningDaemon(tiny_config, tmp_path / "daemon.log")
    d.wait_ready()
    yield d
    assert d.stop() == 0


def _client(config: Config) -> httpx.Client:
    transport = httpx.HTTPTransport(uds=str(config.paths.socket_path))
    return httpx.Client(transport=transport, base_url="http://sleepd", timeout=120)


def _completion(client: httpx.Client, text: str, **extra: object) -> httpx.Response:
    body = {"model": "sleepd-base", "messages": [{"role": "user", "content": text}], "max_tokens": 8, **extra}
    return client.post("/v1/chat/completions", json=body)


def test_a_1mb_message_is_refused_fast_while_another_chat_goes_on(
    daemon: RunningDaemon, tiny_config: Config
) -> None:
    with _client(tiny_config) as client:
        _completion(client, "warm up")
        t0 = time.perf_counter()
        assert _completion(client, "What is the capital of France?").status_code == 200
        alone = time.perf_counter() - t0

        results: dict[str, float] = {}

        def other_chat() -> None:
            with _client(tiny_config) as other:
                t = time.perf_counter()
                assert _completion(other, "What is the capital of France?").status_code == 200
                results["other"] = time.perf_counter() - t

        worker = threading.Thread(target=other_chat)
        t1 = time.perf_counter()
        worker.start()
        big = _completion(client, "x " * (MB // 2))  # 1 MB of text, under the body cap
        refused_in = time.perf_counter() - t1
        worker.join(120)
    assert big.status_code == 400, big.text
    error = big.json()["error"]
    assert error["code"] == "context_length_exceeded" and "message too long" in error["message"]
    assert "\n" not in error["message"]
    assert refused_in < 2.0, refused_in
    assert results["other"] < 2 * alone + 0.5, (results, alone)  # 0.5 s: scheduling noise on 2 cores


def test_the_chat_route_refuses_too_and_a_body_over_the_cap_is_413(
    daemon: RunningDaemon, tiny_config: Config
) -> None:
    with _client(tiny_config) as client:
        r = client.post("/chat", json={"message": "y" * 90_000})
        assert r.status_code == 400 and r.json()["detail"].startswith("message too long")
        r = _completion(client, "z" * (2 * MB))
        assert r.status_code == 413 and r.json()["error"]["code"] == "request_too_large"
        assert client.get("/status").json()["daemon"]["state"] == "serving"


def test_an_answer_that_loops_ends_early_and_the_api_says_it_was_cut(
    daemon: RunningDaemon, tiny_config: Config
) -> None:
    """Greedy, the tiny random model repeats itself at once: the answer ends long before its
    max_tokens, and finish_reason says it is not whole, streamed or not."""
    import json

    with _client(tiny_config) as client:
        r = _completion(client, "How do I fail over the ledger replica?", max_tokens=400, temperature=0)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["choices"][0]["finish_reason"] == "length"
        assert body["usage"]["completion_tokens"] < 200, body["usage"]
        with client.stream(
            "POST",
            "/v1/chat/completions",
            json={
                "model": "sleepd-base",
                "stream": True,
                "max_tokens": 400,
                "temperature": 0,
                "messages": [{"role": "user", "content": "How do I fail over the ledger replica?"}],
            },
        ) as s:
            chunks = [json.loads(line[6:]) for line in s.iter_lines() if line.startswith("data: {")]
        finishes = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"][0]["finish_reason"]]
        assert finishes == ["length"]


def test_a_streamed_answer_stops_when_its_client_goes(daemon: RunningDaemon, tiny_config: Config) -> None:
    from sleepd.storage import Store, open_engine

    body = {
        "model": "sleepd-base",
        "stream": True,
        "max_tokens": 1800,  # far more than it gets to write (the tiny model reads 2048 positions)
        "temperature": 1.0,  # sampled: a random model's greedy answer could end at once
        "messages": [{"role": "user", "content": "Write a very long story about a lighthouse."}],
    }
    with _client(tiny_config) as client, client.stream("POST", "/v1/chat/completions", json=body) as r:
        for n, _line in enumerate(r.iter_lines()):
            if n > 3:
                break  # leave mid-answer
    # the answer ends within about a step of the client leaving, and is stored as far as it got
    store = Store(open_engine(tiny_config))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not store.list_sessions():
        time.sleep(0.2)
    [session] = store.list_sessions()
    answer = store.messages(session.id)[-1]
    assert answer.role == "assistant" and len(answer.content) < 1000, len(answer.content)


def test_history_keeps_the_newest_turns_that_fit() -> None:
    def words(text: str) -> int:
        return len(text.split())

    turns = [{"role": "user", "content": "one two three"}, {"role": "assistant", "content": "four five"}]
    turns += [{"role": "user", "content": "six"}]
    assert fit_history(turns, 3, words) == turns[1:]
    assert fit_history(turns, 6, words) == turns
    assert fit_history(turns, 0, words) == []
    huge = [{"role": "user", "content": "w " * 10_000}, *turns[2:]]
    assert fit_history(huge, 100, words) == turns[2:]  # a turn too long alone ends the history


def test_a_message_is_measured_by_length_before_any_tokenizing() -> None:
    calls: list[str] = []

    def count(text: str) -> int:
        calls.append(text)
        return len(text.split())

    with pytest.raises(PromptTooLong, match="characters"):
        check_message("a" * (1024 * MAX_CHARS_PER_TOKEN + 1), None, 2048, count)
    assert calls == []
    with pytest.raises(PromptTooLong, match="tokens"):
        check_message("w " * 1500, None, 2048, count)
    assert check_message("what is up", "be brief", 2048, count) == 5
