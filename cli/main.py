"""The `sleepd` command line.

Kept light: typer and rich at import time, nothing else. Storage and the model are imported inside
the commands that need them, so `sleepd --help` stays fast and never imports torch.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Annotated

import typer
from rich.console import Console

app = typer.Typer(
    name="sleepd",
    help="A local memory daemon: it reads your notes and, while you sleep, writes them into a "
    "local model's weights.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print a one-line error and return the Exit to raise."""
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code)


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


@app.callback()
def _root(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logs on stderr.")] = False,
) -> None:
    _setup_logging(verbose)


def load_context():  # type: ignore[no-untyped-def]
    """Config, paths and an open store; one clear error if the config is bad."""
    from sleepd.storage import ConfigError, Store, load_config, open_engine

    try:
        config = load_config()
    except ConfigError as e:
        raise fail(f"bad config: {e}") from None
    config.paths.ensure()
    return config, Store(open_engine(config))


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
) -> None:
    """Chat with the model (in-process for now)."""
    from sleepd.memory.generate import GenerationConfig, stream_generate
    from sleepd.memory.model import ModelNotFoundError, load_model

    config, _store = load_context()
    try:
        with err.status("loading model ..."):
            lm = load_model(config)
    except ModelNotFoundError as e:
        raise fail(str(e)) from None
    gen = GenerationConfig(
        config.model.max_new_tokens, config.model.temperature, config.model.repetition_penalty
    )
    system_prompt = system if system is not None else config.model.system_prompt
    messages: list[dict[str, str]] = [{"role": "system", "content": system_prompt}] if system_prompt else []

    def answer(text: str) -> None:
        messages.append({"role": "user", "content": text})
        parts = []
        for piece in stream_generate(lm, messages, gen):
            parts.append(piece)
            out.print(piece, end="", highlight=False, markup=False, soft_wrap=True)
        out.print()
        messages.append({"role": "assistant", "content": "".join(parts).strip()})

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


def main() -> None:
    app()


if __name__ == "__main__":
    main()
