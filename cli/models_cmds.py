"""`sleepd models` (what is on this machine) and `sleepd model use NAME|PATH` (switch to one).

Both run without torch: models are found by reading files (models/catalog.py). Switching writes
``model.name_or_path`` into config.toml and asks a running daemon to load it; each model keeps its
own memory versions, so nothing learned by one is lost or mixed into another.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from .app import app, fail, load_config_only

model_app = typer.Typer(help="Switch the model sleepd serves and trains.", no_args_is_help=True)
app.add_typer(model_app, name="model")


def _size(params: int | None) -> str:
    if not params:
        return "?"
    return f"{params / 1e9:.1f}B" if params >= 1e9 else f"{params / 1e6:.0f}M"


def _found(config):  # type: ignore[no-untyped-def]
    from sleepd.models.catalog import ModelRoots, find_models
    from sleepd.models.model import bundled_gguf_path

    return find_models(ModelRoots.from_env(config.model.search_paths), bundled_gguf_path())


def _in_use(config, model) -> bool:  # type: ignore[no-untyped-def]
    configured = config.model.name_or_path
    if not configured:
        return model.where == "bundled"
    return Path(configured).expanduser().resolve() == model.path.resolve() or configured == model.name


@app.command()
def models(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """The models on this machine: bundled, Ollama, LM Studio, Hugging Face cache, model.search_paths."""
    config = load_config_only()
    found = _found(config)
    rows = [
        {
            "name": m.name,
            "in_use": _in_use(config, m),
            "where": m.where,
            "family": m.family,
            "params": m.params,
            "quantisation": m.quantisation,
            "chat_template": m.chat_template,
            "trainable": m.trainable,
            "problem": m.problem,
            "path": str(m.path),
        }
        for m in found
    ]
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    # plain columns, never cut: a name is what `model use` takes, so it must show whole
    head = ("", "name", "family", "size", "quant", "chat", "sleepd can train it")
    lines = [head] + [
        (
            "*" if r["in_use"] else "",
            r["name"],
            r["family"],
            _size(r["params"]),
            r["quantisation"],
            "template" if r["chat_template"] else "plain",
            "yes" if r["trainable"] else f"no: {r['problem']}",
        )
        for r in rows
    ]
    widths = [max(len(line[i]) for line in lines) for i in range(len(head) - 1)]
    for line in lines:
        print("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=False)) + "  " + line[-1])
    if not any(r["in_use"] for r in rows) and config.model.name_or_path:
        print(f"in use: {config.model.name_or_path} (model.name_or_path)")
    print("`sleepd model use NAME` switches; each model keeps its own memory.")


@model_app.command("use")
def model_use(
    name: Annotated[str, typer.Argument(help="A name from `sleepd models`, 'bundled', or a path.")],
) -> None:
    """Serve and train another model; its memory is its own (switching back finds the old one's)."""
    from sleepd.models.catalog import describe_path, find_by_name
    from sleepd.storage.config import set_setting

    config = load_config_only()
    path = Path(name).expanduser()
    model = describe_path(path) if path.exists() else find_by_name(_found(config), name)
    if model is None:
        raise fail(f"no model {name!r} found (not a GGUF file or model folder; `sleepd models` lists them)")
    if model.problem:
        raise fail(f"cannot use {model.name}: {model.problem}")
    new = set_setting(
        config.paths, "model", "name_or_path", None if model.where == "bundled" else str(model.path)
    )
    from .client import connect

    client = connect(config.paths.socket_path)
    if client is not None:
        from sleepd.storage.errors import DaemonError

        try:
            client.post("/model/reload", timeout=None)  # loading (a GGUF converts once) takes a while
        except DaemonError as e:  # the daemon serves the old model on: so does the config
            set_setting(config.paths, "model", "name_or_path", config.model.name_or_path or None)
            raise fail(f"{e}; still using {config.model.name_or_path or 'the bundled model'}") from None
        where = "the daemon serves it now"
    else:
        from sleepd.memory.switch import align_buffer
        from sleepd.storage import Store, open_engine

        align_buffer(new, Store(open_engine(new)))
        where = "the daemon serves it at its next start"
    from sleepd.memory.versions import memory_of

    versions = memory_of(new)
    current = versions.current()
    memory = f"memory version {current}" if current else "no memory yet (its first sleep learns the buffer)"
    print(f"using {model.name} ({model.family}, {_size(model.params)}): {where}; {memory}")
    print(f"each model's memory is kept apart: this one's is in {versions.root}")
