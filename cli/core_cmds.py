"""`sleepd status` and `sleepd chat`."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from .app import app, err, fail, load_context, out


@app.command()
def status(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Paths, model, counts of sources and passages, memory version."""
    from sleepd.memory.model import ModelNotFoundError, resolve_model_source

    config, store = load_context()
    try:
        model = resolve_model_source(config).name
    except ModelNotFoundError as e:
        model = f"(none: {e})"
    info = {
        "paths": {
            "config": str(config.paths.config_file),
            "database": str(config.db_path),
            "data": str(config.paths.data_dir),
            "socket": str(config.paths.socket_path),
        },
        "model": model,
        "memory_version": store.latest_memory_version(),
        **store.counts(),
    }
    if as_json:
        print(json.dumps(info, indent=2))
        return
    for name, value in info["paths"].items():
        out.print(f"[bold]{name:>9}[/] {value}", highlight=False)
    out.print(f"[bold]{'model':>9}[/] {info['model']}", highlight=False)
    version = info["memory_version"]
    out.print(f"[bold]{'memory':>9}[/] " + (f"version {version}" if version else "base model only"))
    for kind in ("sources", "passages"):
        counts = ", ".join(f"{n} {s}" for s, n in info[kind].items())
        out.print(f"[bold]{kind:>9}[/] {counts}", highlight=False)


@app.command()
def chat(
    question: Annotated[
        str | None, typer.Argument(help="Ask one question and exit; omit for a conversation.")
    ] = None,
    system: Annotated[str | None, typer.Option("--system", "-s", help="System prompt.")] = None,
    closed_book: Annotated[
        bool, typer.Option("--closed-book", help="Answer from the weights only, nothing from the buffer.")
    ] = False,
    sources: Annotated[bool, typer.Option("--sources", help="Show what was recited or retrieved.")] = False,
) -> None:
    """Chat with the model and its memory (in-process for now)."""
    from sleepd.memory.generate import GenerationConfig
    from sleepd.memory.loader import load_with_memory
    from sleepd.memory.model import ModelNotFoundError
    from sleepd.memory.recall import answer_with_memory

    config, store = load_context()
    try:
        with err.status("loading model ..."):
            lm, version = load_with_memory(config)
    except ModelNotFoundError as e:
        raise fail(str(e)) from None
    gen = GenerationConfig(
        config.model.max_new_tokens, config.model.temperature, config.model.repetition_penalty
    )
    system_prompt = system if system is not None else config.model.system_prompt
    history: list[dict[str, str]] = [{"role": "system", "content": system_prompt}] if system_prompt else []

    def answer(text: str) -> None:
        # Short-term memory: passages not yet consolidated, straight from the buffer.
        fresh = (
            [] if closed_book else [h.passage.text for h in store.search(text, k=2, statuses=("pending",))]
        )
        stream, rec = answer_with_memory(lm, text, gen, history, recite=version is not None, notes=fresh)
        if sources:
            for key, recitation in rec.recitations:
                err.print(f"[dim]recited for {key!r}: {recitation}[/]", highlight=False)
            for note in fresh:
                err.print(f"[dim]from the buffer: {note}[/]", highlight=False)
        parts = []
        for piece in stream:
            parts.append(piece)
            out.print(piece, end="", highlight=False, markup=False, soft_wrap=True)
        out.print()
        history.extend(
            [{"role": "user", "content": text}, {"role": "assistant", "content": "".join(parts).strip()}]
        )

    if question is not None:
        answer(question)
        return
    out.print("[dim]Type your message; /exit or Ctrl-D to leave.[/]")
    while True:
        try:
            text = input(">>> ").strip()
        except (EOFError, KeyboardInterrupt):
            out.print()
            return
        if text in ("/exit", "/quit"):
            return
        if text:
            answer(text)
