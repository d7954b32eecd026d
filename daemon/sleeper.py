"""Running a sleep beside the chat: in a child process with its own model copy.

The child (spawned, never forked: the parent has torch threads and an event loop) runs
``memory.sleeping.rounds.run_sleep_rounds`` (one sleep, in rounds while its budget lasts) and
sends progress over a queue; a thread in the daemon turns that into the state ``status`` shows
and, when a version is written, calls ``on_version`` (the hot swap).
The child dies with the daemon (PR_SET_PDEATHSIG), and stopping it is always safe: versions are
written atomically, and passages are marked consolidated only with the version that holds them.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing as mp
import os
import queue
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

from sleepd.storage.config import Config
from sleepd.storage.logs import configure_logging

log = logging.getLogger(__name__)


def _die_with_parent() -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the should_stop check below still ends us
        pass


def _yield_to_chat() -> None:
    """Training gives way to the chat: lowest CPU priority, and one core left to the daemon."""
    import torch

    os.nice(19)
    torch.set_num_threads(max(1, (os.cpu_count() or 2) - 1))


def _sleep_child(config: Config, q: Any, stop: Any, parent: int, verbose: bool) -> None:
    _die_with_parent()
    _yield_to_chat()
    configure_logging(verbose, base_level=logging.INFO, tag="sleep")
    from sleepd.memory.sleeping.pipeline import GateRejected, NothingToConsolidate
    from sleepd.memory.sleeping.rounds import run_sleep_rounds
    from sleepd.storage import Store, open_engine

    store = Store(open_engine(config))

    def progress(stage: str, done: int, total: int, extra: dict[str, Any]) -> None:
        q.put(("progress", {"stage": stage, "done": done, "total": total, **extra}))

    try:
        r = run_sleep_rounds(
            config, store, progress, should_stop=lambda: stop.is_set() or os.getppid() != parent
        )
        q.put(("version", {k: v for k, v in r.summary().items() if k != "outcome"}))
    except NothingToConsolidate as e:
        q.put(("nothing", {"message": str(e)}))
    except GateRejected as e:
        q.put(("rejected", {"message": str(e)}))
    except InterruptedError:
        q.put(("stopped", {"message": "stopped; passages stay pending"}))
    except Exception as e:  # reported to the daemon; the previous version stays served
        log.exception("sleep failed")
        q.put(("failed", {"message": f"{type(e).__name__}: {e}"}))


class SleepRunner:
    def __init__(self, config: Config, on_version: Callable[[int], None]) -> None:
        self.config = config
        self.on_version = on_version
        self._ctx = mp.get_context("spawn")
        self._lock = threading.Lock()
        self._proc: Any = None
        self._stop: Any = None
        self._follower: threading.Thread | None = None
        self.progress: dict[str, Any] = {}
        self.last: dict[str, Any] | None = None  # outcome of the last sleep
        self.started_at: float | None = None
        self.reason = ""

    @property
    def running(self) -> bool:
        with self._lock:
            return self._proc is not None

    def start(self, reason: str) -> bool:
        """Start a sleep unless one is running; returns whether one was started."""
        with self._lock:
            if self._proc is not None:
                return False
            self._proc = "starting"  # taken: a second start() waits its turn
            self.progress = {"stage": "starting"}
            self.started_at = time.time()
            self.reason = reason
        started = threading.Event()
        # The child is started from the thread that follows it: PR_SET_PDEATHSIG fires when the
        # *thread* that forked it ends, and a request handler's worker thread ends at any time.
        follower = threading.Thread(
            target=self._launch_and_follow, args=(started,), name="sleep-follow", daemon=True
        )
        self._follower = follower
        follower.start()
        started.wait(60)
        return True

    def _launch_and_follow(self, started: threading.Event) -> None:
        q = self._ctx.Queue()
        self._stop = self._ctx.Event()
        proc = self._ctx.Process(
            target=_sleep_child,
            args=(self.config, q, self._stop, os.getpid(), log.isEnabledFor(logging.DEBUG)),
            name="sleepd-sleep",
        )
        try:
            proc.start()
        except Exception:
            log.exception("could not start the sleep process")
            with self._lock:
                self._proc = None
            started.set()
            return
        with self._lock:
            self._proc = proc
        started.set()
        log.info("sleep started (%s), pid %d", self.reason, proc.pid)
        self._follow(proc, q)

    def _follow(self, proc: Any, q: Any) -> None:
        outcome: tuple[str, dict[str, Any]] | None = None
        while True:
            try:
                kind, data = q.get(timeout=0.5)
            except queue.Empty:
                if not proc.is_alive():
                    break
                continue
            if kind == "progress":
                self.progress = data
            else:
                outcome = (kind, data)
        proc.join()
        if outcome is None:
            outcome = ("failed", {"message": f"sleep process ended with exit code {proc.exitcode}"})
        kind, data = outcome
        if kind == "version":  # still "running" until the daemon serves it: status never lies
            self.progress = {"stage": "swap", "done": 0, "total": 1}
            try:
                self.on_version(int(data["version"]))
            except Exception as e:  # the new version stays on disk; the old one keeps serving
                log.exception("could not switch to memory version %s", data["version"])
                data = {**data, "message": f"written but not served: {type(e).__name__}: {e}"}
        self.last = {"outcome": kind, "finished_at": time.time(), "reason": self.reason, **data}
        log.info("sleep %s: %s", kind, data)
        with self._lock:
            self._proc = None
            self.progress = {}

    def stop(self, timeout: float = 20.0) -> None:
        """Ask the sleep to stop at its next training step; kill it if it does not in time."""
        with self._lock:
            proc, stop = self._proc, self._stop
        if proc is None or isinstance(proc, str):
            return
        stop.set()
        proc.join(timeout)
        if proc.is_alive():
            log.warning("sleep did not stop in %.0f s; killing it (its passages stay pending)", timeout)
            proc.kill()
            proc.join(5)
        # The follower records (and logs) how the sleep ended; a daemon shutting down right after
        # would otherwise exit before it does, leaving no outcome in the journal.
        follower = self._follower
        if follower is not None and follower is not threading.current_thread():
            follower.join(5)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            running = self._proc is not None
            pid = getattr(self._proc, "pid", None)
        return {
            "running": running,
            "pid": pid,
            "progress": dict(self.progress) if running else None,
            "started_at": self.started_at if running else None,
            "last": self.last,
        }
