"""The warm model the daemon serves, and chat turns through it.

Concurrent chats share the model one decoding step at a time (``memory.turns``), and each answer is
produced into a buffer its reader drains, so a client that stops reading holds nothing. A sleep
trains in another process; when it writes a version, the new adapter is loaded beside the old model
and the served pair (model, version) is replaced in one assignment: answers already under way finish
on the model they started with, the next ones start on the new one, and nobody waits for the swap.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

from sleepd.storage import NewPassage, Store
from sleepd.storage.config import Config

from .prompt_limits import check_message, fit_history

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChatRequest:
    message: str
    session_id: int | None = None
    new_session: bool = False
    system: str | None = None
    closed_book: bool = False
    remember: bool | None = None  # None: config.daemon.chat_into_memory
    # API clients (OpenAI-compatible) send the conversation with every request instead of a session
    history: tuple[tuple[str, str], ...] | None = None  # (role, content) before ``message``
    client: str | None = None  # who asked, kept as the session's title: "api: <client>"
    max_tokens: int | None = None
    temperature: float | None = None


class ChatService:
    def __init__(self, config: Config, store: Store) -> None:
        self.config = config
        self.store = store
        self._served: tuple[Any, int | None] = (None, None)  # (LoadedModel, version), swapped whole
        self.swapped_at: float | None = None
        self.last_chat_at = time.time()
        self._swap_lock = threading.Lock()  # two swaps (a sleep's, a rollback) load one at a time

    @property
    def version(self) -> int | None:
        return self._served[1]

    def load(self) -> None:
        from sleepd.memory.served import load_with_memory

        self._served = load_with_memory(self.config)

    def swap_to(self, version: int | None) -> None:
        """Load ``version`` beside the served model, then serve it from the next answer on."""
        from sleepd.memory.served import load_with_memory

        with self._swap_lock:
            self._served = load_with_memory(self.config, version)
            self.swapped_at = time.time()
        log.info("now serving memory version %s", self.version)

    def _session(self, req: ChatRequest) -> int:
        if req.client is not None:
            return self.store.create_session(req.system, title=f"api: {req.client}")
        if req.session_id is not None and not req.new_session:
            if not self.store.session_exists(req.session_id):
                raise LookupError(f"no chat session {req.session_id}")
            return req.session_id
        return self.store.create_session(
            req.system if req.system is not None else self.config.model.system_prompt
        )

    def count_tokens(self, text: str) -> int:
        lm, _version = self._served
        return len(lm.tokenizer(text, add_special_tokens=False)["input_ids"])

    def check(self, req: ChatRequest) -> int:
        """PromptTooLong (one line) if the message and system prompt are more than a chat may send;
        else their tokens. Called before a response starts, so the refusal is a plain 400."""
        return check_message(req.message, req.system, self.config.model.max_prompt_tokens, self.count_tokens)

    def _buffer_search(self, text: str) -> list[str]:
        """Where default chat grounds a recitation: the buffer passages its words match best."""
        return [h.passage.text for h in self.store.search(text, k=3)]

    def chat(
        self, req: ChatRequest, cancel: threading.Event | None = None
    ) -> Generator[dict[str, Any], None, None]:
        """Events: {"session", "sources": [...]}, then {"token"} pieces, then {"done", "finish"}
        ("finish": why the answer ended, ``generate.Ending``). Setting ``cancel`` (the client went
        away) ends the answer at its next decoding step."""
        from sleepd.memory.serving.generate import GenerationConfig
        from sleepd.memory.serving.recall import answer_with_memory

        used = self.check(req)
        self.last_chat_at = time.time()
        session = self._session(req)
        system = self.store.session_system_prompt(session) if req.system is None else req.system
        # Default chat reads the weights *and* the buffer (pending and consolidated passages), so a
        # sleep adds to what it answers; closed-book is the weights alone, for measuring.
        fresh = [] if req.closed_book else self.store.notes_for(req.message, self.config.recall)
        if req.history is not None:
            turns = [{"role": role, "content": content} for role, content in req.history[-12:]]
        else:
            turns = [{"role": m.role, "content": m.content} for m in self.store.messages(session, limit=12)]
        lm, version = self._served
        notes = sum(h.passage.token_count for h in fresh)
        cap = self.config.recall.note_tokens  # what is read of the notes, at most (excerpt.py)
        read = min(notes, cap) if cap else notes
        if cap and version is not None:
            # a recitation may be read too: closed-book, in place of the absent buffer notes; in
            # default chat, beside the buffer's (recall.memory_leads); each cut to ``cap``
            read += cap
        left = self.config.model.max_prompt_tokens - used - read
        history = [{"role": "system", "content": system}] if system else []
        history += fit_history(turns, left, self.count_tokens)  # the oldest turns cut first
        m = self.config.model
        gen = GenerationConfig(
            req.max_tokens or m.max_new_tokens,
            m.temperature if req.temperature is None else req.temperature,
            m.repetition_penalty,
        )
        parts: list[str] = []
        stream, rec = answer_with_memory(
            lm,
            req.message,
            gen,
            history,
            recite=version is not None,
            notes=[h.passage.text for h in fresh],
            min_coverage=self.config.recall.min_coverage,
            cancel=cancel,
            search=None if req.closed_book else self._buffer_search,
            note_tokens=self.config.recall.note_tokens,
            beams=self.config.recall.recite_beams,
        )
        log.debug(
            "chat in session %d (%s): version %s, recitations kept %d read %d dropped %d, buffer notes %d",
            session,
            req.client or "cli",
            version,
            len(rec.recitations),
            len(rec.read),
            len(rec.dropped),
            len(fresh),
        )
        yield {
            "session": session,
            "version": version,
            "sources": [{"kind": "recited", "text": t} for t in rec.read]
            + [
                {
                    "kind": "buffer",
                    "path": h.passage.source_path,
                    "status": h.passage.status,
                    "text": h.passage.text,
                }
                for h in fresh
            ],
        }
        for piece in stream:
            parts.append(piece)
            yield {"token": piece}
        answer = "".join(parts).strip()
        remember = self.config.daemon.chat_into_memory if req.remember is None else req.remember
        # a question asserts nothing to remember; what the person tells it does
        remember = remember and not req.message.rstrip().endswith("?")
        passage = NewPassage(req.message, len(lm.tokenizer(req.message)["input_ids"])) if remember else None
        self.store.add_exchange(session, req.message, answer, passage)
        self.last_chat_at = time.time()
        if rec.ending.cut:
            log.info(
                "chat in session %d: answer cut (%s) after %d tokens",
                session,
                rec.ending.reason,
                rec.ending.tokens,
            )
        yield {"done": True, "session": session, "finish": rec.ending.reason}
