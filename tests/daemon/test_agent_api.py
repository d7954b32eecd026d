"""Other agents use the memory: the real ``openai`` client against the OpenAI-compatible API (unix
socket, and TCP with its bearer token), and the real ``mcp`` client SDK against ``sleepd mcp``."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
from pathlib import Path

import httpx
import openai
import pytest

from sleepd.daemon.openai_api import finish_reason
from sleepd.storage import Config, NewPassage, Store, open_engine
from sleepd.storage.token import create_token
from tests.conftest import fresh_config

from .daemon_proc import RunningDaemon

NOTE = "The spare bike key hangs on the hook behind the pantry door."
QUESTION = "Where is the spare bike key?"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _with_tcp(config: Config, port: int) -> Config:
    with config.paths.config_file.open("a") as fh:
        fh.write(f"[daemon]\ntcp_port = {port}\n")
    return fresh_config()


@pytest.fixture
def api_daemon(tiny_config: Config, tmp_path: Path):  # type: ignore[no-untyped-def]
    config = _with_tcp(tiny_config, _free_port())
    store = Store(open_engine(config))
    store.add_passages(store.upsert_source("/notes/bike.md"), [NewPassage(NOTE, 14)])
    token = create_token(config.paths)
    d = RunningDaemon(config, tmp_path / "daemon.log")
    d.wait_ready()
    yield d, config, token
    assert d.stop() == 0


def _socket_client(config: Config) -> openai.OpenAI:
    http = httpx.Client(transport=httpx.HTTPTransport(uds=str(config.paths.socket_path)), timeout=120)
    return openai.OpenAI(base_url="http://sleepd/v1", api_key="unused-on-the-socket", http_client=http)


def _chat_answer(d: RunningDaemon, question: str) -> tuple[str, str]:
    """(the answer, why it ended) on `sleepd chat`'s path."""
    events = list(d.client.chat({"message": question, "new_session": True, "remember": False}))
    finish = next(e["finish"] for e in events if e.get("done"))
    return "".join(e.get("token", "") for e in events).strip(), finish


def test_openai_client_gets_the_memorys_answer(api_daemon) -> None:  # type: ignore[no-untyped-def]
    d, config, token = api_daemon
    expected, finish = _chat_answer(d, QUESTION)  # `sleepd chat`'s path, same model, greedy
    client = _socket_client(config)
    models = [m.id for m in client.models.list()]
    assert models == ["sleepd-base", "sleepd-closed-book"]  # no sleep yet: the base model is served

    done = client.chat.completions.create(model=models[0], messages=[{"role": "user", "content": QUESTION}])
    assert done.choices[0].message.content.strip() == expected
    # the tiny random model's greedy answer is a loop, cut as it starts: "length", not "stop"
    assert finish == "repetition" and done.choices[0].finish_reason == finish_reason(finish) == "length"

    stream = client.chat.completions.create(
        model=models[0], messages=[{"role": "user", "content": QUESTION}], stream=True
    )
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices).strip() == expected

    words = expected.split()
    if len(words) > 2:  # stop: the answer is cut before the stop string
        cut = client.chat.completions.create(
            model=models[0], messages=[{"role": "user", "content": QUESTION}], stop=[words[2]]
        )
        assert words[2] not in cut.choices[0].message.content

    with pytest.raises(openai.BadRequestError) as bad:  # OpenAI's error shape, not a crash
        client.chat.completions.create(
            model=models[0],
            messages=[{"role": "user", "content": QUESTION}],
            tools=[{"type": "function", "function": {"name": "f", "parameters": {}}}],
        )
    assert bad.value.body["param"] == "tools"  # type: ignore[index]
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": QUESTION}])

    # conversations from API clients are stored as chat sessions tagged with the client
    with open_engine(config).connect() as conn:
        titles = [r[0] for r in conn.exec_driver_sql("SELECT title FROM chat_sessions")]
    asked = 2 + (len(words) > 2)  # with the stop-string request when the answer has the words for it
    assert sum(1 for t in titles if t and t.startswith("api: OpenAI")) >= asked


def test_tcp_needs_the_bearer_token(api_daemon) -> None:  # type: ignore[no-untyped-def]
    d, config, token = api_daemon
    base = f"http://127.0.0.1:{config.daemon.tcp_port}/v1"
    ok = openai.OpenAI(base_url=base, api_key=token, timeout=120)
    assert [m.id for m in ok.models.list()][-1] == "sleepd-closed-book"
    for wrong in ("sk-wrong", ""):
        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(base_url=base, api_key=wrong or "x", max_retries=0).models.list()
    assert httpx.get(f"http://127.0.0.1:{config.daemon.tcp_port}/status").status_code == 401  # no header
    assert "memory_version" in d.client.get("/status")  # the socket needs none


def test_no_token_no_tcp_listener(tiny_config: Config, tmp_path: Path) -> None:
    port = _free_port()
    config = _with_tcp(tiny_config, port)
    d = RunningDaemon(config, tmp_path / "daemon.log")
    try:
        d.wait_ready()
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{port}/v1/models")
        assert "no API token exists: TCP not started" in (tmp_path / "daemon.log").read_text()
    finally:
        assert d.stop() == 0


def test_mcp_server_recalls_searches_and_remembers(api_daemon) -> None:  # type: ignore[no-untyped-def]
    from mcp import Client
    from mcp.client.stdio import StdioServerParameters

    d, config, _token = api_daemon
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "sleepd.cli.main", "mcp"], env=dict(os.environ)
    )

    async def session() -> tuple[set[str], dict, list, dict, str]:
        async with Client(params, read_timeout_seconds=300) as client:
            tools = {t.name for t in (await client.list_tools()).tools}
            recall = await client.call_tool("recall", {"question": QUESTION})
            search = await client.call_tool("search_notes", {"query": "spare bike key"})
            remember = await client.call_tool("remember", {"text": "The loft ladder is in the garage."})
            versions = await client.read_resource("sleepd://versions")
            return (
                tools,
                recall.structured_content or json.loads(recall.content[0].text),
                (search.structured_content or {}).get("result") or json.loads(search.content[0].text),
                remember.structured_content or json.loads(remember.content[0].text),
                versions.contents[0].text,
            )

    tools, recall, search, remember, versions = asyncio.run(session())
    assert {"recall", "search_notes", "remember", "memory_status"} <= tools
    # the tiny random model's answer is a loop, cut at once (maybe nothing but blank lines)
    assert recall["finish"] == "repetition" and isinstance(recall["answer"], str)
    assert any(s.get("path") == "/notes/bike.md" for s in recall["sources"])
    assert search[0]["path"] == "/notes/bike.md" and "pantry door" in search[0]["text"]
    assert remember["status"] == "pending"
    pending = [p.text for p in Store(open_engine(config)).passages(status="pending")]
    assert "The loft ladder is in the garage." in pending
    assert json.loads(versions) == []  # no sleep yet
