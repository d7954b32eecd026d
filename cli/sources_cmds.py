"""`sleepd ingest`, `sleepd sources` and `sleepd watch ...`: getting notes into the buffer."""

from __future__ import annotations

import json
import os
from typing import Annotated, Any

import typer

from .app import app, err, fail, load_config_only, load_context, out
from .client import DaemonError, connect

watch_app = typer.Typer(help="Folders sleepd keeps watching.", no_args_is_help=True)
app.add_typer(watch_app, name="watch")

KindOpt = Annotated[str, typer.Option("--kind", help="auto, docs or chat (auto: chat logs by content).")]


def _check_kind(kind: str) -> str:
    if kind not in ("auto", "docs", "chat"):
        raise fail(f"--kind must be auto, docs or chat, not {kind!r}")
    return kind


def _progress():  # type: ignore[no-untyped-def]
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        TextColumn("[dim]{task.fields[current]}", justify="left"),
        console=err.real(),
        transient=True,
    )


def _print_summary(c: dict[str, Any]) -> None:
    """An ingest report (``IngestReport.as_dict``, also what ``POST /ingest`` returns)."""
    out.print(
        f"{c['new']} new, {c['changed']} changed, {c['unchanged']} unchanged, "
        f"{c['skipped']} skipped, {c['deleted']} deleted; {c['passages_added']} new passages",
        highlight=False,
    )
    for s in c["skipped_files"]:
        out.print(f"  [yellow]skipped[/] {s['path']}: {s['reason']}", highlight=False)


def _ingest(paths: list[str], kind: str) -> None:
    """Through the daemon when it runs (its ingestor is the one writer); else here, offline."""
    config = load_config_only()
    absolute = [os.path.abspath(os.path.expanduser(p)) for p in paths]
    client = connect(config.paths.socket_path)
    if client is not None:
        with err.status("the daemon is reading ..."):
            try:
                _print_summary(client.post("/ingest", {"paths": absolute, "kind": kind}, timeout=None))
            except DaemonError as e:
                raise fail(str(e)) from None
        return
    from sleepd.ingest.ingestor import ingest_paths, make_ingestor
    from sleepd.models.tokens import load_token_counter

    _config, store = load_context()
    with err.status("loading tokenizer ..."):
        ingestor = make_ingestor(store, config, load_token_counter(config))
    with _progress() as bar:

        def track(label: str):  # type: ignore[no-untyped-def]
            task = bar.add_task(label, total=None, current="")
            return (
                lambda p: bar.update(task, advance=1, current=os.path.basename(p)),
                lambda n: bar.update(task, total=n),
            )

        report = ingest_paths(ingestor, absolute, kind, track)
    _print_summary(report.as_dict())


@app.command()
def ingest(
    paths: Annotated[list[str], typer.Argument(help="Files or folders to read now.")],
    kind: KindOpt = "auto",
) -> None:
    """Read files or folders into the buffer now."""
    _ingest(paths, _check_kind(kind))


@app.command()
def sources(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    status: Annotated[str | None, typer.Option("--status", help="ok, skipped or deleted.")] = None,
) -> None:
    """Every file sleepd has seen, with its status and why it was skipped."""
    if status not in (None, "ok", "skipped", "deleted"):
        raise fail(f"--status must be ok, skipped or deleted, not {status!r}")
    config = load_config_only()
    client = connect(config.paths.socket_path)
    if client is not None:
        rows = client.get("/sources", status=status)
    else:
        _config, store = load_context()
        rows = [src.as_dict() for src in store.list_sources(status=status)]
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    from rich.table import Table

    table = Table(box=None)
    table.add_column("status")
    table.add_column("kind")
    table.add_column("passages", justify="right")
    table.add_column("path", overflow="fold")
    table.add_column("reason", overflow="fold")
    colour = {"ok": "green", "skipped": "yellow", "deleted": "dim"}
    for r in rows:
        kind = f"{r['kind']} ({r['format']}, {r['turns']} turns)" if r["turns"] is not None else r["kind"]
        table.add_row(
            f"[{colour[r['status']]}]{r['status']}[/]", kind, str(r["passages"]), r["path"], r["reason"] or ""
        )
    out.print(table)
    out.print(f"[dim]{len(rows)} sources[/]")


@watch_app.command("add")
def watch_add(
    path: Annotated[str, typer.Argument(help="A folder of notes or chat logs.")],
    kind: KindOpt = "auto",
    include: Annotated[list[str], typer.Option("--include", help="Only files matching this glob.")] = [],  # noqa: B006
    exclude: Annotated[list[str], typer.Option("--exclude", help="Skip files matching this glob.")] = [],  # noqa: B006
) -> None:
    """Watch a folder: read it now and keep reading what changes in it."""
    from sleepd.ingest.ingestor import check_watchable

    try:
        folder = check_watchable(path)
    except ValueError as e:
        raise fail(str(e)) from None
    config, store = load_context()
    client = connect(config.paths.socket_path)
    if client is not None:  # the running watcher takes it over and reads the folder itself
        try:
            client.post(
                "/watch", {"path": folder, "kind": _check_kind(kind), "include": include, "exclude": exclude}
            )
        except DaemonError as e:
            raise fail(str(e)) from None
        out.print(f"watching {folder} (the daemon is reading it now)", highlight=False)
        return
    store.add_watch(folder, _check_kind(kind), include, exclude)
    out.print(f"watching {folder}", highlight=False)
    _ingest([folder], kind)


@watch_app.command("list")
def watch_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The watched folders."""
    _config, store = load_context()
    if as_json:
        rows = [
            {"path": w.path, "kind": w.kind, "include": list(w.includes), "exclude": list(w.excludes)}
            for w in store.list_watches()
        ]
        print(json.dumps(rows))
        return
    for w in store.list_watches():
        extra = "".join(f" +{g}" for g in w.includes) + "".join(f" -{g}" for g in w.excludes)
        out.print(f"{w.path}  [dim]{w.kind}{extra}[/]", highlight=False)


@watch_app.command("remove")
def watch_remove(path: Annotated[str, typer.Argument()]) -> None:
    """Stop watching a folder (what was read from it stays)."""
    config, store = load_context()
    folder = os.path.realpath(os.path.expanduser(path))
    client = connect(config.paths.socket_path)
    if client is not None:
        try:
            client.post("/watch/remove", {"path": folder})
        except DaemonError as e:
            raise fail(str(e)) from None
    elif not store.remove_watch(folder):
        raise fail(f"not watched: {folder}")
    out.print(f"no longer watching {folder}", highlight=False)
