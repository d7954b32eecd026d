"""`sleepd sleep` and `sleepd memory ...`: consolidating, and looking at what was consolidated."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from sleepd.storage.errors import SleepdError

from .app import app, err, fail, load_context, out
from .client import DaemonClient, DaemonError, connect

memory_app = typer.Typer(help="Consolidated memory versions.", no_args_is_help=True)
app.add_typer(memory_app, name="memory")


class StageBars:
    """One Rich progress bar per sleep stage (steps, loss, ETA), on stderr."""

    def __init__(self, disable: bool) -> None:
        self.bar = Progress(
            TextColumn("[bold]{task.description:<8}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[info]}"),
            console=err,
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
        self.bar.update(self.tasks[stage], completed=done, total=total, info=info)


@app.command()
def sleep(as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False) -> None:
    """Consolidate pending passages into the model now (through the daemon if it runs, else here)."""
    from sleepd.memory.sleep import GateRejected, run_sleep
    from sleepd.storage.errors import SleepError

    config, store = load_context()
    client = connect(config.paths.socket_path)
    if client is not None:
        _sleep_through_daemon(client, as_json)
        return
    bars = StageBars(disable=as_json)
    try:
        with bars:
            result = run_sleep(config, store, bars.update)
    except SleepError as e:
        rejected = isinstance(e, GateRejected)
        if as_json:
            print(
                json.dumps(
                    {"outcome": "rejected" if rejected else "nothing", "version": None, "message": str(e)}
                )
            )
        elif rejected:
            out.print(f"[yellow]sleep rejected:[/] {e}; the previous memory is still served")
        else:
            out.print(f"nothing to do: {e}")
        return
    summary = {
        "outcome": "version",
        "version": result.version,
        "new_passages": result.new_passages,
        "replay_passages": result.replay_passages,
        "examples": result.examples,
        "layers": result.layers,
        "train_tokens": result.train_tokens,
        "forgotten_passages": result.forgotten_passages,
        "held_passages": result.held_passages,
        "train_tokens_per_s": round(result.tokens_per_s, 1),
        "train_tokens_per_new_token": round(result.train_tokens_per_new_token, 1),
        "seconds_per_1k_new_tokens": round(result.seconds_per_1k_new_tokens, 1),
        "final_loss": result.losses[-1] if result.losses else None,
        "seconds": round(result.seconds, 1),
    }
    if as_json:
        print(json.dumps(summary))
        return
    out.print(
        f"memory version {result.version}: {result.new_passages} passages consolidated "
        f"(+{result.replay_passages} replayed, {result.forgotten_passages} forgotten), "
        f"{result.train_tokens} tokens at "
        f"{result.tokens_per_s:.0f} tokens/s, final loss {summary['final_loss']:.3f}, "
        f"{result.seconds:.0f} s",
        highlight=False,
    )
    _print_cost(summary)


def _print_cost(summary: dict[str, Any]) -> None:
    out.print(
        f"cost: {summary['train_tokens_per_new_token']:.1f} training tokens per new token, "
        f"{summary['seconds_per_1k_new_tokens']:.0f} s per 1k new tokens",
        highlight=False,
    )
    if summary.get("held_passages"):
        out.print(
            f"{summary['held_passages']} passage(s) left pending: nothing to train on "
            "(still answered from the buffer; `sleepd sources` shows them)",
            highlight=False,
        )


def _sleep_through_daemon(client: DaemonClient, as_json: bool) -> None:
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
    last = sleep.get("last") or {}
    if as_json:
        print(json.dumps(last))
        return
    if last.get("outcome") == "version":
        out.print(
            f"memory version {last['version']}: {last['new_passages']} passages consolidated, "
            f"{last['forgotten_passages']} forgotten, {last['train_tokens_per_s']:.0f} tokens/s, "
            f"{last['seconds']:.0f} s; the daemon now serves it",
            highlight=False,
        )
        _print_cost(last)
    elif last.get("outcome") == "rejected":
        out.print(f"[yellow]sleep rejected:[/] {last['message']}; the previous memory is still served")
    elif last.get("outcome") == "nothing":
        out.print(f"nothing to do: {last['message']}")
    else:
        raise fail(f"sleep {last.get('outcome', 'ended')}: {last.get('message', '')}")


def _versions():  # type: ignore[no-untyped-def]
    from sleepd.memory.versions import VersionStore

    config, store = load_context()
    return VersionStore(config.paths.data_dir), store


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
    from sleepd.memory.versions import VersionStore

    config, _store = load_context()
    client = connect(config.paths.socket_path)
    try:
        if client is not None:  # the daemon switches the pointer and its served model together
            client.post("/memory/rollback", {"version": version})
        else:
            VersionStore(config.paths.data_dir).set_current(version or None)
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
    from pathlib import Path

    from sleepd.evaluation.questions import load_questions
    from sleepd.evaluation.run import run_eval

    config, _store = load_context()
    if batches < 1:
        raise fail("--batches must be at least 1")
    if bench_set:
        root = Path(bench_set)
        if not root.is_dir():
            root = Path(__file__).resolve().parents[2] / "shared" / "bench" / bench_set
        docs, questions = docs or str(root / "docs"), questions or str(root / "questions.json")
    if not docs or not questions:
        raise fail("give --set, or both --docs and --questions")
    try:
        qs = load_questions(Path(questions))
        gq = load_questions(Path(general)) if general else None
    except (OSError, ValueError, KeyError) as e:
        raise fail(f"cannot read questions: {e}") from None
    if not Path(docs).is_dir():
        raise fail(f"not a folder: {docs}")
    result = run_eval(
        config,
        Path(docs),
        qs,
        gq,
        batches,
        baselines=not no_baselines,
        log=lambda m: err.print(f"[dim]{m}[/]"),
        forget=forget,
    )
    if as_json:
        print(json.dumps(result))
        return
    out.print(f"questions     {result['questions']}")
    kinds = sorted({k for row in result["kinds"].values() for k in row})
    if kinds:
        out.print(" " * 14 + "  ".join(f"{k[:10]:>10}" for k in kinds))
    for label, key in (
        ("ceiling", "ceiling"),
        ("no memory", "before"),
        ("buffer", "buffer"),
        ("closed-book", "after"),
        ("chat default", "chat"),
    ):
        per_kind = "  ".join(f"{result['kinds'][key].get(k, 0):>10.2f}" for k in kinds)
        out.print(f"{label:<13} {result[key]:.2f}  {per_kind}", highlight=False)
    for key, value in result["baselines"].items():
        out.print(f"baseline {key:<12} {value:.2f}")
    if result["general_kept"] is not None:
        out.print(f"general kept  {result['general_kept']:.2f} of {result['general_base_correct']}")
    out.print(f"train speed   {result['train_tokens_per_s']:.0f} tokens/s")
    precision = result["precision"]
    out.print(f"precision     {precision['dtype']} ({precision['reason']})", highlight=False)
    out.print(f"sleep time    {result['sleep_seconds_per_1k_new_tokens']:.0f} s per 1k new tokens")
    out.print(f"train tokens  {result['train_tokens_per_new_token']:.1f} per new token")
    for r in result["rejected_sleeps"]:
        out.print(f"[yellow]sleep {r['sleep']} rejected by the gate:[/] {r['reason']}")
    if result.get("forget"):
        f = result["forget"]
        out.print(
            f"forget {f['source']}: its recall {f['forgotten_before']:.2f} -> {f['forgotten_after']:.2f}, "
            f"others {f['others_before']:.2f} -> {f['others_after']:.2f}",
            highlight=False,
        )
    out.print("retention (row: batch, column: after sleep j)")
    for i, row in enumerate(result["retention"]):
        out.print(f"  {i + 1}: " + "  ".join("  -  " if v is None else f"{v:.2f}" for v in row))
