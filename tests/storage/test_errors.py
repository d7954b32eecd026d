"""The error tree drawn in storage/errors.py is the one in the code: every SleepdError subclass
of every sleepd module, each under its parent, with its other base named."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

from sleepd.storage import errors
from sleepd.storage.errors import SleepdError

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("storage", "ingest", "models", "memory", "evaluation", "daemon", "cli", "tools")


def _import_everything() -> None:
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            name = ".".join(["sleepd", package, *path.relative_to(REPO / package).with_suffix("").parts])
            importlib.import_module(name.removesuffix(".__init__"))


def _in_code(cls: type, depth: int = 0) -> list[tuple[int, str, str]]:
    out = []
    for sub in sorted(cls.__subclasses__(), key=lambda c: c.__name__):
        if not sub.__module__.startswith("sleepd."):
            continue
        other = [b.__name__ for b in sub.__bases__ if not issubclass(b, SleepdError)]
        out.append((depth, sub.__name__, ", ".join(other)))
        out += _in_code(sub, depth + 1)
    return out


def _drawn() -> list[tuple[int, str, str]]:
    out = []
    for line in (errors.__doc__ or "").splitlines():
        m = re.match(r"^    ([│ ]*)[├└]── (\w+)\s.*?(?:\(also (\w+)\))?\s*$", line)
        if m:  # each level below the root is indented 4 more
            out.append((len(m.group(1)) // 4, m.group(2), m.group(3) or ""))
    return out


def test_the_drawn_error_tree_is_the_codes() -> None:
    _import_everything()
    assert _drawn() == _in_code(SleepdError)
