"""The `sleepd` command line: the entry point, with every command module registered.

Kept light: typer and rich at import time, nothing else. Storage and the model are imported inside
the commands that need them, so `sleepd --help` stays fast and never imports torch.
"""

from __future__ import annotations

from . import (  # noqa: F401  (each registers its commands on `app`)
    chat_cmd,
    core_cmds,
    daemon_cmds,
    memory_cmds,
    models_cmds,
    sources_cmds,
)
from .app import app, err


def main() -> None:
    """Run the CLI; any sleepd error left unhandled by a command is one line and exit status 1."""
    from sleepd.storage.errors import SleepdError

    try:
        app()
    except SleepdError as e:
        err.print(f"[bold red]error:[/] {e}", highlight=False, soft_wrap=True)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
