"""The folder watcher: watchdog events in, debounced ingests out.

The watchdog handler only queues paths (it runs on watchdog's thread and must stay cheap). One
consumer thread waits until a path has been quiet for ``debounce_s`` (editors write a file in
several steps, or save by writing a temp file and renaming it over), then brings that path's record
up to date by looking at the disk as it is now: a file is (re)ingested, a new folder is scanned, a
path that no longer exists is marked deleted. Looking at the disk rather than replaying events makes
moves, renames and bursts simple, and means a missed event costs at most a late update.

At start every watched folder is reconciled against the DB, so what changed while sleepd was down
is picked up.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections import deque
from dataclasses import dataclass

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from sleepd.ingest.ingestor import Ingestor, IngestReport, Outcome, watch_covering
from sleepd.storage import Store
from sleepd.storage.sources import Watch

log = logging.getLogger(__name__)

# Reading a file ourselves produces these; they never mean a change.
_IGNORED_EVENTS = {"opened", "closed_no_write"}
_MAX_RETRIES = 5


@dataclass
class _Pending:
    due: float
    retries: int = 0


class _EnqueueHandler(FileSystemEventHandler):
    def __init__(self, q: queue.Queue[str]) -> None:
        self.q = q

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in _IGNORED_EVENTS:
            return
        # A folder's "modified" only says something inside it changed; that path has its own event.
        if event.is_directory and event.event_type == "modified":
            return
        for p in (event.src_path, getattr(event, "dest_path", "")):
            if p:
                self.q.put(os.fsdecode(p))


class FolderWatcher:
    """Watches every folder in the ``watches`` table; ``start()`` returns at once."""

    def __init__(self, store: Store, ingestor: Ingestor, debounce_s: float = 1.0) -> None:
        self.store = store
        self.ingestor = ingestor
        self.debounce_s = debounce_s
        self._queue: queue.Queue[str] = queue.Queue()
        self._pending: dict[str, _Pending] = {}
        self._stop = threading.Event()
        self._reconciled = threading.Event()
        self._observer = Observer()
        self._scheduled: dict[str, object] = {}
        self._watches: dict[str, Watch] = {}
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="sleepd-watch", daemon=True)
        # running totals since start, for status; only the latest skips (a daemon runs for months)
        self.report = IngestReport(skipped=deque(maxlen=200))
        self.busy = False

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        for watch in self.store.list_watches():
            self._schedule(watch)
        self._observer.start()
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._observer.stop()
        self._observer.join(timeout)
        self._thread.join(timeout)

    def add(self, watch: Watch) -> None:
        """Start watching a folder (already stored in the DB) and reconcile it."""
        self._schedule(watch)
        self._queue.put(watch.path)

    def remove(self, path: str) -> None:
        with self._lock:
            handle = self._scheduled.pop(path, None)
            self._watches.pop(path, None)
        if handle is not None:
            self._observer.unschedule(handle)  # type: ignore[arg-type]

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until the start-up reconcile is done and no path is waiting (used by tests)."""
        end = time.monotonic() + timeout
        self._reconciled.wait(timeout)
        while time.monotonic() < end:
            with self._lock:
                idle = not self._pending and self._queue.empty() and not self.busy
            if idle:
                return True
            time.sleep(0.05)
        return False

    def _schedule(self, watch: Watch) -> None:
        if not os.path.isdir(watch.path):
            log.warning("watched folder %s does not exist (yet); not watching it", watch.path)
            return
        with self._lock:
            self._watches[watch.path] = watch
            if watch.path not in self._scheduled:
                self._scheduled[watch.path] = self._observer.schedule(
                    _EnqueueHandler(self._queue), watch.path, recursive=True
                )

    # -- consumer ------------------------------------------------------------------------------

    def _watch_for(self, path: str) -> Watch | None:
        with self._lock:
            watches = list(self._watches.values())
        return watch_covering(watches, path)

    def _run(self) -> None:
        for watch in list(self._watches.values()):
            if self._stop.is_set():
                return
            self._reconcile(watch)
        self._reconciled.set()
        while not self._stop.is_set():
            self._drain(timeout=self._next_wait())
            now = time.monotonic()
            with self._lock:
                due = [p for p, item in self._pending.items() if item.due <= now]
            for path in due:
                if self._stop.is_set():
                    return
                self._process(path)

    def _next_wait(self) -> float:
        with self._lock:
            if not self._pending:
                return 0.5
            return max(0.0, min(item.due for item in self._pending.values()) - time.monotonic())

    def _drain(self, timeout: float) -> None:
        try:
            path = self._queue.get(timeout=max(timeout, 0.01))
        except queue.Empty:
            return
        now = time.monotonic()
        with self._lock:
            while True:
                item = self._pending.get(path)
                self._pending[path] = _Pending(now + self.debounce_s, item.retries if item else 0)
                try:
                    path = self._queue.get_nowait()
                except queue.Empty:
                    break

    def _reconcile(self, watch: Watch) -> None:
        try:
            report = self.ingestor.sync_folder(watch.path, watch, trust_stat=True)
        except Exception:
            log.exception("reconcile of %s failed; will retry on the next event", watch.path)
            return
        self.report.merge(report)
        log.info("reconciled %s: %s", watch.path, {k.value: v for k, v in report.counts.items() if v})

    def _process(self, path: str) -> None:
        with self._lock:
            item = self._pending.pop(path, None)
            self.busy = True
        try:
            watch = self._watch_for(path)
            if watch is None:
                return
            if path == watch.path:
                self._reconcile(watch)
                return
            rel = os.path.relpath(path, watch.path)
            filt = self.ingestor.filter_for(watch)
            if os.path.isdir(path) and not os.path.islink(path):
                if not filt.excluded_dir(rel):
                    self.report.merge(self.ingestor.sync_folder(path, watch, trust_stat=False))
            elif os.path.lexists(path):
                if filt.wanted(rel):
                    outcome, reason, added = self.ingestor.ingest_file(path, watch.kind)
                    self.report.add(path, outcome, reason, added)
                    log.debug(
                        "ingested %s: %s, %d new passages%s",
                        path,
                        outcome.value,
                        added,
                        f" ({reason})" if reason else "",
                    )
                else:
                    log.debug("ignored %s (excluded by the watch's patterns)", path)
            elif self.store.mark_deleted(path):
                self.report.add(path, Outcome.DELETED)
        except Exception as e:  # the DB busy or the disk full: try again later, never die
            retries = (item.retries if item else 0) + 1
            if retries <= _MAX_RETRIES:
                log.warning("ingest of %s failed (%s); retry %d/%d", path, e, retries, _MAX_RETRIES)
                with self._lock:
                    self._pending[path] = _Pending(time.monotonic() + 2.0**retries, retries)
            else:
                log.error("giving up on %s after %d tries: %s", path, _MAX_RETRIES, e)
        finally:
            with self._lock:
                self.busy = False
