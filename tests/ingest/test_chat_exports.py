"""Chat exports as people have them: each format recognised by content, turns with speaker and date,
conversations cut into sessions, and a grown export read incrementally."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from sleepd.ingest.chunking import make_passages
from sleepd.ingest.ingestor import Ingestor, Outcome
from sleepd.ingest.parsers import Parsed, Skip, parse_bytes
from sleepd.storage import Config, Store

SAMPLES = Path(__file__).parent / "samples"
LOCOMO = Path(__file__).resolve().parents[3] / "shared" / "bench" / "locomo" / "docs"


def _parse(rel: str) -> Parsed | Skip:
    path = SAMPLES / rel
    return parse_bytes(path.read_bytes(), path.suffix, path=str(path))


def _words(s: str) -> int:
    return len(s.split())


# file -> (format, turns, a line of the passages: speaker and date in the text the model reads)
EXPECTED = {
    "whatsapp-ios.txt": ("whatsapp", 6, "On 3 May 2026, Tom Baker said: Yes! I'll bring the seed potatoes."),
    "whatsapp-android.txt": ("whatsapp", 5, "On 13 December 2025, Lee said: deposit paid, $150"),
    "slack-export/garden/2024-05-08.json": ("slack", 3, "Priya said: The community compost bin is now"),
    "slack-channel.json": ("slack", 2, "rosa said: Standup moves to 9:45 from next week."),
    "chatgpt/conversations.json": ("chatgpt", 3, "ChatGPT said: A refrigerated starter needs feeding"),
    "claude/conversations.json": ("claude", 3, "On 2 March 2025, the user said: I weigh 68 kg"),
    "discord-climbing.json": ("discord", 3, "On 1 September 2024, Mo said: Trip to Stanage on 21 September"),
    "irc-bookclub.log": ("named", 5, "On 8 May 2024, rahul said: right, 14 Elm Court, June 12"),
    "standup-transcript.md": ("named", 4, "On 6 October 2025, Jonas said: Yes, Wednesday night"),
    "family-chat.txt": ("named", 4, "Sam said: Can we move it to 2?"),
    "assistant-chat.jsonl": ("jsonl", 2, "My wifi password is hedgehog-42, remember it."),
    "assistant-log.txt": ("roles", 2, "the boiler service is booked for 3 March with Heatwise"),
}


@pytest.mark.parametrize("rel", sorted(EXPECTED))
def test_each_format_is_recognised_by_content_with_speakers_and_dates(rel: str) -> None:
    fmt, turns, line = EXPECTED[rel]
    parsed = _parse(rel)
    assert isinstance(parsed, Parsed) and parsed.kind == "chat", parsed
    assert (parsed.format, len(parsed.units)) == (fmt, turns)
    text = "\n".join(c.text for c in make_passages(parsed.units, 400, _words))
    assert line in text
    # nothing that is not people talking: system lines, attachments, deleted messages, joins
    for noise in (
        "end-to-end encrypted",
        "attached",
        "Media omitted",
        "deleted",
        "has joined",
        "regenerated",
    ):
        assert noise not in text, noise


def test_what_is_not_a_chat_stays_a_document() -> None:
    # "Address: ..." / "Phone: ..." lines read like "Name: text" turns, but each key speaks once
    parsed = _parse("house-info.md")
    assert isinstance(parsed, Parsed) and parsed.kind == "docs"
    assert isinstance(_parse("slack-export/users.json"), Skip)  # names for the day files, not a note


def test_slack_names_come_from_the_exports_users_file() -> None:
    parsed = _parse("slack-export/garden/2024-05-08.json")
    assert isinstance(parsed, Parsed)
    assert [u.speaker for u in parsed.units] == ["Priya", "Owen Clarke", "Priya"]
    assert "@Priya" in parsed.units[1].text and "(in a thread)" in parsed.units[2].text


def test_a_pause_starts_a_new_session() -> None:
    parsed = _parse("whatsapp-ios.txt")
    assert isinstance(parsed, Parsed)
    passages = make_passages(parsed.units, 400, _words)
    assert [p.speakers for p in passages] == [("Marta Silva", "Tom Baker"), ("Tom Baker", "Marta Silva")]
    assert [p.started_at.day for p in passages if p.started_at] == [3, 14]  # 3 May, then 14 May


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sleepd.cli.main", *args], capture_output=True, text=True, timeout=300
    )


def test_a_folder_of_exports_ingests_each_as_chat_with_turns(tok_config: Config, tmp_path: Path) -> None:
    folder = tmp_path / "chats"
    shutil.copytree(SAMPLES, folder)
    done = _cli("ingest", str(folder))
    assert done.returncode == 0, done.stderr
    rows = {str(Path(r["path"]).relative_to(folder)): r for r in json.loads(_cli("sources", "--json").stdout)}
    for rel, (fmt, turns, _line) in EXPECTED.items():
        row = rows[rel]
        assert (row["status"], row["kind"], row["format"], row["turns"]) == ("ok", "chat", fmt, turns), rel
    assert rows["house-info.md"]["kind"] == "docs"
    with sqlite3.connect(tok_config.db_path) as db:
        named = db.execute(
            "SELECT p.text, p.speakers, p.started_at FROM passages p JOIN sources s ON s.id = p.source_id "
            "WHERE s.format IN ('whatsapp', 'slack', 'discord')"
        ).fetchall()
    assert named and all(speakers and started and " said: " in t for t, speakers, started in named)


WHATSAPP_MORE = "".join(
    f"[14/05/2026, 09:{20 + i}:00] {'Tom Baker' if i % 2 else 'Marta Silva'}: message number {i} about it\n"
    for i in range(10)
)


def test_a_grown_whatsapp_export_adds_exactly_the_new_turns(
    ingestor: Ingestor, tok_store: Store, tmp_path: Path
) -> None:
    export = tmp_path / "WhatsApp Chat with Tom.txt"
    shutil.copy(SAMPLES / "whatsapp-ios.txt", export)
    ingestor.ingest_file(str(export))
    before = {p.id: p.text for p in tok_store.passages()}

    # the re-export: the same history and 10 messages more, in the same session as the last ones (read
    # whole again, they would join its last passage and supersede it)
    with export.open("a", encoding="utf-8") as fh:
        fh.write(WHATSAPP_MORE)
    outcome, _reason, added = ingestor.ingest_file(str(export))

    after = tok_store.passages()
    assert outcome is Outcome.CHANGED
    assert {p.id: p.text for p in after if p.id in before and p.status == "pending"} == before  # untouched
    new = [p for p in after if p.id not in before]
    assert added == len(new) >= 1
    new_text = "\n".join(p.text for p in new)
    assert [f"message number {i} about" in new_text for i in range(10)] == [True] * 10
    assert new_text.count(" said: ") == 10  # exactly the new turns, no old one again
    assert tok_store.get_source(str(export)).turns == 16  # type: ignore[union-attr]

    # an edited history (not a prefix any more) is read again in full, diffing by passage text
    export.write_text(export.read_text(encoding="utf-8").replace("seed potatoes", "seed onions"))
    ingestor.ingest_file(str(export))
    live = "\n".join(p.text for p in tok_store.passages() if p.status != "superseded")
    assert "seed onions" in live and "seed potatoes" not in live and live.count("message number 9") == 1


@pytest.mark.skipif(not LOCOMO.is_dir(), reason="the shared LoCoMo set is not beside this checkout")
def test_locomo_sessions_ingest_as_chats_with_speaker_and_date(ingestor: Ingestor, tok_store: Store) -> None:
    report = ingestor.sync_folder(str(LOCOMO))
    assert report.counts[Outcome.NEW] == len(list(LOCOMO.rglob("*.txt")))
    assert {s.kind for s in tok_store.list_sources()} == {"chat"}
    passages = tok_store.passages()
    assert passages and all(p.text.startswith("On ") and " said: " in p.text for p in passages)
