"""`sleepd chat -m / --no-remember` against a running daemon, and `sleepd logs` over what it stored."""

from __future__ import annotations

import json
from pathlib import Path

from sleepd.storage import Config, Store, open_engine

from .daemon_proc import RunningDaemon, sleepd


def test_chat_model_no_remember_and_logs(tiny_config: Config, tmp_path: Path) -> None:
    d = RunningDaemon(tiny_config, tmp_path / "daemon.log")
    try:
        d.wait_ready()
        sleepd("chat", "--no-remember", "My locker number is 14.")
        sleepd("chat", "My bike is the red one.")
        sleepd("chat", "-m", "sleepd-closed-book", "Where is my bike?")
        wrong = sleepd("chat", "-m", "gpt-4o", "Hi.", check=False)
        assert wrong.returncode == 1 and "Traceback" not in wrong.stderr
        assert "no model 'gpt-4o' served; choose one of sleepd-base, sleepd-closed-book" in wrong.stderr

        notes = tmp_path / "notes"
        notes.mkdir()
        (notes / "old.md").write_text("The old wifi password was kestrel-9.")
        sleepd("ingest", str(notes))
        forgot = sleepd("memory", "forget", str(notes / "old.md")).stdout
        assert "1 passages dropped (through the running daemon)" in forgot
    finally:
        assert d.stop() == 0

    store = Store(open_engine(tiny_config))
    told = [p.text for p in store.passages(status="pending")]  # old.md was forgotten
    assert told == ["My bike is the red one."]  # the --no-remember message was not kept

    sessions = json.loads(sleepd("logs", "--json").stdout)
    assert [s["first_message"] for s in sessions] == [
        "Where is my bike?",
        "My bike is the red one.",
        "My locker number is 14.",
    ]
    assert all(s["messages"] == 2 for s in sessions)
    assert len(json.loads(sleepd("logs", "-n", "1", "--json").stdout)) == 1
    shown = sleepd("logs", "--session", str(sessions[-1]["id"])).stdout
    assert "user: My locker number is 14." in shown and "assistant:" in shown
    messages = json.loads(sleepd("logs", "--session", str(sessions[-1]["id"]), "--json").stdout)
    assert [m["role"] for m in messages] == ["user", "assistant"]
    missing = sleepd("logs", "--session", "999", check=False)
    assert missing.returncode == 1 and "no chat session 999" in missing.stderr
