"""One table of memory figures side by side, from result files of bench/memory.py runs.

Usage: .venv/bin/python bench/models_table.py "LABEL=results/memory-squad-b1-x.json[#recipe]" ...
``#recipe`` picks one recipe of a file that compared several (``--prior compare``, ``--vs``).
Each column is its own run: the ratios (x) are against that run's ceiling, measured in it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from memory import compare_table  # bench/memory.py: the same table, one column per run

HERE = Path(__file__).resolve().parent


def load(spec: str) -> tuple[str, dict]:
    label, _, where = spec.partition("=")
    path, _, recipe = where.partition("#")
    data = json.loads((HERE / path).read_text())  # an absolute path stays itself
    if recipe:
        data = data[recipe]
    elif "ceiling" not in data:  # a compared run: its first recipe
        data = next(iter(data.values()))
    return label, data


def table(columns: list[tuple[str, dict]]) -> list[str]:
    runs = dict(columns)
    extra = [
        ("questions", lambda r: str(r["questions"])),
        ("training tokens/s", lambda r: f"{r['train_tokens_per_s']:.0f} ({r['precision']['dtype']})"),
    ]
    return compare_table(runs) + [
        f"| {name} | " + " | ".join(fn(r) for r in runs.values()) + " |" for name, fn in extra
    ]


def main() -> None:
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    print("\n".join(table([load(spec) for spec in sys.argv[1:]])))


if __name__ == "__main__":
    main()
