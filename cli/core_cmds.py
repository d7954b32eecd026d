"""`sleepd status`: works on the database alone; adds the daemon's view when it runs."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from .app import app, err, fail, load_context, out


@app.command()
def status(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Paths, model, counts of sources and passages, memory version."""
    from sleepd.memory.prior import prior_status
    from sleepd.memory.versions import memory_of
    from sleepd.models.model import ModelNotFoundError, resolve_model_source
    from sleepd.models.precision import known_choices

    config, store = load_context()
    try:
        model = resolve_model_source(config).name
    except ModelNotFoundError as e:
        model = f"(none: {e})"
    info = {
        "paths": {
            "config": str(config.paths.config_file),
            "database": str(config.db_path),
            "data": str(config.paths.data_dir),
            "socket": str(config.paths.socket_path),
        },
        "model": model,
        "prior": prior_status(config),  # what the next sleep writes its questions with
        # "auto" is resolved by the daemon (CUDA if torch sees one): this client never imports torch
        "device": config.model.device.replace("auto", "auto (CUDA if present, else CPU)"),
        # from the probe cached on this machine (no torch here); the daemon's own view replaces it
        "precision": known_choices(config.model.dtype, config.sleep.dtype, config.paths.state_dir),
        # what `current` points at (what the daemon serves at start), not the newest ever written:
        # an offline rollback moves the pointer only
        "memory_version": memory_of(config).current(),
        "nights_left": _nights_left(memory_of(config)),
        **store.counts(),
    }
    from .client import connect

    client = connect(config.paths.socket_path)
    if client is not None:
        live = client.get("/status")
        info["daemon"] = {k: live[k] for k in ("daemon", "served_version", "swapped_at", "sleep", "watcher")}
        info["precision"] = live.get("precision") or info["precision"]
        info["device"] = live.get("device") or info["device"]
    else:
        info["daemon"] = None
    if as_json:
        print(json.dumps(info, indent=2))
        return
    for name, value in info["paths"].items():
        out.print(f"[bold]{name:>9}[/] {value}", highlight=False)
    out.print(f"[bold]{'model':>9}[/] {info['model']}", highlight=False)
    out.print(f"[bold]{'prior':>9}[/] {info['prior']}", highlight=False)
    out.print(f"[bold]{'device':>9}[/] {info['device']}", highlight=False)
    for use, p in info["precision"].items():
        out.print(f"[bold]{use:>9}[/] in {p['dtype']}: {p['reason']}", highlight=False)
    version = info["memory_version"]
    out.print(f"[bold]{'memory':>9}[/] " + (f"version {version}" if version else "base model only"))
    for kind in ("sources", "passages"):
        counts = ", ".join(f"{n} {s}" for s, n in info[kind].items())
        out.print(f"[bold]{kind:>9}[/] {counts}", highlight=False)
    if info["passages"].get("deferred") and info.get("nights_left"):
        out.print(
            f"[bold]{'deferred':>9}[/] {info['passages']['deferred']} passages wait for the next sleep "
            f"(about {info['nights_left']} night(s) at sleep.max_minutes)",
            highlight=False,
        )
    d = info["daemon"]
    if d is None:
        out.print(f"[bold]{'daemon':>9}[/] not running (`sleepd daemon --detach` starts it)")
        return
    served = d["served_version"]
    out.print(
        f"[bold]{'daemon':>9}[/] pid {d['daemon']['pid']}, {d['daemon']['state']}, serving "
        + (f"memory version {served}" if served else "the base model"),
        highlight=False,
    )
    sleep = d["sleep"]
    if sleep["running"]:
        p = sleep["progress"] or {}
        extra = f", loss {p['loss']:.3f}" if "loss" in p else ""
        extra += f", round {p['round']}" if "round" in p else ""
        out.print(f"[bold]{'sleep':>9}[/] running: {p.get('stage')} {p.get('done')}/{p.get('total')}{extra}")
    last = sleep.get("last")
    if last:
        what = f"version {last['version']}" if last["outcome"] == "version" else last.get("message", "")
        out.print(f"[bold]{'last':>9}[/] {sleep['last_finished']}: {last['outcome']} {what}", highlight=False)
    out.print(f"[bold]{'next':>9}[/] {sleep['next_scheduled'] or '-'}", highlight=False)


def _nights_left(versions) -> int:  # type: ignore[no-untyped-def]
    """The current version's estimate of the sleeps its deferred passages still need."""
    current = versions.current()
    try:
        return int(versions.info(current).meta.get("nights_left", 0)) if current else 0
    except (OSError, ValueError):
        return 0


@app.command()
def token(
    show: Annotated[bool, typer.Option("--show", help="Print the existing token; make none.")] = False,
) -> None:
    """Create (or --show) the bearer token the daemon's TCP listener requires (`tcp_port`)."""
    from sleepd.storage import Paths
    from sleepd.storage.token import create_token, read_token, token_path

    paths = Paths.from_env()
    if show:
        existing = read_token(paths)
        if existing is None:
            raise fail("no API token yet: `sleepd token` creates one")
        print(existing)
        return
    print(create_token(paths))
    err.print(
        f"[dim]stored in {token_path(paths)} (mode 0600); restart the daemon to use it[/]", highlight=False
    )


@app.command()
def mcp() -> None:
    """Serve the memory to agents over MCP (stdio): recall, search_notes, remember, memory_status."""
    from .client import NOT_RUNNING, connect
    from .mcp_server import build_server

    config, _store = load_context()
    client = connect(config.paths.socket_path)
    if client is None:
        raise fail(NOT_RUNNING)
    build_server(client).run("stdio")
