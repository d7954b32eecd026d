"""The bearer token that guards the daemon's TCP listener (the unix socket needs none: its 0600 mode
in a 0700 folder already limits it to the user). Kept in the config dir, mode 0600."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from .config import Paths


def token_path(paths: Paths) -> Path:
    return paths.config_dir / "api-token"


def read_token(paths: Paths) -> str | None:
    try:
        token = token_path(paths).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return token or None


def create_token(paths: Paths) -> str:
    """A new random token, replacing any earlier one (clients holding that one get 401 after the
    daemon restarts)."""
    paths.ensure()
    token = "sk-sleepd-" + secrets.token_urlsafe(32)
    path = token_path(paths)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(token + "\n")
    os.replace(tmp, path)
    return token
