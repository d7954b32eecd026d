"""`sleepd daemon`: the foreground process systemd runs.

Start-up: one daemon per home (an flock on the runtime dir), the model loaded once (telling systemd
to extend its start timeout meanwhile), the watcher and scheduler started, the API bound to a unix
socket made 0600 inside the 0700 runtime dir (uvicorn's own ``uds=`` would chmod it 0666, so the
socket is bound here and handed over), then READY=1. The event loop pings the watchdog, so a wedged
loop gets the service restarted. SIGTERM/SIGINT: uvicorn stops serving, a running sleep is stopped
(its passages stay pending), the watcher stops, the DB is closed, the socket removed.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import socket
from collections.abc import Iterator
from pathlib import Path

from sleepd.storage.config import Config
from sleepd.storage.errors import DaemonError
from sleepd.storage.token import read_token

from .notify import Notifier

log = logging.getLogger(__name__)


class AlreadyRunning(DaemonError):
    pass


@contextlib.contextmanager
def single_instance(run_dir: Path) -> Iterator[None]:
    run_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(run_dir, 0o700)
    fd = os.open(run_dir / "daemon.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise AlreadyRunning(f"a sleepd daemon is already running for {run_dir}") from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        yield
    finally:
        os.close(fd)


def bind_unix_socket(path: Path) -> socket.socket:
    """A listening unix socket at ``path``, mode 0600 from the start (umask during bind)."""
    if len(os.fsencode(path)) > 107:  # sun_path is 108 bytes with the NUL
        raise OSError(f"socket path too long for a unix socket ({len(os.fsencode(path))} bytes): {path}")
    if path.exists() or path.is_symlink():
        path.unlink()  # a stale socket of a daemon that died; the lock says none is running
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)
    try:
        sock.bind(str(path))
    finally:
        os.umask(old)
    os.chmod(path, 0o600)
    sock.listen(64)
    return sock


def tcp_listener(config: Config, token: str | None) -> socket.socket | None:
    """The TCP socket when ``tcp_port`` is set and a token exists; without a token, none (anyone on
    the machine could connect), with a one-line reason in the log."""
    d = config.daemon
    if not d.tcp_port:
        return None
    if token is None:
        log.error("tcp_port = %d but no API token exists: TCP not started (run `sleepd token`)", d.tcp_port)
        return None
    family = socket.AF_INET6 if ":" in d.tcp_host else socket.AF_INET
    tcp = socket.socket(family, socket.SOCK_STREAM)
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    tcp.bind((d.tcp_host, d.tcp_port))
    tcp.listen(64)
    log.info("API also on tcp %s:%d (bearer token required)", d.tcp_host, d.tcp_port)
    return tcp


def _exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(0)  # a signal during start-up (model loading): clean up and leave


def run_daemon(config: Config) -> None:
    import signal

    import uvicorn

    from .api import make_app
    from .core import Daemon

    notifier = Notifier()
    config.paths.ensure()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _exit_on_signal)
    with single_instance(config.paths.runtime_dir):
        notifier.status("loading model")
        notifier.extend_timeout(300)  # converting the bundled model on first start takes a while
        daemon = Daemon(config)
        try:
            daemon.start()
            sockets = [bind_unix_socket(config.paths.socket_path)]
            token = read_token(config.paths)
            tcp = tcp_listener(config, token)
            if tcp is not None:
                sockets.append(tcp)
            uv = uvicorn.Config(
                make_app(daemon, token if tcp is not None else None),
                log_level="warning",
                access_log=False,
                lifespan="off",
                timeout_graceful_shutdown=5,
            )
            # uvicorn handles SIGTERM/SIGINT while it serves and raises them again after stopping:
            # by then the clean-up below is what should happen, so the handler becomes a no-op
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, signal.SIG_IGN)
            asyncio.run(_serve(uvicorn.Server(uv), sockets, daemon, notifier))
        finally:
            notifier.stopping()
            log.info("sleepd daemon stopping")
            daemon.stop()
            with contextlib.suppress(FileNotFoundError):
                config.paths.socket_path.unlink()


async def _serve(server: object, sockets: list[socket.socket], daemon: object, notifier: Notifier) -> None:
    import uvicorn

    assert isinstance(server, uvicorn.Server)
    serving = asyncio.create_task(server.serve(sockets=sockets))
    while not server.started and not serving.done():
        await asyncio.sleep(0.05)
    notifier.ready(_status_line(daemon))
    log.info("sleepd daemon ready on %s", sockets[0].getsockname())
    interval = min(notifier.watchdog_interval_s or 5.0, 5.0)
    while not serving.done():
        notifier.watchdog()  # from the loop itself: a wedged loop stops the pings
        notifier.status(_status_line(daemon))
        await asyncio.wait({serving}, timeout=interval)
    await serving


def _status_line(daemon: object) -> str:
    from .core import Daemon

    assert isinstance(daemon, Daemon)
    snap = daemon.sleeper.snapshot()
    version = daemon.chat.version
    serving = f"serving memory version {version}" if version else "serving the base model"
    if snap["running"]:
        p = snap["progress"] or {}
        return f"{serving}; sleeping: {p.get('stage', '?')} {p.get('done', 0)}/{p.get('total', '?')}"
    return serving
