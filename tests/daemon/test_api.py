"""The local API's routers, called in-process with FastAPI's TestClient on a real daemon (tiny model,
real SQLite, real watcher): shapes, one-line errors, the bearer token over TCP, the body cap, and
/ingest writing through the daemon's own ingestor."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from sleepd.daemon.api import MAX_BODY_BYTES, make_app
from sleepd.daemon.core import Daemon
from sleepd.storage import Config

TOKEN = "test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}  # TestClient's requests come with a TCP-like address


@pytest.fixture
def api(tiny_config: Config):  # type: ignore[no-untyped-def]
    daemon = Daemon(tiny_config)
    daemon.start()
    try:
        yield TestClient(make_app(daemon, TOKEN), headers=AUTH), daemon
    finally:
        daemon.stop()


def test_requests_without_the_token_get_401_in_openai_shape(api) -> None:  # type: ignore[no-untyped-def]
    client, _daemon = api
    r = client.get("/status", headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401 and r.json()["error"]["type"] == "authentication_error"


def test_status_reports_state_counts_and_precision(api) -> None:  # type: ignore[no-untyped-def]
    client, _daemon = api
    s = client.get("/status").json()
    assert s["daemon"]["state"] == "serving" and s["served_version"] is None
    assert s["passages"]["pending"] == 0 and s["memory_version"] is None
    assert s["precision"]["sleep"]["dtype"] == "fp32"  # the tiny config forces it
    assert s["precision"]["serve"]["dtype"] in ("fp32", "bf16") and s["precision"]["serve"]["reason"]


def test_ingest_reads_files_and_folders_and_reports_missing_ones(api, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    client, daemon = api
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "a.md").write_text("The ferry to Quill Harbour leaves at 06:40 from pier Osk-3.\n")
    (notes / "b.txt").write_text("Standup moved to 9:45 on Mondays.\n")
    single = tmp_path / "c.md"
    single.write_text("The wifi password is Tern-4417.\n")
    r = client.post("/ingest", json={"paths": [str(notes), str(single), str(tmp_path / "gone.md")]})
    assert r.status_code == 200, r.text
    report = r.json()
    assert (report["new"], report["skipped"], report["passages_added"]) == (3, 1, 3)
    assert report["skipped_files"] == [
        {"path": str(tmp_path / "gone.md"), "reason": "no such file or folder"}
    ]
    assert {p.source_path for p in daemon.store.passages(status="pending")} == {
        str(notes / "a.md"),
        str(notes / "b.txt"),
        str(single),
    }
    again = client.post("/ingest", json={"paths": [str(notes)]}).json()
    assert (again["unchanged"], again["new"]) == (2, 0)
    hits = client.get("/search", params={"q": "ferry Quill"}).json()
    assert hits[0]["path"] == str(notes / "a.md") and hits[0]["status"] == "pending"
    rows = client.get("/sources").json()
    assert {r["path"] for r in rows} == {str(notes / "a.md"), str(notes / "b.txt"), str(single)}
    assert client.get("/sources", params={"status": "bogus"}).status_code == 400


def test_bad_requests_are_one_line_errors(api, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    client, _daemon = api
    assert client.post("/ingest", json={"paths": []}).status_code == 422
    r = client.post("/ingest", json={"paths": ["x"], "kind": "pictures"})
    assert r.status_code == 422 and "kind" in r.json()["detail"]
    r = client.post("/watch", json={"path": str(tmp_path / "nope")})
    assert r.status_code == 400 and r.json()["detail"].startswith("no such folder")
    assert client.post("/watch/remove", json={"path": str(tmp_path)}).status_code == 404
    assert client.post("/memory/rollback", json={"version": 7}).status_code == 404
    r = client.post("/memory/forget", json={"path": str(tmp_path / "never.md")})
    assert r.status_code == 404
    assert client.post("/chat", json={"message": "hi", "session_id": 99}).status_code == 404
    r = client.post("/chat", json={"message": "hi", "model": "gpt-9"})
    assert r.status_code == 404 and "sleepd-base" in r.json()["detail"]
    big = {"text": "x" * (MAX_BODY_BYTES + 10)}
    r = client.post("/remember", content=json.dumps(big), headers={"Content-Type": "application/json"})
    assert r.status_code == 413


def test_watch_add_then_remove_through_the_daemon(api, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    client, daemon = api
    folder = tmp_path / "vault"
    folder.mkdir()
    assert client.post("/watch", json={"path": str(folder)}).json() == {"watching": str(folder.resolve())}
    assert [w.path for w in daemon.store.list_watches()] == [str(folder.resolve())]
    assert client.post("/watch/remove", json={"path": str(folder)}).json() == {
        "removed": str(folder.resolve())
    }
    assert daemon.store.list_watches() == []


def test_chat_streams_session_tokens_and_done_and_remembers_statements(api) -> None:  # type: ignore[no-untyped-def]
    client, daemon = api
    body = {"message": "My locker code is 5512", "closed_book": True}
    with client.stream("POST", "/chat", json=body) as r:
        events = [json.loads(line) for line in r.iter_lines() if line.strip()]
    assert "session" in events[0] and events[0]["sources"] == []  # closed-book: no buffer notes
    assert events[-1]["done"] is True and all("token" in e for e in events[1:-1])
    assert [p.text for p in daemon.store.passages(status="pending")] == ["My locker code is 5512"]
    remembered = client.post("/remember", json={"text": "Plant watering: Thursdays", "client": "mcp"}).json()
    assert remembered["status"] == "pending" and remembered["path"] == "sleepd-note://mcp"


def test_memory_list_is_empty_before_any_sleep_and_openai_models_name_the_base(api) -> None:  # type: ignore[no-untyped-def]
    client, _daemon = api
    assert client.get("/memory").json() == []
    ids = [m["id"] for m in client.get("/v1/models").json()["data"]]
    assert ids == ["sleepd-base", "sleepd-closed-book"]
    r = client.post("/v1/chat/completions", json={"model": "sleepd-base", "messages": []})
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"


def test_the_api_cuts_an_answer_at_its_stop_string_across_pieces() -> None:
    """``stop`` cuts the text at the first stop string, even one split across streamed pieces
    (the tiny model's own answers are loops, too short to carry one)."""
    from sleepd.daemon.openai_api import _StopCutter, finish_reason

    cutter = _StopCutter(["END", "##"])
    got = [cutter.feed(p) for p in ["The key is ", "under the E", "ND mat"]]
    assert "".join(got) == "The key is under the " and cutter.stopped
    plain = _StopCutter(["END"])
    assert "".join([plain.feed("no stop "), plain.feed("here"), plain.flush()]) == "no stop here"
    assert [finish_reason(r) for r in ("stop", "length", "repetition", "cancelled")] == [
        "stop",
        "length",
        "length",
        "stop",
    ]
