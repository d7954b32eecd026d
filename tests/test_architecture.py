"""The arrows between sleepd's packages, read from the source (every import, at module level or
inside a function), and kept: data flows files -> ingest -> storage -> memory -> daemon -> cli.

    storage     -> nothing of ours
    ingest      -> storage
    memory      -> storage            (memory.serving -> memory's shared modules;
                                        memory.sleeping -> shared and serving, for the gate's probe)
    evaluation  -> memory, ingest, storage
    daemon      -> storage, ingest, memory
    cli         -> storage (config, paths, errors) and its own client at import time; ingest, memory and
                   evaluation only inside the offline verbs that run them; never the daemon
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("storage", "ingest", "memory", "evaluation", "daemon", "cli")

ALLOWED: dict[str, set[str]] = {
    "storage": set(),
    "ingest": {"storage"},
    "memory": {"storage"},
    "evaluation": {"memory", "ingest", "storage"},
    "daemon": {"storage", "ingest", "memory"},
    "cli": {"storage", "ingest", "memory", "evaluation"},
}
CLI_AT_IMPORT = {"storage"}  # what cli may import at module level (the rest only lazily)
MEMORY_SHARED = "shared"  # memory's own modules outside its two pipelines


def sleepd_imports(path: Path, package: str, root: Path = REPO) -> list[tuple[str, bool]]:
    """(imported sleepd module, at module level?) for every import in ``path``; relative imports
    resolved against the module's own place under ``sleepd.<package>``."""
    rel = path.relative_to(root / package).with_suffix("")
    parts = ["sleepd", package, *rel.parts]
    if parts[-1] == "__init__":
        parts = parts[:-1]
    here = parts if path.name == "__init__.py" else parts[:-1]  # the module's package
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - node.level + 1]
                names = [".".join([*base, *([node.module] if node.module else [])])]
            elif node.module:
                names = [node.module]
        found += [(n, id(node) in top) for n in names if n.startswith("sleepd.")]
    return found


def violations(root: Path = REPO) -> list[str]:
    out = []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            for module, at_top in sleepd_imports(path, package, root):
                target = module.split(".")[1]
                where = f"{path.relative_to(root)} imports {module}"
                if target == package:
                    out += _within(package, path.relative_to(root / package), module, where)
                elif target not in ALLOWED[package]:
                    out.append(f"{where}: {package} -> {target} is not an arrow")
                elif package == "cli" and at_top and target not in CLI_AT_IMPORT:
                    out.append(f"{where} at import time: cli loads {target} only inside a verb")
    return out


def _within(package: str, rel_path: Path, module: str, where: str) -> list[str]:
    """memory's two pipelines: serving never imports sleeping; the shared modules neither."""
    if package != "memory":
        return []
    rel = rel_path.parts
    source = rel[0] if len(rel) > 1 else MEMORY_SHARED
    parts = module.split(".")
    target = parts[2] if len(parts) > 2 and parts[2] in ("serving", "sleeping") else MEMORY_SHARED
    allowed = {
        MEMORY_SHARED: {MEMORY_SHARED},
        "serving": {MEMORY_SHARED, "serving"},
        "sleeping": {MEMORY_SHARED, "serving", "sleeping"},
    }[source]
    return [] if target in allowed else [f"{where}: memory.{source} -> memory.{target} is not an arrow"]


def test_every_import_follows_the_arrows() -> None:
    assert violations() == []


@pytest.mark.parametrize(
    ("package", "line", "expected"),
    [
        ("ingest", "from sleepd.memory.tokens import load_token_counter", "ingest -> memory"),
        ("storage", "from sleepd.ingest.units import Unit", "storage -> ingest"),
        ("memory", "from sleepd.daemon.core import Daemon", "memory -> daemon"),
        ("cli", "from sleepd.daemon.logs import x", "cli -> daemon"),
        ("cli", "from sleepd.memory.model import load_model", "cli loads memory only inside a verb"),
    ],
)
def test_a_broken_arrow_is_caught(tmp_path: Path, package: str, line: str, expected: str) -> None:
    """The check can fail: one import against the arrows, in a copy of the tree."""
    for p in PACKAGES:
        (tmp_path / p).mkdir()
    (tmp_path / package / "bad.py").write_text(line + "\n")
    found = violations(tmp_path)
    assert len(found) == 1 and expected in found[0]


def test_serving_never_imports_sleeping(tmp_path: Path) -> None:
    for p in PACKAGES:
        (tmp_path / p).mkdir()
    (tmp_path / "memory" / "serving").mkdir()
    (tmp_path / "memory" / "serving" / "bad.py").write_text("from ..sleeping.train import x\n")
    assert ["memory.serving -> memory.sleeping" in v for v in violations(tmp_path)] == [True]


def test_a_lazy_memory_import_in_a_cli_verb_is_allowed(tmp_path: Path) -> None:
    for p in PACKAGES:
        (tmp_path / p).mkdir()
    (tmp_path / "cli" / "verb.py").write_text("def verb():\n    from sleepd.memory.model import load_model\n")
    assert violations(tmp_path) == []
