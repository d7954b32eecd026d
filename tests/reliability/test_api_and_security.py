"""The daemon under malformed requests, and who can reach it: a clear 4xx for each bad request, the
daemon still up afterwards; private socket, files and logs; no TCP port unless configured."""

from __future__ import annotations

import os
import socket
import stat
from pathlib import Path

import httpx
import pytest

from sleepd.storage import Config, NewPassage, Store, open_engine
from tests.daemon.daemon_proc import RunningDaemon, sleepd

from .figures import record

SECRET = "Hedgehog-Pin 90210 belongs to Quintessa Vale"


@pytest.fixture
def daemon(tiny_config: Config, tmp_path: Path):  # type: ignore[no-untyped-def]
    store = Store(open_engine(tiny_config))
    sid = store.upsert_source("/notes/secret.md")
    store.add_passages(sid, [NewPassage(SECRET, 12)])
    d = RunningDaemon(tiny_config, tmp_path / "daemon.log")
    d.wait_ready()
    yield d
    assert d.stop() == 0


def _raw(config: Config, method: str, path: str, **kw: object) -> httpx.Response:
    with httpx.Client(
        transport=httpx.HTTPTransport(uds=str(config.paths.socket_path)), base_url="http://sleepd", timeout=60
    ) as c:
        return c.request(method, path, **kw)  # type: ignore[arg-type]


BAD_REQUESTS = [
    ("POST", "/chat", {"content": b"{not json", "headers": {"content-type": "application/json"}}, 422),
    ("POST", "/chat", {"json": {}}, 422),
    ("POST", "/chat", {"json": {"message": ""}}, 422),
    ("POST", "/chat", {"json": {"message": "hi", "session_id": 4242}}, 404),
    ("POST", "/chat", {"json": {"message": "x" * 2_000_000}}, 413),
    ("POST", "/watch", {"json": {"path": "/proc"}}, 400),
    ("POST", "/watch", {"json": {"path": "/"}}, 400),
    ("POST", "/watch", {"json": {"path": "/no/such/folder"}}, 400),
    ("POST", "/watch", {"json": {"path": "/tmp", "kind": "bogus"}}, 422),
    ("POST", "/watch/remove", {"json": {"path": "/never/watched"}}, 404),
    ("POST", "/memory/rollback", {"json": {"version": 99}}, 404),
    ("POST", "/memory/rollback", {"json": {"version": -1}}, 422),
    ("POST", "/memory/forget", {"json": {"path": "/never/ingested.md"}}, 404),
    ("GET", "/sources", {"params": {"status": "weird"}}, 400),
    ("GET", "/nope", {}, 404),
]


def test_malformed_requests_get_clear_errors_and_the_daemon_stays_up(daemon: RunningDaemon) -> None:
    for method, path, kw, code in BAD_REQUESTS:
        r = _raw(daemon.config, method, path, **kw)
        assert r.status_code == code, (method, path, r.status_code, r.text[:300])
        detail = r.json().get("detail")
        assert detail, (path, r.text[:200])
        if isinstance(detail, str):
            assert "\n" not in detail and "Traceback" not in detail
    assert _raw(daemon.config, "GET", "/status").status_code == 200
    assert daemon.proc.poll() is None
    record("bad_inputs_tried", len(BAD_REQUESTS), add=True)


def test_private_socket_files_and_no_tcp_port(daemon: RunningDaemon, tiny_config: Config) -> None:
    paths = tiny_config.paths
    assert stat.S_IMODE(paths.socket_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(paths.runtime_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(tiny_config.db_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(tiny_config.db_path.parent.stat().st_mode) == 0o700
    # no TCP listener of the daemon's (sockets in LISTEN state, 0A, owned by its fds)
    inodes = set()
    for fd in Path(f"/proc/{daemon.proc.pid}/fd").iterdir():
        target = os.readlink(fd)
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if Path(table).exists():
            for line in Path(table).read_text().splitlines()[1:]:
                cols = line.split()
                assert not (cols[3] == "0A" and cols[9] in inodes), f"daemon listens on TCP: {line}"


def test_another_user_cannot_connect(daemon: RunningDaemon, tiny_config: Config) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to run a probe as another uid; the socket mode (0600) is checked above")
    pid = os.fork()
    if pid == 0:  # the child becomes 'nobody' and tries the socket
        code = 3
        try:
            os.setgid(65534)
            os.setuid(65534)
            with socket.socket(socket.AF_UNIX) as s:
                s.connect(str(tiny_config.paths.socket_path))
            code = 2
        except PermissionError:
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "another uid could connect (2) or the probe failed (3)"


def test_no_note_text_in_logs_at_default_level(daemon: RunningDaemon) -> None:
    sleepd("chat", "What is Quintessa Vale's pin?")
    sleepd("sleep", "--json")
    log = daemon.log.read_text(errors="replace")
    assert "Quintessa" not in log and "90210" not in log
