"""Chat sessions in the real SQLite store: messages in order, the last-N window, summaries, and only
what the person said becoming a passage for the next sleep."""

from __future__ import annotations

import time

from sleepd.storage import NewPassage, Store
from sleepd.storage.chats import CHAT_SOURCE_PREFIX, NOTE_SOURCE_PREFIX


def test_messages_come_back_oldest_first_and_the_window_keeps_the_latest(store: Store) -> None:
    s = store.create_session("be brief")
    for i in range(4):
        store.add_exchange(s, f"q{i}", f"a{i}")
    assert [m.content for m in store.messages(s)] == ["q0", "a0", "q1", "a1", "q2", "a2", "q3", "a3"]
    assert [(m.role, m.content) for m in store.messages(s, limit=3)] == [
        ("assistant", "a2"),
        ("user", "q3"),
        ("assistant", "a3"),
    ]
    assert store.session_system_prompt(s) == "be brief" and store.session_exists(s)
    assert not store.session_exists(s + 1) and store.session_system_prompt(s + 1) is None


def test_sessions_are_listed_newest_activity_first_without_empty_ones(store: Store) -> None:
    first, second = store.create_session(), store.create_session(title="api: codex")
    store.create_session()  # empty: never listed
    store.add_exchange(second, "hello from the api", "hi")
    time.sleep(0.01)  # updated_at has millisecond resolution
    store.add_exchange(first, "when is standup?", "9:45")
    listed = store.list_sessions()
    assert [(x.id, x.messages, x.first_message) for x in listed] == [
        (first, 2, "when is standup?"),
        (second, 2, "hello from the api"),
    ]
    assert listed[1].title == "api: codex" and store.last_session() == first


def test_only_the_persons_turn_becomes_a_pending_passage(store: Store) -> None:
    s = store.create_session()
    store.add_exchange(
        s, "the wifi password is Tern-4417", "Noted.", NewPassage("the wifi password is Tern-4417", 9)
    )
    store.add_exchange(s, "what is it?", "Tern-4417")  # a question: nothing to remember
    passages = store.passages()
    assert [(p.text, p.role, p.status, p.source_path) for p in passages] == [
        ("the wifi password is Tern-4417", "user", "pending", f"{CHAT_SOURCE_PREFIX}{s}")
    ]


def test_remembered_notes_append_to_their_clients_source(store: Store) -> None:
    a = store.remember_note("mcp", NewPassage("first", 1))
    b = store.remember_note("mcp", NewPassage("second", 1))
    other = store.remember_note("cli", NewPassage("third", 1))
    by_id = {p.id: p for p in store.passages()}
    assert by_id[a].source_path == by_id[b].source_path == f"{NOTE_SOURCE_PREFIX}mcp"
    assert by_id[other].source_path == f"{NOTE_SOURCE_PREFIX}cli"
    assert [p.text for p in store.passages() if p.source_path.endswith("mcp")] == ["first", "second"]
