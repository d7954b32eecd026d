"""`sleepd ingest`, `sleepd sources` and `sleepd watch ...`: getting notes into the buffer."""

from __future__ import annotations

import contextlib
import json
import os
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from .app import app, err, fail, load_context, out
from .client import DaemonError, connect

watch_app = typer.Typer(help="Folders sleepd keeps watching.", no_args_is_help=True)
app.add_typer(watch_app, name="watch")

KindOpt = Annotated[str, typer.Option("--kind", help="auto, docs or chat (auto: chat logs by content).")]


def _check_kind(kind: str) -> str:
    if kind not in ("auto", "docs", "chat"):
        raise fail(f"--kind must be auto, docs or chat, not {kind!r}")
    return kind


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        TextColumn("[dim]{task.fields[current]}", justify="left"),
        console=err,
        transient=True,
    )


def _print_summary(report) -> None:  # type: ignore[no-untyped-def]
    c = {k.value: v for k, v in report.counts.items()}
    out.print(
        f"{c['new']} new, {c['changed']} changed, {c['unchanged']} unchanged, "
        f"{c['skipped']} skipped, {c['deleted']} deleted; {report.passages_added} new passages",
        highlight=False,
    )
    for path, reason in report.skipped:
        out.print(f"  [yellow]skipped[/] {path}: {reason}", highlight=False)


def _ingest(paths: list[str], kind: str) -> None:
    from sleepd.ingest.ingestor import IngestReport, Outcome, make_ingestor, watch_covering

    config, store = load_context()
    with err.status("loading tokenizer ..."):
        ingestor = make_ingestor(store, config)
    watches = store.list_watches()
    report = IngestReport()
    with _progress() as bar:
        for raw in paths:
            path = os.path.abspath(os.path.expanduser(raw))
            task = bar.add_task(os.path.basename(path) or path, total=None, current="")
            if os.path.isdir(path):
                watch = watch_covering(watches, path)
                report.merge(
                    ingestor.sync_folder(
                        path,
                        watch,
                        kind,
                        progress=lambda p, t=task: bar.update(t, advance=1, current=os.path.basename(p)),
                        on_total=lambda n, t=task: bar.update(t, total=n),
                    )
                )
            elif os.path.lexists(path):
                bar.update(task, total=1)
                outcome, reason, added = ingestor.ingest_file(path, kind)
                report.add(path, outcome, reason, added)
                bar.update(task, advance=1)
            else:
                report.add(path, Outcome.SKIPPED, "no such file or folder")
    _print_summary(report)


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
    _config, store = load_context()
    rows = store.list_sources(status=status)
    if as_json:
        print(
            json.dumps(
                [
                    {
                        "path": s.path,
                        "kind": s.kind,
                        "status": s.status,
                        "reason": s.reason,
                        "passages": s.passages,
                        "size": s.size,
                        "format": s.format,
                        "turns": s.turns,
                    }
                    for s in rows
                ],
                indent=2,
            )
        )
        return
    table = Table(box=None)
    table.add_column("status")
    table.add_column("kind")
    table.add_column("passages", justify="right")
    table.add_column("path", overflow="fold")
    table.add_column("reason", overflow="fold")
    colour = {"ok": "green", "skipped": "yellow", "deleted": "dim"}
    for s in rows:
        kind = f"{s.kind} ({s.format}, {s.turns} turns)" if s.turns is not None else s.kind
        table.add_row(f"[{colour[s.status]}]{s.status}[/]", kind, str(s.passages), s.path, s.reason or "")
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


@watch_app.command("run")
def watch_run() -> None:
    """Watch every folder in the foreground until Ctrl-C (the daemon does this for you)."""
    import logging
    import signal
    import threading

    from sleepd.daemon.watch import FolderWatcher
    from sleepd.ingest.ingestor import make_ingestor

    config, store = load_context()
    if not store.list_watches():
        raise fail("no folders watched; add one with `sleepd watch add PATH`")
    logging.getLogger("sleepd").setLevel(logging.INFO)
    watcher = FolderWatcher(store, make_ingestor(store, config), config.watch.debounce_s)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    watcher.start()
    err.print(f"watching {len(store.list_watches())} folder(s); Ctrl-C to stop")
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    watcher.stop()
