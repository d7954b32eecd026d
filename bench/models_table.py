"""One table of memory figures side by side, from result files of bench/memory.py runs.

Usage: .venv/bin/python bench/models_table.py "LABEL=results/memory-squad-b1-x.json[#recipe]" ...
``#recipe`` picks one recipe of a file that compared several (``--prior compare``, ``--vs``).
Each column is its own run: the ratios (x) are against that run's ceiling, measured in it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

RATE_ROWS = [
    ("ceiling (note in prompt)", "ceiling"),
    ("no memory", "before"),
    ("buffer (before the sleep)", "buffer"),
    ("closed-book after the sleep", "after"),
    ("default chat after the sleep", "chat"),
]


def load(spec: str) -> tuple[str, dict]:
    label, _, where = spec.partition("=")
    path, _, recipe = where.partition("#")
    data = json.loads((HERE / path).read_text() if not Path(path).is_absolute() else Path(path).read_text())
    if recipe:
        data = data[recipe]
    elif "ceiling" not in data:  # a compared run: its first recipe
        data = next(iter(data.values()))
    return label, data


def table(columns: list[tuple[str, dict]]) -> list[str]:
    lines = ["| row | " + " | ".join(label for label, _ in columns) + " |", "|---|" + "---|" * len(columns)]
    for name, key in RATE_ROWS:
        cells = []
        for _label, r in columns:
            ratio = f" ({r[key] / r['ceiling']:.2f}x)" if r["ceiling"] and key != "ceiling" else ""
            cells.append(f"{r[key]:.0%}{ratio}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    extra = [
        ("questions", lambda r: str(r["questions"])),
        ("general answers kept, default chat", lambda r: f"{r.get('general_kept_chat') or 0:.0%}"),
        ("training tokens per new token", lambda r: f"{r['train_tokens_per_new_token']:.1f}"),
        ("training tokens/s", lambda r: f"{r['train_tokens_per_s']:.0f} ({r['precision']['dtype']})"),
        ("sleep s per 1k new tokens", lambda r: f"{r['sleep_seconds_per_1k_new_tokens']:.0f}"),
    ]
    lines += [f"| {name} | " + " | ".join(fn(r) for _l, r in columns) + " |" for name, fn in extra]
    return lines


def main() -> None:
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    print("\n".join(table([load(spec) for spec in sys.argv[1:]])))


if __name__ == "__main__":
    main()
