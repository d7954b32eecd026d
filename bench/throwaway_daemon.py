"""A real daemon in a throwaway SLEEPD_HOME, reusing the converted bundled model (for benchmarks)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEVSET = Path(__file__).resolve().parent.parent.parent / "shared" / "bench" / "devset" / "docs"


@dataclass
class Throwaway:
    home: Path
    env: dict[str, str]
    config: Any  # sleepd.storage.Config
    client: Any  # sleepd.cli.client.DaemonClient

    def ingest_devset(self, n: int = 8) -> None:
        """A few notes, so that a sleep has something to train on."""
        for f in sorted(DEVSET.rglob("*"))[:n]:
            if f.is_file():
                cmd = [sys.executable, "-m", "sleepd.cli.main", "ingest", str(f)]
                subprocess.run(cmd, env=self.env, capture_output=True)

    def sleep_until_training(self) -> None:
        self.client.post("/sleep")
        while (self.client.get("/status")["sleep"].get("progress") or {}).get("stage") != "train":
            time.sleep(0.5)


@contextmanager
def throwaway_daemon(config_toml: str) -> Iterator[Throwaway]:
    """``config_toml``: settings beside the model cache (e.g. a long sleep to chat during)."""
    from sleepd.cli.client import DaemonClient
    from sleepd.storage import load_config

    user_config = load_config()
    home = Path(tempfile.mkdtemp(prefix="sleepd-bench-"))
    (home / "config").mkdir()
    (home / "config" / "config.toml").write_text(
        f'[model]\ncache_dir = "{user_config.model_cache_dir}"\n' + config_toml
    )
    env = {**os.environ, "SLEEPD_HOME": str(home)}
    os.environ["SLEEPD_HOME"] = str(home)
    config = load_config()
    log = open(home / "daemon.log", "ab")  # noqa: SIM115
    daemon = subprocess.Popen(
        [sys.executable, "-m", "sleepd.cli.main", "daemon"], stdout=log, stderr=log, env=env
    )
    client = DaemonClient(config.paths.socket_path)
    try:
        while not client.is_up():
            assert daemon.poll() is None, (home / "daemon.log").read_text()[-2000:]
            time.sleep(0.2)
        yield Throwaway(home, env, config, client)
    finally:
        daemon.terminate()
        daemon.wait(60)
        log.close()
