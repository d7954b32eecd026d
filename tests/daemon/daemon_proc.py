"""Running the real daemon as a subprocess in a test's SLEEPD_HOME."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sleepd.cli.client import DaemonClient
from sleepd.storage import Config


def sleepd(*args: str, check: bool = True, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "sleepd.cli.main", *args], capture_output=True, text=True, timeout=timeout
    )
    if check:
        assert proc.returncode == 0, (proc.stdout[-1000:], proc.stderr[-2000:])
    return proc


class RunningDaemon:
    def __init__(
        self, config: Config, log: Path, env: dict[str, str] | None = None, verbose: bool = False
    ) -> None:
        self.config = config
        self.log = log
        self._log = open(log, "ab")  # noqa: SIM115  (closed in stop())
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sleepd.cli.main", *(["-v"] if verbose else []), "daemon"],
            stdout=self._log,
            stderr=self._log,
            env={**os.environ, **(env or {})},
        )
        self.client = DaemonClient(config.paths.socket_path)

    def wait_ready(self, timeout: float = 300) -> DaemonClient:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            assert self.proc.poll() is None, self.log.read_text()[-3000:]
            if self.client.is_up():
                return self.client
            time.sleep(0.1)
        raise AssertionError(f"daemon not ready in {timeout} s: {self.log.read_text()[-3000:]}")

    def wait_sleep_stage(self, stage: str, min_done: int = 1, timeout: float = 600) -> dict:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            sleep = self.client.get("/status")["sleep"]
            p = sleep.get("progress") or {}
            if p.get("stage") == stage and p.get("done", 0) >= min_done:
                return sleep
            # not running and no outcome yet: the request is still on its way (a CLI starting up)
            assert sleep["running"] or not sleep.get("last"), f"sleep ended before stage {stage}: {sleep}"
            time.sleep(0.2)
        raise AssertionError(f"sleep never reached {stage}")

    def wait_sleep_done(self, timeout: float = 900) -> dict:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            sleep = self.client.get("/status")["sleep"]
            if not sleep["running"] and sleep.get("last"):
                return sleep["last"]
            time.sleep(0.5)
        raise AssertionError("sleep did not finish")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        finally:
            self._log.close()
