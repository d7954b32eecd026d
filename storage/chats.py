"""Chat sessions and messages, and chat turns as passages for the next sleep."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, Engine, text

from .records import NewPassage, insert_passage

CHAT_SOURCE_PREFIX = "sleepd-chat://session/"
NOTE_SOURCE_PREFIX = "sleepd-note://"


@dataclass(frozen=True)
class ChatMessage:
    role: str
    content: str
    created_at: str = ""


@dataclass(frozen=True)
class SessionSummary:
    id: int
    title: str | None  # "api: <client>" for API and MCP sessions, None for the CLI's
    created_at: str
    updated_at: str
    messages: int
    first_message: str | None  # the first thing the person said


class ChatStore:
    """Mixin of ``Store`` (uses its ``engine`` and ``writer``)."""

    engine: Engine
    writer: Engine

    def create_session(self, system_prompt: str | None = None, title: str | None = None) -> int:
        with self.writer.begin() as conn:
            row = conn.execute(
                text("INSERT INTO chat_sessions(title, system_prompt) VALUES (:t, :s) RETURNING id"),
                {"t": title, "s": system_prompt},
            ).one()
        return int(row[0])

    def session_exists(self, session_id: int) -> bool:
        with self.engine.connect() as conn:
            return (
                conn.execute(text("SELECT 1 FROM chat_sessions WHERE id = :id"), {"id": session_id}).first()
                is not None
            )

    def last_session(self) -> int | None:
        with self.engine.connect() as conn:
            v = conn.execute(text("SELECT id FROM chat_sessions ORDER BY updated_at DESC, id DESC")).first()
        return int(v[0]) if v else None

    def session_system_prompt(self, session_id: int) -> str | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                text("SELECT system_prompt FROM chat_sessions WHERE id = :id"), {"id": session_id}
            ).first()
        return row[0] if row else None

    def messages(self, session_id: int, limit: int = 50) -> list[ChatMessage]:
        """The last ``limit`` messages of a session, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT role, content, created_at FROM (SELECT id, role, content, created_at "
                    "FROM chat_messages WHERE session_id = :s ORDER BY id DESC LIMIT :n) ORDER BY id"
                ),
                {"s": session_id, "n": limit},
            ).all()
        return [ChatMessage(r[0], r[1], r[2]) for r in rows]

    def list_sessions(self, limit: int = 20) -> list[SessionSummary]:
        """The ``limit`` most recently active sessions, newest first (empty ones left out)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT s.id, s.title, s.created_at, s.updated_at, count(m.id), "
                    "(SELECT content FROM chat_messages WHERE session_id = s.id AND role = 'user' "
                    " ORDER BY id LIMIT 1) "
                    "FROM chat_sessions s JOIN chat_messages m ON m.session_id = s.id "
                    "GROUP BY s.id ORDER BY s.updated_at DESC, s.id DESC LIMIT :n"
                ),
                {"n": limit},
            ).all()
        return [SessionSummary(r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows]

    def add_exchange(
        self, session_id: int, user: str, assistant: str, remember: NewPassage | None = None
    ) -> None:
        """Store one question and answer; ``remember``: the user's turn as a pending passage
        (only what the person said is learned, never the model's own words)."""
        with self.writer.begin() as conn:
            for role, content in (("user", user), ("assistant", assistant)):
                conn.execute(
                    text("INSERT INTO chat_messages(session_id, role, content) VALUES (:s, :r, :c)"),
                    {"s": session_id, "r": role, "c": content},
                )
            conn.execute(
                text(
                    "UPDATE chat_sessions SET updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') "
                    "WHERE id = :s"
                ),
                {"s": session_id},
            )
            if remember is None:
                return
            _append_note(conn, f"{CHAT_SOURCE_PREFIX}{session_id}", remember)

    def remember_note(self, client: str, note: NewPassage) -> int:
        """A note an agent asked to be remembered (MCP ``remember``): a pending passage of the source
        ``sleepd-note://<client>``, learned by the next sleep. Returns the passage id."""
        with self.writer.begin() as conn:
            return _append_note(conn, f"{NOTE_SOURCE_PREFIX}{client}", note)


def _append_note(conn: Connection, path: str, note: NewPassage) -> int:
    conn.execute(
        text(
            "INSERT INTO sources(path, kind, status) VALUES (:p, 'chat', 'ok') ON CONFLICT(path) DO NOTHING"
        ),
        {"p": path},
    )
    sid = conn.execute(text("SELECT id FROM sources WHERE path = :p"), {"p": path}).scalar_one()
    ordinal = conn.execute(
        text("SELECT coalesce(max(ordinal) + 1, 0) FROM passages WHERE source_id = :s"), {"s": sid}
    ).scalar_one()
    return insert_passage(conn, sid, ordinal, NewPassage(note.text, note.token_count, "user"))
