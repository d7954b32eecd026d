"""The typer app and what every command shares: consoles, errors, config and store.

Kept light: typer and rich at import time, nothing else. Storage and the model are imported inside
the commands that need them, so `sleepd --help` stays fast and never imports torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from rich.console import Console

app = typer.Typer(
    name="sleepd",
    help="A local memory daemon: it reads your notes and, while you sleep, writes them into a "
    "local model's weights.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # plain click help: typer's rich help imports rich.markdown and markdown-it, a third of
    # `sleepd --help`'s time (bench/cli_startup.py)
    rich_markup_mode=None,
)


class LazyConsole:
    """A rich Console made on first use: importing rich.console costs time that `sleepd --help`
    and the verbs that print nothing yet need not pay."""

    def __init__(self, stderr: bool = False) -> None:
        self._stderr = stderr
        self._console: Console | None = None

    def real(self) -> Console:
        """The Console itself (for rich objects that take one: Progress, Live)."""
        if self._console is None:
            from rich.console import Console

            self._console = Console(stderr=self._stderr)
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real(), name)


out: Any = LazyConsole()
err: Any = LazyConsole(stderr=True)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print a one-line error and return the Exit to raise."""
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)  # one line, never wrapped
    return typer.Exit(code)


@app.callback()
def _root(
    ctx: typer.Context,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logs on stderr.")] = False,
) -> None:
    from sleepd.storage.logs import configure_logging

    configure_logging(verbose)
    ctx.obj = {"verbose": verbose}


def verbose_of(ctx: typer.Context) -> bool:
    """Whether `sleepd -v` was given (for commands that set up their own logging or children)."""
    return bool((ctx.find_root().obj or {}).get("verbose"))


def load_config_only():  # type: ignore[no-untyped-def]
    """The config (dirs made), one clear error if it is bad; the database is not opened."""
    from sleepd.storage import ConfigError, load_config

    try:
        config = load_config()
    except ConfigError as e:
        raise fail(f"bad config: {e}") from None
    config.paths.ensure()
    return config


def load_context():  # type: ignore[no-untyped-def]
    """Config, paths and an open store; one clear error if the config is bad."""
    from sleepd.storage import Store, open_engine

    config = load_config_only()
    return config, Store(open_engine(config))
