"""The daemon as systemd runs it, on a tiny model: socket, notify protocol, chat, sleep, kill -9."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from sleepd.daemon.notify import Notifier
from sleepd.memory.versions import memory_of
from sleepd.storage import Config, NewPassage, Store

from .daemon_proc import RunningDaemon, sleepd


class NotifyListener:
    """A fake systemd: a datagram socket read continuously (as systemd does), lines collected."""

    def __init__(self, path: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.2)
        self.seen: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                self.seen.update(self.sock.recv(4096).decode().splitlines())

    def wait_for(self, wanted: set[str], timeout: float) -> set[str]:
        end = time.monotonic() + timeout
        while not wanted <= self.seen and time.monotonic() < end:
            time.sleep(0.05)
        return set(self.seen)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


def test_notifier_abstract_socket_and_watchdog_interval() -> None:
    name = f"sleepd-test-{os.getpid()}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.settimeout(2)
    n = Notifier({"NOTIFY_SOCKET": "@" + name, "WATCHDOG_USEC": "4000000"})
    assert n.watchdog_interval_s == 2.0
    assert n.ready("up")
    assert sock.recv(100).decode().splitlines() == ["READY=1", "STATUS=up"]
    other = Notifier({"NOTIFY_SOCKET": "@" + name, "WATCHDOG_USEC": "4000000", "WATCHDOG_PID": "1"})
    assert other.watchdog_interval_s is None  # the watchdog is meant for another process
    assert not Notifier({}).ready("x")  # outside systemd: nothing, no error


def test_daemon_socket_notify_chat_and_clean_stop(tiny_config: Config, tmp_path: Path) -> None:
    listener = NotifyListener(tmp_path / "notify.sock")
    daemon = RunningDaemon(
        tiny_config,
        tmp_path / "daemon.log",
        {"NOTIFY_SOCKET": str(tmp_path / "notify.sock"), "WATCHDOG_USEC": "1000000"},
    )
    try:
        daemon.wait_ready()
        assert {"READY=1", "WATCHDOG=1"} <= listener.wait_for({"READY=1", "WATCHDOG=1"}, 30)
        sock_path = tiny_config.paths.socket_path
        assert stat.S_IMODE(sock_path.stat().st_mode) == 0o600
        assert stat.S_IMODE(sock_path.parent.stat().st_mode) == 0o700

        first = sleepd("chat", "My locker code is 4471.")
        # the tiny random model's answer is a loop: cut at once (blank lines), and chat says so
        assert first.returncode == 0 and "answer cut: it started repeating itself" in first.stderr
        store = Store_of(tiny_config)
        session = store.last_session()
        assert session is not None and len(store.messages(session)) == 2
        sleepd("chat", "-c", "And what about the bike?")
        assert len(store.messages(session)) == 4
        # the statement became a pending passage for the next sleep; the question did not
        assert [p.text for p in store.passages(status="pending")] == ["My locker code is 4471."]

        status = sleepd("status", "--json").stdout
        assert '"served_version": null' in status and '"pid"' in status
        assert sleepd("chat", "--session", "999", "hi", check=False).returncode == 1
    finally:
        code = daemon.stop()
    assert code == 0, daemon.log.read_text()[-3000:]
    assert not tiny_config.paths.socket_path.exists()
    assert "STOPPING=1" in listener.wait_for({"STOPPING=1"}, 5)
    listener.close()


def Store_of(config: Config) -> Store:  # noqa: N802
    from sleepd.storage import open_engine

    return Store(open_engine(config))


def test_chat_without_daemon_says_how_to_start_it(tiny_config: Config) -> None:
    proc = sleepd("chat", "hello", check=False)
    assert proc.returncode == 1 and "sleepd daemon" in proc.stderr and "Traceback" not in proc.stderr


def _daemon_in_a_long_training(
    config: Config, home: Path, tmp_path: Path
) -> tuple[Store, Path, RunningDaemon, int]:
    """One pending note, 2000 epochs, a daemon whose sleep has reached training; and its child pid."""
    store = Store_of(config)
    sid = store.upsert_source("/notes/a.md")
    store.add_passages(sid, [NewPassage("Server kestrel-9 runs Alpine; owner Ines Valcourt.", 12)])
    cfg = home / "config" / "config.toml"
    cfg.write_text(cfg.read_text().replace("epochs = 2", "epochs = 2000"))
    daemon = RunningDaemon(config, tmp_path / "daemon.log")
    daemon.wait_ready()
    assert daemon.client.post("/sleep")["started"]
    return store, cfg, daemon, daemon.wait_sleep_stage("train")["pid"]


def test_kill_9_daemon_mid_sleep_then_restart(tiny_config: Config, sleepd_home: Path, tmp_path: Path) -> None:
    store, cfg, daemon, child = _daemon_in_a_long_training(tiny_config, sleepd_home, tmp_path)
    daemon.stop(signal.SIGKILL)
    end = time.monotonic() + 20
    while _alive(child) and time.monotonic() < end:
        time.sleep(0.1)
    assert not _alive(child), "the sleep process outlived the daemon"
    assert memory_of(tiny_config).current() is None
    assert {p.status for p in store.passages()} == {"pending"}

    cfg.write_text(cfg.read_text().replace("epochs = 2000", "epochs = 2"))
    daemon = RunningDaemon(tiny_config, tmp_path / "daemon2.log")  # the stale socket is replaced
    try:
        daemon.wait_ready()
        out = sleepd("sleep", "--json").stdout
        assert '"outcome": "version"' in out and '"version": 1' in out, out
        assert daemon.client.get("/status")["served_version"] == 1  # swapped in without a restart
        assert {p.status for p in store.passages()} == {"consolidated"}
    finally:
        assert daemon.stop() == 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead for our purposes
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def test_service_install_writes_a_unit_systemd_accepts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    proc = sleepd("service", "install")
    unit = tmp_path / "xdg" / "systemd" / "user" / "sleepd.service"
    text = unit.read_text()
    assert f"ExecStart={sys.executable} -m sleepd.daemon" in text
    assert f"Environment=SLEEPD_HOME={os.environ['SLEEPD_HOME']}" in text
    for line in (
        "Type=notify",
        "WatchdogSec=",
        "Restart=on-failure",
        "NoNewPrivileges=yes",
        "PYTHONUNBUFFERED=1",
        "ProtectSystem=strict",
        "ProtectHome=read-only",
        "PrivateTmp=yes",
        "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
        "SystemCallFilter=@system-service",
        "MemoryMax=",
        "CPUWeight=",
        "IOSchedulingClass=idle",
    ):
        assert line in text
    assert not re.search(r"@[A-Z_]+@", text)  # no placeholder left
    home = Path(os.environ["SLEEPD_HOME"]).resolve()
    writable = next(line for line in text.splitlines() if line.startswith("ReadWritePaths="))
    assert all(f"-{home / d}" in writable for d in ("data", "state", "run"))
    assert "wrote" in proc.stdout
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed here; the unit was not verified")
    # system mode: --user needs a running user manager, which CI containers lack
    verify = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True)
    assert verify.returncode == 0 and "sleepd.service" not in verify.stderr, verify.stderr
    # the exposure score of the user unit, offline (no user manager needed, only a runtime dir)
    runtime = tmp_path / "xdg-runtime"
    runtime.mkdir(mode=0o700)
    security = subprocess.run(
        ["systemd-analyze", "--user", "security", "--offline=true", str(unit)],
        capture_output=True,
        text=True,
        env={**os.environ, "XDG_RUNTIME_DIR": str(runtime)},
    )
    score = re.search(r"Overall exposure level for sleepd.service: ([0-9.]+)", security.stdout)
    if score is None:  # systemd older than 250 has no --offline
        pytest.skip(f"systemd-analyze security --offline did not run: {security.stderr.strip()[-200:]}")
    assert float(score.group(1)) <= 4.5, security.stdout[-3000:]
    sleepd("service", "uninstall")
    assert not unit.exists()


def test_sigterm_during_a_sleep_stops_it_cleanly(
    tiny_config: Config, sleepd_home: Path, tmp_path: Path
) -> None:
    store, cfg, daemon, child = _daemon_in_a_long_training(tiny_config, sleepd_home, tmp_path)
    assert daemon.stop(signal.SIGTERM) == 0, daemon.log.read_text()[-3000:]
    log = daemon.log.read_text()
    # it stopped itself at its next step (not killed by the daemon's fallback after 20 s)
    assert "sleep stopped" in log and "did not stop" not in log, log[-3000:]
    assert not _alive(child)
    assert memory_of(tiny_config).current() is None
    assert {p.status for p in store.passages()} == {"pending"}
    assert not tiny_config.paths.socket_path.exists()
