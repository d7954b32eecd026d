"""End to end with the real bundled model and the real daemon, on notes shaped like the devset's: a
note saved a moment ago is answered from retrieval; after a sleep (chat keeps answering during it)
closed-book answers improve; a forgotten file is no longer recalled after the next sleep."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sleepd.storage import load_config
from tests.daemon.daemon_proc import RunningDaemon, sleepd

# The test's own notes, in the shapes people keep (server notes, a boat club's pages, a chat
# export): fictional, written for this test, so it runs wherever the repository is cloned.
NOTES = {
    "notes/infra/heron-17.txt": "Server heron-17: runs Ubuntu 22.04, has 128 GB of RAM, listens on port 9090."
    " Owner: Ilse Marchetti.",
    "notes/infra/otter-db.txt": "Server otter-db: runs Alpine 3.19, has 64 GB of RAM, listens on port 5432."
    " Owner: Tobias Quenneville.",
    "notes/sailing/2.md": "## The Amber Curlew\n\nThe skipper of the Amber Curlew is Rosalind Achterberg."
    " She is moored in Kotor and sleeps 8 crew. She was launched in 1987.\n",
    "notes/sailing/5.md": "## The Salt Finch\n\nThe skipper of the Salt Finch is Matthias Oduya."
    " She is moored in Lorient and sleeps 6 crew. She was launched in 2004.\n",
    "notes/sailing/7.md": "## The Slate Plover\n\nThe skipper of the Slate Plover is Annika Feldhaus."
    " She is moored in Tromso and sleeps 11 crew. She was launched in 1975.\n",
    "chats/0.jsonl": '{"role": "user", "content": "Note for later: Dorota Lindqvist only eats Gruyere,'
    ' and our meeting with Dorota Lindqvist is at 10:30 in the green room."}\n'
    '{"role": "assistant", "content": "Got it, I\'ll remember that."}\n',
}

# (question, gold, source): ones the bundled model gets right with the note in its prompt
PROBES = [
    ("Who owns the server heron-17?", "Ilse Marchetti", "notes/infra/heron-17.txt"),
    ("Who owns the server otter-db?", "Tobias Quenneville", "notes/infra/otter-db.txt"),
    ("Who is the skipper of the Amber Curlew?", "Rosalind Achterberg", "notes/sailing/2.md"),
    ("Who is the skipper of the Salt Finch?", "Matthias Oduya", "notes/sailing/5.md"),
]


def _closed_book_hits(questions: list[tuple[str, str, str]]) -> list[bool]:
    return [gold in sleepd("chat", "--closed-book", q).stdout for q, gold, _ in questions]


@pytest.mark.slow
def test_devset_through_the_daemon(real_model_home: Path, tmp_path: Path) -> None:
    cfg = real_model_home / "config" / "config.toml"
    # shorter training than the default keeps CI time bounded; the gate has its own test, and with
    # 8 general probes one flipped answer is already 12%, so here it only has to catch a collapse
    cfg.write_text(cfg.read_text() + "[sleep]\nepochs = 6\ngate_min_general_kept = 0.5\n")
    config = load_config()
    daemon = RunningDaemon(config, tmp_path / "daemon.log")
    try:
        client = daemon.wait_ready()
        assert stat.S_IMODE(config.paths.socket_path.stat().st_mode) == 0o600
        docs = tmp_path / "docs"  # the probes' notes and others of the same templates
        for rel, text in NOTES.items():
            (docs / rel).parent.mkdir(parents=True, exist_ok=True)
            (docs / rel).write_text(text)
        sleepd("watch", "add", str(docs))
        end = time.monotonic() + 120
        while len(client.get("/sources", status="ok")) < len(NOTES):
            assert time.monotonic() < end, client.get("/sources")
            time.sleep(0.5)
        # a note read seconds ago is answered from the buffer, before any sleep
        fresh = sleepd("chat", "--sources", "Who owns the server heron-17?")
        assert "Ilse Marchetti" in fresh.stdout, (fresh.stdout, fresh.stderr[-800:])
        before = _closed_book_hits(PROBES)

        sleeping = subprocess.Popen(
            [sys.executable, "-m", "sleepd.cli.main", "sleep", "--json"], stdout=subprocess.PIPE, text=True
        )
        daemon.wait_sleep_stage("train", min_done=2, timeout=1200)
        during = sleepd("chat", "What is the capital of France?")  # chat answers while it trains
        assert "Paris" in during.stdout
        assert client.get("/status")["sleep"]["running"]
        out, _ = sleeping.communicate(timeout=1800)
        result = json.loads(out)
        assert result["outcome"] == "version" and result["version"] == 1, result
        assert client.get("/status")["served_version"] == 1

        after = _closed_book_hits(PROBES)
        assert sum(after) > sum(before), (before, after)
        assert sum(after) >= 2, after

        recalled = [p for p, hit in zip(PROBES, after, strict=True) if hit]
        gone = recalled[0]
        sleepd("memory", "forget", str(docs / gone[2]))
        forget = json.loads(sleepd("sleep", "--json").stdout)
        assert forget["outcome"] == "version" and forget["forgotten_passages"] == 1, forget
        assert _closed_book_hits([gone]) == [False]
        shown = sleepd("memory", "show", "2").stdout
        assert "# Memory version 2" in shown and "forgotten: 1" in shown
    finally:
        assert daemon.stop() == 0, daemon.log.read_text()[-3000:]
