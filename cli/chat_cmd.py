"""`sleepd chat`: one question, or a conversation (prompt_toolkit REPL), through the daemon."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Annotated, Any

import typer

from .app import app, err, fail, load_context, out
from .client import NOT_RUNNING, DaemonClient, DaemonError, connect

# What chat says under an answer that did not end by itself (the daemon's "finish").
CUT_NOTES = {
    "length": "answer cut at its token limit",
    "repetition": "answer cut: it started repeating itself",
}

HELP = '[dim]/sleep  /status  /forget PATH  /exit   ("""  starts and ends a multi-line message)[/]'


@dataclass(frozen=True)
class ChatOptions:
    system: str | None = None
    closed_book: bool = False
    sources: bool = False
    model: str | None = None  # an id of `/v1/models` (the served version, sleepd-closed-book)
    remember: bool | None = None  # None: the daemon's chat_into_memory setting


class Conversation:
    def __init__(self, client: DaemonClient, session: int | None, options: ChatOptions):
        self.client = client
        self.session = session
        self.system = options.system
        self.options = options
        self.sources = options.sources

    def ask(self, message: str) -> None:
        o = self.options
        body: dict[str, Any] = {
            "message": message,
            "closed_book": o.closed_book,
            "session_id": self.session,
            "model": o.model,
            "remember": o.remember,
        }
        if self.system is not None and self.session is None:
            body["system"] = self.system
        finish = "stop"
        for event in self.client.chat(body):
            if "sources" in event:
                self.session = event["session"]
                if self.sources:
                    _print_sources(event["sources"])
            elif "token" in event:
                out.print(event["token"], end="", highlight=False, markup=False, soft_wrap=True)
            elif event.get("finish") in CUT_NOTES:
                finish = event["finish"]
        out.print()
        if finish in CUT_NOTES:
            err.print(f"[dim]({CUT_NOTES[finish]})[/]")

    def command(self, line: str) -> bool:
        """Run an in-REPL /command; False means leave."""
        name, _, arg = line.partition(" ")
        if name in ("/exit", "/quit"):
            return False
        if name == "/sleep":
            started = self.client.post("/sleep")["started"]
            out.print(
                "sleeping in the background; chat keeps working" if started else "a sleep is already running"
            )
        elif name == "/status":
            s = self.client.get("/status")
            sleep = s["sleep"]
            p = sleep.get("progress") or {}
            doing = (
                f"sleeping: {p.get('stage')} {p.get('done')}/{p.get('total')}"
                if sleep["running"]
                else "awake"
            )
            out.print(
                f"memory version {s['served_version'] or '-'} served; {doing}; passages {s['passages']}"
            )
        elif name == "/forget" and arg.strip():
            r = self.client.post("/memory/forget", {"path": arg.strip()})
            out.print(f"forgetting {r['forgotten']} ({r['passages']} passages); the next sleep unlearns it")
        else:
            out.print(HELP)
        return True


def _print_sources(sources: list[dict[str, Any]]) -> None:
    for s in sources:
        where = (
            "recited from the weights"
            if s["kind"] == "recited"
            else f"from the buffer ({s['path']}, {s.get('status', 'pending')})"
        )
        err.print(f"[dim]{where}: {s['text']}[/]", highlight=False)


def _read_message(prompt: Any) -> str | None:
    """One message; a line starting with \"\"\" opens a block closed by a line ending in \"\"\"."""
    line = prompt(">>> ")
    if line is None:
        return None
    if not line.lstrip().startswith('"""'):
        return line.strip()
    first = line.lstrip()[3:]
    if first.rstrip().endswith('"""'):  # """a one-line block"""
        return first.rstrip()[:-3].strip()
    lines = [first]
    while True:
        more = prompt("... ")
        if more is None:
            break
        if more.rstrip().endswith('"""'):
            lines.append(more.rstrip()[:-3])
            break
        lines.append(more)
    return "\n".join(lines).strip()


def _prompt_function(history_file: str) -> Any:
    import sys

    if not sys.stdin.isatty():  # piped input: plain lines

        def plain(message: str) -> str | None:
            try:
                return input()
            except EOFError:
                return None

        return plain
    from prompt_toolkit import PromptSession
    from prompt_toolkit.history import FileHistory

    session: PromptSession[str] = PromptSession(history=FileHistory(history_file))

    def ask(message: str) -> str | None:
        try:
            return session.prompt(message)
        except EOFError:
            return None

    return ask


@app.command()
def chat(
    question: Annotated[
        str | None, typer.Argument(help="Ask one question and exit; omit for a conversation.")
    ] = None,
    system: Annotated[
        str | None, typer.Option("--system", "-s", help="System prompt (new sessions).")
    ] = None,
    closed_book: Annotated[
        bool, typer.Option("--closed-book", help="Answer from the weights only, nothing from the buffer.")
    ] = False,
    sources: Annotated[bool, typer.Option("--sources", help="Show what was recited or retrieved.")] = False,
    cont: Annotated[bool, typer.Option("--continue", "-c", help="Continue the last session.")] = False,
    session: Annotated[int | None, typer.Option("--session", help="Continue session ID.")] = None,
    model: Annotated[
        str | None,
        typer.Option("--model", "-m", help="sleepd-closed-book, or the served sleepd-vN (`/v1/models`)."),
    ] = None,
    no_remember: Annotated[
        bool, typer.Option("--no-remember", help="Do not keep what you say here for the next sleep.")
    ] = False,
) -> None:
    """Chat with the model and its memory (through the daemon)."""
    config, store = load_context()
    client = connect(config.paths.socket_path)
    if client is None:
        raise fail(NOT_RUNNING)
    if cont and session is None:
        session = store.last_session()
    if session is not None and not store.session_exists(session):
        raise fail(f"no chat session {session}")
    options = ChatOptions(system, closed_book, sources, model, False if no_remember else None)
    conv = Conversation(client, session, options)
    try:
        if question is not None:
            conv.ask(question)
            return
        out.print(HELP)
        prompt = _prompt_function(str(config.paths.state_dir / "chat_history"))
        while True:
            try:
                text = _read_message(prompt)
            except KeyboardInterrupt:
                continue  # Ctrl-C clears the line, as in a shell
            if text is None:
                out.print()
                return
            if not text:
                continue
            if text.startswith("/"):
                if not conv.command(text):
                    return
                continue
            try:
                conv.ask(text)
            except KeyboardInterrupt:
                out.print("\n[dim](interrupted)[/]")
    except DaemonError as e:
        raise fail(str(e)) from None


@app.command()
def logs(
    n: Annotated[int, typer.Option("-n", min=1, help="How many sessions (or last messages).")] = 20,
    session: Annotated[int | None, typer.Option("--session", help="Show this session's messages.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Stored conversations: the latest sessions, or one session's messages (`--session ID`)."""
    _config, store = load_context()
    if session is None:
        rows = store.list_sessions(n)
        if as_json:
            print(json.dumps([asdict(r) for r in rows]))
            return
        if not rows:
            out.print("no conversations yet (`sleepd chat`)")
        for r in rows:
            first = (r.first_message or "").replace("\n", " ")
            first = first if len(first) <= 60 else first[:59] + "…"
            who = f"  [dim]{r.title}[/]" if r.title else ""
            out.print(
                f"{r.id:>5}  {r.updated_at[:16].replace('T', ' ')}  {r.messages:>3} msgs  {first}{who}",
                highlight=False,
            )
        return
    if not store.session_exists(session):
        raise fail(f"no chat session {session}")
    messages = store.messages(session, limit=n)
    if as_json:
        print(json.dumps([asdict(m) for m in messages]))
        return
    for m in messages:
        style = "bold" if m.role == "user" else ""
        out.print(
            f"[dim]{m.created_at[:19].replace('T', ' ')}[/] [{style or 'default'}]{m.role}:[/]", end=" "
        )
        out.print(m.content, highlight=False, markup=False, soft_wrap=True)
