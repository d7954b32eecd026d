"""The arrows between sleepd's packages, read from the source (every import, at module level or
inside a function), and kept: data flows files -> ingest -> storage -> models -> memory -> daemon -> cli.

    storage     -> nothing of ours
    ingest      -> storage
    models      -> storage            (finding, converting, loading and running a base model)
    memory      -> models, storage    (memory.serving -> memory's shared modules;
                                        memory.sleeping -> shared and serving, for the gate's probe)
    evaluation  -> memory, models, ingest, storage
    daemon      -> storage, ingest, models, memory
    cli         -> storage (config, paths, errors) and its own client at import time; ingest, models,
                   memory and evaluation only inside the offline verbs that run them; never the daemon
    tools       -> memory, models, storage (build tools: the prior's training)

And no module imports itself through others: the module-level import graph (an import inside a
function counts) has no circle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("storage", "ingest", "models", "memory", "evaluation", "daemon", "cli", "tools")

ALLOWED: dict[str, set[str]] = {
    "storage": set(),
    "ingest": {"storage"},
    "models": {"storage"},
    "memory": {"models", "storage"},
    "evaluation": {"memory", "models", "ingest", "storage"},
    "daemon": {"storage", "ingest", "models", "memory"},
    "cli": {"storage", "ingest", "models", "memory", "evaluation"},
    "tools": {"memory", "models", "storage"},
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


def module_name(path: Path, package: str, root: Path = REPO) -> str:
    rel = path.relative_to(root / package).with_suffix("")
    parts = ["sleepd", package, *rel.parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(root: Path = REPO) -> dict[str, set[str]]:
    """Module -> the sleepd modules it imports, anywhere in it; ``from pkg import name`` counts as
    importing ``pkg.name`` where that is a module, else ``pkg``."""
    paths = {module_name(p, pkg, root): (p, pkg) for pkg in PACKAGES for p in (root / pkg).rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for module, (path, package) in paths.items():
        edges = set()
        for target, _top in sleepd_imports(path, package, root):
            edges.add(target if target in paths else ".".join(target.split(".")[:-1]))
        edges |= _from_names(path, package, root, paths)
        graph[module] = {e for e in edges if e in paths and e != module}
    return graph


def _from_names(path: Path, package: str, root: Path, modules: dict) -> set[str]:
    """``from sleepd.x import y`` (or ``from . import y``) where ``y`` is a submodule of ``sleepd.x``."""
    here = module_name(path, package, root).split(".")
    if path.name != "__init__.py":
        here = here[:-1]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level:
            base = ".".join([*here[: len(here) - node.level + 1], *([node.module] if node.module else [])])
        else:
            base = node.module or ""
        out |= {f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in modules}
    return out


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import circles: strongly connected groups of two or more modules (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
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


def test_no_module_imports_itself_through_others() -> None:
    assert circles(import_graph()) == []


def test_a_module_circle_is_caught(tmp_path: Path) -> None:
    """The check can fail: two modules of one package that import each other, one of them only
    inside a function (the way model.py and prior.py once did)."""
    for p in PACKAGES:
        (tmp_path / p).mkdir()
    (tmp_path / "memory" / "a.py").write_text("from .b import x\n")
    (tmp_path / "memory" / "b.py").write_text("def f():\n    from sleepd.memory.a import y\n")
    assert circles(import_graph(tmp_path)) == [["sleepd.memory.a", "sleepd.memory.b"]]


@pytest.mark.parametrize(
    ("package", "line", "expected"),
    [
        ("ingest", "from sleepd.models.tokens import load_token_counter", "ingest -> models"),
        ("models", "from sleepd.memory.prior import find_prior", "models -> memory"),
        ("storage", "from sleepd.ingest.units import Unit", "storage -> ingest"),
        ("memory", "from sleepd.daemon.core import Daemon", "memory -> daemon"),
        ("cli", "from sleepd.daemon.logs import x", "cli -> daemon"),
        ("cli", "from sleepd.models.model import load_model", "cli loads models only inside a verb"),
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
    (tmp_path / "cli" / "verb.py").write_text("def verb():\n    from sleepd.models.model import load_model\n")
    assert violations(tmp_path) == []
