"""`sleepd sleep` and `sleepd memory ...`: consolidating, and looking at what was consolidated."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

import typer

from sleepd.storage.errors import SleepdError

from .app import app, err, fail, load_config_only, load_context, out
from .client import DaemonClient, DaemonError, connect

memory_app = typer.Typer(help="Consolidated memory versions.", no_args_is_help=True)
app.add_typer(memory_app, name="memory")


class StageBars:
    """One Rich progress bar per sleep stage (steps, loss, ETA), on stderr."""

    def __init__(self, disable: bool) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.bar = Progress(
            TextColumn("[bold]{task.description:<8}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[info]}"),
            console=err.real(),
            disable=disable,
        )
        self.tasks: dict[str, Any] = {}

    def __enter__(self) -> StageBars:
        self.bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.__exit__(*exc)  # type: ignore[arg-type]

    def update(self, stage: str, done: int, total: int, extra: dict[str, Any]) -> None:
        if stage not in self.tasks:
            self.tasks[stage] = self.bar.add_task(stage, total=total, info="")
        info = f"loss {extra['loss']:.3f}" if "loss" in extra else ""
        if "layers" in extra:
            info = f"{len(extra['layers'])} layers"
        if "round" in extra:  # a later round of a budgeted sleep (the time left after the first)
            info = f"round {extra['round']} {info}".strip()
        self.bar.update(self.tasks[stage], completed=done, total=total, info=info)


@app.command()
def sleep(as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False) -> None:
    """Consolidate pending passages into the model now (through the daemon if it runs, else here)."""
    config, store = load_context()
    client = connect(config.paths.socket_path)
    outcome = (
        _sleep_through_daemon(client, as_json) if client is not None else _sleep_here(config, store, as_json)
    )
    if as_json:
        print(json.dumps(outcome))
    else:
        _print_outcome(outcome, served_by_daemon=client is not None)


def _sleep_here(config, store, as_json: bool) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Offline: the memory package's one sleep function, in this process."""
    from sleepd.memory.sleeping.pipeline import GateRejected
    from sleepd.memory.sleeping.rounds import run_sleep_rounds
    from sleepd.storage.errors import SleepError

    bars = StageBars(disable=as_json)
    try:
        with bars:
            return run_sleep_rounds(config, store, bars.update).summary()
    except SleepError as e:
        return {"outcome": "rejected" if isinstance(e, GateRejected) else "nothing", "message": str(e)}


def _sleep_through_daemon(client: DaemonClient, as_json: bool) -> dict[str, Any]:
    """The daemon sleeps in its own child process (chat keeps working); follow its progress."""
    import time

    try:
        started = client.post("/sleep")
        if not started["started"]:
            err.print("a sleep is already running; following it")
        bars = StageBars(disable=as_json)
        with bars:
            while True:
                sleep = client.get("/status")["sleep"]
                if not sleep["running"]:
                    break
                p = sleep["progress"] or {}
                bars.update(p.get("stage", "starting"), p.get("done", 0), p.get("total") or 1, p)
                time.sleep(0.5)
    except DaemonError as e:
        raise fail(str(e)) from None
    return sleep.get("last") or {}


def _print_outcome(last: dict[str, Any], served_by_daemon: bool) -> None:
    outcome = last.get("outcome")
    if outcome == "version":
        loss = f", final loss {last['final_loss']:.3f}" if last.get("final_loss") is not None else ""
        out.print(
            f"memory version {last['version']}"
            + (f" ({last['rounds']} rounds)" if last.get("rounds", 1) > 1 else "")
            + f": {last['new_passages']} passages consolidated "
            f"(+{last['replay_passages']} replayed, {last['forgotten_passages']} forgotten), "
            f"{last['train_tokens']} tokens at {last['train_tokens_per_s']:.0f} tokens/s{loss}, "
            f"{last['seconds']:.0f} s" + ("; the daemon now serves it" if served_by_daemon else ""),
            highlight=False,
        )
        out.print(
            f"cost: {last['train_tokens_per_new_token']:.1f} training tokens per new token, "
            f"{last['seconds_per_1k_new_tokens']:.0f} s per 1k new tokens",
            highlight=False,
        )
        if last.get("deferred_passages"):
            out.print(
                f"{last['deferred_passages']} passage(s) deferred: the sleep's budget (sleep.max_minutes) "
                f"was spent; about {last['nights_left']} more night(s); answered from the buffer meanwhile",
                highlight=False,
            )
        if last.get("held_passages"):
            out.print(
                f"{last['held_passages']} passage(s) left pending: nothing to train on "
                "(still answered from the buffer; `sleepd sources` shows them)",
                highlight=False,
            )
    elif outcome == "rejected":
        out.print(f"[yellow]sleep rejected:[/] {last['message']}; the previous memory is still served")
    elif outcome == "nothing":
        out.print(f"nothing to do: {last['message']}")
    else:
        raise fail(f"sleep {outcome or 'ended'}: {last.get('message', '')}")


def _versions():  # type: ignore[no-untyped-def]
    from sleepd.memory.versions import memory_of

    config, store = load_context()
    return memory_of(config), store


JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@memory_app.command("list")
def memory_list(as_json: JsonOpt = False) -> None:
    """Every memory version on disk, the current one marked (*), pinned ones marked (pinned)."""
    versions, _store = _versions()
    current = versions.current()
    rows = [
        {
            "version": info.id,
            "current": info.id == current,
            "pinned": versions.is_pinned(info.id),
            "passages": len(info.meta.get("passages", [])),
            "layers": len(info.meta.get("layers", [])),
            "final_loss": (info.meta.get("losses") or [None])[-1],
            "written": datetime.fromtimestamp(info.path.stat().st_mtime).isoformat(timespec="seconds"),
        }
        for info in versions.list()
    ]
    if as_json:
        print(json.dumps(rows))
        return
    if not rows:
        out.print("no memory versions yet: the base model only (run `sleepd sleep`)")
    for r in rows:
        loss = "-" if r["final_loss"] is None else f"{r['final_loss']:.3f}"
        out.print(
            f"{'*' if r['current'] else ' '} {r['version']:>4}  {r['passages']:>4} passages  "
            f"{r['layers']} layers  loss {loss}{'  (pinned)' if r['pinned'] else ''}",
            highlight=False,
        )
    out.print(f"[dim]{versions.disk_bytes() / 1e6:.1f} MB on disk[/]", highlight=False)


@memory_app.command("pin")
def memory_pin(
    version: Annotated[int, typer.Argument()],
    unpin: Annotated[bool, typer.Option("--unpin", help="Let retention remove it again.")] = False,
) -> None:
    """Keep a version through every prune (retention keeps the current and `keep_versions` more)."""
    versions, _store = _versions()
    try:
        versions.pin(version, pinned=not unpin)
    except SleepdError as e:
        raise fail(str(e)) from None
    out.print(f"memory version {version} {'unpinned' if unpin else 'pinned'}")


@memory_app.command("prune")
def memory_prune(
    keep: Annotated[
        int | None, typer.Option("--keep", min=0, help="Versions kept besides current and pinned.")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only say what would go.")] = False,
) -> None:
    """Remove old memory versions: all but the current, the newest `keep_versions` and pinned ones
    (each sleep does this itself)."""
    config, _store = load_context()
    versions, _ = _versions()
    n = config.sleep.keep_versions if keep is None else keep
    doomed = versions.prunable(n)
    if not doomed:
        out.print("nothing to prune")
        return
    before = versions.disk_bytes()
    if not dry_run:
        versions.prune(n)
    freed = (before - versions.disk_bytes()) / 1e6
    what = "would remove" if dry_run else f"removed ({freed:.1f} MB freed):"
    out.print(f"{what} memory version(s) {', '.join(map(str, doomed))}", highlight=False)


@memory_app.command("show")
def memory_show(version: Annotated[int, typer.Argument()]) -> None:
    """A version's metadata (and report, when there is one)."""
    versions, _store = _versions()
    if not versions.is_complete(version):
        raise fail(f"no memory version {version}")
    info = versions.info(version)
    report = info.path / "report.md"
    if report.exists():
        out.print(report.read_text(), highlight=False, markup=False)
        out.print(f"plot: {info.path / 'report.png'}", highlight=False)
        return
    meta = {k: v for k, v in info.meta.items() if k != "losses"}
    meta["final_loss"] = info.meta["losses"][-1] if info.meta.get("losses") else None
    out.print_json(json.dumps(meta, default=str))


@memory_app.command("rollback")
def memory_rollback(
    version: Annotated[int, typer.Argument(help="Version to serve; 0 = base model.")],
) -> None:
    """Serve an earlier memory version (or 0, the base model)."""
    from sleepd.memory.versions import memory_of

    config, _store = load_context()
    client = connect(config.paths.socket_path)
    try:
        if client is not None:  # the daemon switches the pointer and its served model together
            client.post("/memory/rollback", {"version": version})
        else:
            memory_of(config).set_current(version or None)
    except SleepdError as e:
        raise fail(str(e)) from None
    out.print(f"now serving {'the base model' if not version else f'memory version {version}'}")


@memory_app.command("forget")
def memory_forget(
    source: Annotated[str, typer.Argument(help="A file or folder that was ingested.")],
    undo: Annotated[bool, typer.Option("--undo", help="Let SOURCE be ingested and learned again.")] = False,
) -> None:
    """Forget a file or folder: the next sleep unlearns it, and it is not ingested again."""
    config, store = load_context()
    path = store.resolve_source_path(source)
    client = connect(config.paths.socket_path)
    try:
        if client is not None:  # the daemon's watcher and store see it at once
            done = client.post("/memory/forget", {"path": path, "undo": undo})
            n = done.get("passages", 0)
        elif undo:
            if not store.unforget_source(path):
                raise LookupError(f"{path} is not forgotten")
        else:
            n = store.forget_source(path)
    except (LookupError, SleepdError) as e:
        raise fail(str(e)) from None
    if undo:
        out.print(
            f"{path} will be ingested again at the next scan or change", highlight=False, soft_wrap=True
        )
        return
    via = " (through the running daemon)" if client is not None else ""
    out.print(
        f"forgetting {path}: {n} passages dropped{via}; the next sleep unlearns what was consolidated "
        "(`sleepd sleep`)",
        highlight=False,
        soft_wrap=True,
    )


@app.command("eval")
def eval_(
    bench_set: Annotated[
        str | None,
        typer.Option(
            "--set", help="A folder with docs/ and questions.json, or a set's name in ../shared/bench."
        ),
    ] = None,
    docs: Annotated[str | None, typer.Option("--docs", help="Folder of notes to learn.")] = None,
    questions: Annotated[
        str | None, typer.Option("--questions", help="questions.json: [{q, a, source[, kind]}].")
    ] = None,
    general: Annotated[str | None, typer.Option("--general", help="General questions: [{q, a}].")] = None,
    batches: Annotated[int, typer.Option("--batches", help="Sleep after each of N batches.")] = 1,
    no_baselines: Annotated[
        bool, typer.Option("--no-baselines", help="Skip the naive LoRA baseline.")
    ] = False,
    forget: Annotated[
        str | None,
        typer.Option("--forget", help="Forget this file (relative to --docs) at the end."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Measure memory on a question set, in a throwaway SLEEPD_HOME (your memory is untouched)."""
    from sleepd.evaluation.command import eval_command, render_text

    config = load_config_only()
    result = eval_command(
        config,
        bench_set=bench_set,
        docs=docs,
        questions=questions,
        general=general,
        batches=batches,
        baselines=not no_baselines,
        forget=forget,
        log=lambda m: err.print(f"[dim]{m}[/]"),
    )
    if as_json:
        print(json.dumps(result))
        return
    for line in render_text(result):
        out.print(line, highlight=False, markup=False)
