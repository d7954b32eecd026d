"""Logs people can use: syslog priorities for journald, -v debug lines, a timestamped rotated file."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from sleepd.storage import Config

from .daemon_proc import RunningDaemon, sleepd


def _journal_daemon_lines(config: Config, tmp_path: Path, verbose: bool) -> list[str]:
    log = tmp_path / f"stderr-{verbose}.log"
    log.touch()
    st = os.stat(log)
    # systemd sets JOURNAL_STREAM to the device:inode of the stream it connects to stderr
    d = RunningDaemon(config, log, env={"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"}, verbose=verbose)
    client = d.wait_ready()
    list(client.chat({"message": "Hello there."}))
    assert d.stop() == 0
    return [line for line in log.read_text().splitlines() if line.strip()]


def test_journald_priorities_and_verbose_debug_lines(tiny_config: Config, tmp_path: Path) -> None:
    lines = _journal_daemon_lines(tiny_config, tmp_path, verbose=True)
    unprefixed = [line for line in lines if not re.match(r"<[0-7]>", line)]
    assert not unprefixed, unprefixed[:5]
    assert any(line.startswith("<6>") and "daemon ready" in line for line in lines)
    assert any(line.startswith("<7>") and "chat in session" in line for line in lines)

    quiet = _journal_daemon_lines(tiny_config, tmp_path, verbose=False)
    assert quiet and not any(line.startswith("<7>") for line in quiet)


def test_cli_verbose_shows_debug_lines(tiny_config: Config, tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "a.md").write_text("The spare key is under the blue pot.")
    assert "DEBUG" not in sleepd("ingest", str(notes)).stderr
    (notes / "b.md").write_text("The gate code is 4471.")
    assert "DEBUG sleepd" in sleepd("-v", "ingest", str(notes)).stderr


def test_detached_log_is_timestamped_rotated_and_catches_raw_stderr(tmp_path: Path) -> None:
    code = f"""
import logging, sys
from pathlib import Path
from sleepd.storage.logs import FollowedLogFile, configure_logging
configure_logging(base_level=logging.INFO, log_file=Path({str(tmp_path / "daemon.log")!r}))
root = logging.getLogger()
old = root.handlers[0]
root.removeHandler(old); old.close()
small = FollowedLogFile(Path({str(tmp_path / "daemon.log")!r}), max_bytes=2000)
small.setFormatter(old.formatter); root.addHandler(small)
for i in range(100):
    logging.getLogger("sleepd.test").info("line %d", i)
print("raw traceback text", file=sys.stderr, flush=True)
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    live = (tmp_path / "daemon.log").read_text()
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO sleepd.test: line \d+", live)
    assert "raw traceback text" in live  # fd 2 follows the live file after rotations
    assert (tmp_path / "daemon.log.1").exists() and not (tmp_path / "daemon.log.4").exists()
    assert "line 99" in live
