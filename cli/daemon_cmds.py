"""`sleepd daemon` (foreground, --detach, --stop) and `sleepd service install|uninstall|status`."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from .app import app, err, fail, load_config_only, out, verbose_of
from .client import connect

service_app = typer.Typer(help="Run sleepd as a systemd user service.", no_args_is_help=True)
app.add_typer(service_app, name="service")

UNIT_NAME = "sleepd.service"


def _daemon_pid(run_dir: Path) -> int | None:
    try:
        text = (run_dir / "daemon.lock").read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


@app.command()
def daemon(
    ctx: typer.Context,
    detach: Annotated[
        bool, typer.Option("--detach", help="Start in the background and return once ready.")
    ] = False,
    stop: Annotated[bool, typer.Option("--stop", help="Stop a running daemon.")] = False,
    log_file: Annotated[
        Path | None, typer.Option("--log-file", hidden=True, help="Log to this rotated file (--detach).")
    ] = None,
) -> None:
    """Run the daemon: model, folder watcher, sleep scheduler, API on a unix socket (what systemd runs)."""
    config = load_config_only()
    client = connect(config.paths.socket_path)
    if stop:
        pid = _daemon_pid(config.paths.runtime_dir)
        if client is None or pid is None:
            out.print("no sleepd daemon is running")
            return
        os.kill(pid, signal.SIGTERM)
        with err.status("stopping the daemon ..."):
            for _ in range(600):
                if not config.paths.socket_path.exists():
                    break
                time.sleep(0.1)
        out.print(f"stopped the daemon (pid {pid})")
        return
    if detach:
        if client is not None:
            out.print("the sleepd daemon is already running")
            return
        log_path = config.paths.state_dir / "daemon.log"
        verbose = ["-v"] if verbose_of(ctx) else []
        with open(log_path, "ab") as log:  # until the daemon's own rotated log handler takes over
            proc = subprocess.Popen(
                [sys.executable, "-m", "sleepd.daemon", *verbose, "--log-file", str(log_path)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,  # outlives this terminal
            )
        with err.status("starting the daemon (loading the model) ..."):
            for _ in range(3000):
                if proc.poll() is not None:
                    tail = log_path.read_text(errors="replace").strip().splitlines()[-3:]
                    raise fail("the daemon exited at start-up: " + " | ".join(tail))
                if connect(config.paths.socket_path) is not None:
                    break
                time.sleep(0.1)
            else:
                raise fail(f"the daemon did not answer within 5 minutes; see {log_path}")
        out.print(f"sleepd daemon running (pid {proc.pid}); logs in {log_path}", highlight=False)
        return
    if client is not None:
        raise fail("a sleepd daemon is already running for this home")
    _run_foreground(verbose_of(ctx), log_file)


def _run_foreground(verbose: bool, log_file: Path | None) -> None:
    """Become the daemon process (``python -m sleepd.daemon``): the CLI never runs it in-process."""
    args = [sys.executable, "-m", "sleepd.daemon", *(["-v"] if verbose else [])]
    if log_file is not None:
        args += ["--log-file", str(log_file)]
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, args)


def render_unit(exec_start: str, env: dict[str, str], writable: list[Path]) -> str:
    """The unit for this install: its python, its SLEEPD_HOME, the folders it may write (a leading
    ``-`` lets systemd skip one that does not exist yet)."""
    from importlib.resources import files

    template = (files("sleepd.systemd") / UNIT_NAME).read_text()
    lines = "\n".join(f"Environment={k}={v}" for k, v in env.items())
    paths = " ".join(f"-{p}" for p in dict.fromkeys(str(p) for p in writable))
    return (
        template.replace("@EXEC_START@", exec_start)
        .replace("@ENVIRONMENT@\n", lines + "\n" if lines else "")
        .replace("@READ_WRITE_PATHS@", f"ReadWritePaths={paths}")
    )


def _writable_paths(config) -> list[Path]:  # type: ignore[no-untyped-def]
    """What the daemon writes: its data (database, memory versions, converted model), state (logs),
    runtime (socket) folders, a configured model cache, and Hugging Face's cache for hub models."""
    paths = [config.paths.data_dir, config.paths.state_dir, config.paths.runtime_dir]
    if config.model.cache_dir:
        paths.append(Path(config.model.cache_dir).expanduser())
    hf_home = os.environ.get("HF_HOME") or str(Path.home() / ".cache" / "huggingface")
    return [*paths, Path(hf_home)]


def _unit_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "systemd" / "user" / UNIT_NAME


def _systemctl(*args: str) -> subprocess.CompletedProcess[str] | None:
    if shutil.which("systemctl") is None:
        return None
    return subprocess.run(["systemctl", "--user", *args], capture_output=True, text=True)


@service_app.command("install")
def service_install(
    now: Annotated[bool, typer.Option("--now", help="Also enable and start it.")] = False,
) -> None:
    """Write the user unit to ~/.config/systemd/user/ and reload systemd."""
    env = {"SLEEPD_HOME": os.environ["SLEEPD_HOME"]} if os.environ.get("SLEEPD_HOME") else {}
    config = load_config_only()
    unit = render_unit(f"{sys.executable} -m sleepd.daemon", env, _writable_paths(config))
    path = _unit_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(unit)
    out.print(f"wrote {path}", highlight=False)
    reload = _systemctl("daemon-reload")
    if reload is None:
        out.print("systemd is not available here: run `sleepd daemon` yourself (or under another supervisor)")
        return
    if reload.returncode != 0:  # e.g. no user session bus (a container, or over plain ssh)
        err.print(
            "[yellow]systemd's user manager did not answer[/] "
            f"({reload.stderr.strip().splitlines()[-1] if reload.stderr.strip() else 'no reason given'}); "
            "in your login session run: "
            "systemctl --user daemon-reload && systemctl --user enable --now sleepd",
            highlight=False,
        )
        return
    if now:
        started = _systemctl("enable", "--now", UNIT_NAME)
        if started is not None and started.returncode != 0:
            raise fail(f"systemctl --user enable --now failed: {started.stderr.strip()}")
        out.print("enabled and started; `journalctl --user -u sleepd -f` follows its log")
    else:
        out.print("start it with: systemctl --user enable --now sleepd")


@service_app.command("uninstall")
def service_uninstall() -> None:
    """Stop and disable the user unit and remove it."""
    path = _unit_path()
    _systemctl("disable", "--now", UNIT_NAME)
    if path.exists():
        path.unlink()
        out.print(f"removed {path}", highlight=False)
    else:
        out.print("no sleepd unit installed")
    _systemctl("daemon-reload")


@service_app.command("status")
def service_status() -> None:
    """What systemd says about the unit."""
    path = _unit_path()
    out.print(f"unit file: {path} ({'installed' if path.exists() else 'not installed'})", highlight=False)
    proc = _systemctl("status", "--no-pager", UNIT_NAME)
    if proc is None:
        out.print("systemd is not available here")
        return
    out.print(proc.stdout.strip() or proc.stderr.strip(), highlight=False, markup=False)
