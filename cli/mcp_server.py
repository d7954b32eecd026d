"""`sleepd mcp`: an MCP server on stdio (the official ``mcp`` SDK) that lets an agent use the memory.

It is a client of the running daemon, over the same unix socket as the CLI, and never loads the model.
Tools: ``recall`` (the memory's answer and its sources), ``search_notes`` (buffer passages with their
paths), ``remember`` (a note for the next sleep), ``memory_status``; resource ``sleepd://versions``.
"""

from __future__ import annotations

import json
from typing import Any

from .client import DaemonClient

INSTRUCTIONS = (
    "sleepd is the user's long-term memory: their notes, documents and chats, consolidated into a "
    "local model. Use recall for questions about the user's own things, search_notes to see the "
    "notes themselves with their file paths, and remember for facts the user wants kept."
)


def recall_answer(client: DaemonClient, question: str) -> dict[str, Any]:
    """The memory's answer (weights and buffer, as `sleepd chat`), not stored as a chat."""
    sources: list[dict[str, Any]] = []
    parts: list[str] = []
    finish = "stop"
    for event in client.chat({"message": question, "new_session": True, "remember": False}):
        if "sources" in event:
            sources = [
                {k: s[k] for k in ("kind", "path", "status", "text") if k in s} for s in event["sources"]
            ]
        elif "token" in event:
            parts.append(event["token"])
        elif "done" in event:
            finish = event.get("finish", "stop")
    return {"answer": "".join(parts).strip(), "sources": sources, "finish": finish}


def build_server(client: DaemonClient) -> Any:
    from mcp.server.mcpserver import MCPServer

    server = MCPServer("sleepd", instructions=INSTRUCTIONS)

    @server.tool()
    def recall(question: str) -> dict[str, Any]:
        """Answer a question from the user's memory; returns the answer and the notes it came from."""
        return recall_answer(client, question)

    @server.tool()
    def search_notes(query: str, limit: int = 5) -> list[dict[str, Any]]:
        """Full-text search over the user's notes (not yet and already consolidated), best first."""
        return list(client.get("/search", q=query, k=limit))

    @server.tool()
    def remember(text: str) -> dict[str, Any]:
        """Keep a note: searchable at once, learned into the model at the next sleep."""
        return dict(client.post("/remember", {"text": text, "client": "mcp"}))

    @server.tool()
    def memory_status() -> dict[str, Any]:
        """The daemon's state: served memory version, pending and consolidated passages, sleep progress."""
        return dict(client.get("/status"))

    @server.resource("sleepd://versions", mime_type="application/json")
    def versions() -> str:
        """Memory versions (one per sleep): which is served, passages and layers trained."""
        return json.dumps(client.get("/memory"))

    return server
