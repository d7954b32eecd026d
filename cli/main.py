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
    sources_cmds,
)
from .app import app


def main() -> None:
    app()


if __name__ == "__main__":
    main()
