"""docs/configuration.md, generated from the config dataclasses (one source: their fields, defaults
and comments), so the page cannot drift from the code; tests/storage/test_config_docs.py fails when
the committed page is stale.

    python -m sleepd.storage.config_docs docs/configuration.md
"""

from __future__ import annotations

import ast
import dataclasses
import io
import json
import sys
import textwrap
import tokenize
from pathlib import Path
from typing import Any

from . import config

HEADER = """# Configuration

<!-- Generated from storage/config.py by `python -m sleepd.storage.config_docs docs/configuration.md`;
edit the comments there, not this page. -->

`config.toml` lives in the user config dir (`sleepd status` prints its path; with `SLEEPD_HOME=DIR`,
`DIR/config/config.toml`). Every setting has the default shown here, so an empty file (or none) is a
working configuration. The file is checked strictly when sleepd starts: an unknown key, or a value of
the wrong type (a string where a list belongs, `true` where a number belongs), is a one-line error
naming the key. `sleepd model use NAME` writes `model.name_or_path` for you.
"""


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a TOML basic string
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML form for {value!r}")


def field_comments(source: str) -> dict[tuple[str, str], str]:
    """(class, field) -> its comment: the comment lines right above the field and the one after it."""
    lines = source.splitlines()
    trailing = {
        tok.start[0]: tok.string.lstrip("#").strip()
        for tok in tokenize.generate_tokens(io.StringIO(source).readline)
        if tok.type == tokenize.COMMENT and lines[tok.start[0] - 1].split("#")[0].strip()
    }
    out = {}
    for node in ast.parse(source).body:
        if not isinstance(node, ast.ClassDef):
            continue
        for item in node.body:
            if not (isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name)):
                continue
            above: list[str] = []
            at = item.lineno - 2
            while at >= 0 and lines[at].strip().startswith("#"):
                above.insert(0, lines[at].strip().lstrip("#").strip())
                at -= 1
            text = " ".join([*above, trailing.get(item.lineno, "")]).strip()
            out[(node.name, item.target.id)] = text
    return out


def undocumented() -> list[str]:
    """Settings without a comment to document them."""
    comments = field_comments(Path(config.__file__).read_text(encoding="utf-8"))
    return [
        f"{section}.{f.name}"
        for section, cls in config._SECTIONS.items()
        for f in dataclasses.fields(cls)
        if not comments.get((cls.__name__, f.name))
    ]


def configuration_markdown() -> str:
    comments = field_comments(Path(config.__file__).read_text(encoding="utf-8"))
    parts = [HEADER]
    for section, cls in config._SECTIONS.items():
        parts.append(f"## `[{section}]`\n")
        if cls.__doc__ and not cls.__doc__.startswith(cls.__name__ + "("):  # dataclasses invent one
            parts.append(cls.__doc__.strip() + "\n")
        body = [f"[{section}]"]
        for f in dataclasses.fields(cls):
            factory = f.default_factory
            default = (
                f.default
                if f.default is not dataclasses.MISSING
                else factory()
                if callable(factory)
                else None
            )
            note = comments.get((cls.__name__, f.name), "")
            body += textwrap.wrap(note, 98, initial_indent="# ", subsequent_indent="# ")
            body.append(f"{f.name} = {toml_value(default)}")
        parts.append("```toml\n" + "\n".join(body) + "\n```\n")
    if config.RETIRED:
        retired = ", ".join(f"`{s}.{k}`" for s, keys in config.RETIRED.items() for k in sorted(keys))
        parts.append(
            "## Removed settings\n\n"
            f"{retired}: experiments that lost (docs/decisions.md). A config that still sets one "
            "loads, with one warning naming it.\n"
        )
    return "\n".join(parts)


def main(argv: list[str]) -> None:
    text = configuration_markdown()
    if argv:
        Path(argv[0]).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main(sys.argv[1:])
