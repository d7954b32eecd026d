"""The daemon's parts wired together: store, warm model, watcher, sleep runner and scheduler.

``Daemon`` is what the local API calls into; ``daemon.process`` owns its lifecycle (start-up,
systemd notifications, the socket, shutdown).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sleepd.ingest.ingestor import check_watchable, make_ingestor
from sleepd.memory.switch import align_buffer, model_key
from sleepd.models.tokens import load_token_counter
from sleepd.storage import Store, open_engine
from sleepd.storage.config import Config, load_config
from sleepd.storage.errors import SleepdError

from .serving import ChatService
from .sleeper import SleepRunner
from .watch import FolderWatcher

log = logging.getLogger(__name__)


class ModelBusyError(SleepdError, RuntimeError):
    """The model cannot be switched now (a sleep is training it)."""


class ModelLoadError(SleepdError, RuntimeError):
    """The model config.toml names could not be loaded (the one before serves on)."""


class Daemon:
    def __init__(self, config: Config, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.clock = clock  # wall-clock seconds: the idle trigger's (a test passes its own)
        self.engine = open_engine(config)
        self.store = Store(self.engine)
        self.chat = ChatService(config, self.store)
        self.sleeper = SleepRunner(config, self._on_new_version)
        self.watcher: FolderWatcher | None = None
        self.scheduler: Any = None
        self.started_at = time.time()
        self.state = "starting"
        self.precision: dict[str, Any] = {}
        self.device = "cpu"  # where chat and sleep run (model.device resolved at start)

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        self.state = "loading model"
        align_buffer(self.config, self.store)  # config.toml names another model than last time
        self.chat.load()
        self._serve(self.config, self.chat)
        self.watcher = FolderWatcher(self.store, self.ingestor, self.config.watch.debounce_s)
        self.watcher.start()
        self.scheduler = self._start_scheduler()
        self.state = "serving"

    def use_model(self) -> dict[str, Any]:
        """Re-read config.toml and serve the model it names now (``sleepd model use``). The new
        model loads beside the old one, which serves until it is ready; a load that fails leaves
        the old one serving and the old config in force (the error is the caller's)."""
        if self.sleeper.running:
            raise ModelBusyError("a sleep is running on the current model; switch after it ends")
        config = load_config(self.config.paths)
        chat = ChatService(config, self.store)
        try:
            chat.load()
        except Exception as e:  # any loader's error (a bad header, an unknown layer): one line
            log.exception("cannot load %s", model_key(config))
            raise ModelLoadError(f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}") from e
        chat.last_chat_at = self.chat.last_chat_at
        pending = align_buffer(config, self.store)
        self._serve(config, chat)
        log.info("now serving %s (memory version %s)", model_key(config), chat.version)
        return {"model": model_key(config), "served_version": chat.version, "pending": pending}

    def _serve(self, config: Config, chat: ChatService) -> None:
        """Serve ``chat`` (loaded) under ``config``: the sleeper, the number formats and the
        ingestor (its token counter is the model's) follow it."""
        self.config, self.chat = config, chat
        self.sleeper.config = config
        self.precision = self._precision()
        self.ingestor = make_ingestor(self.store, config, load_token_counter(config))
        if self.watcher is not None:
            self.watcher.ingestor = self.ingestor

    def _precision(self) -> dict[str, Any]:
        """Each use's number format and why; the training probe runs here once, so the sleep child
        finds it cached."""
        from sleepd.models.precision import resolve, resolve_device, serving_precision

        device = self.device = resolve_device(self.config.model.device)
        chosen = {
            "serve": serving_precision(self.config),
            "sleep": resolve(self.config.sleep.dtype, "train", self.config.paths.state_dir, device=device),
        }
        for use, p in chosen.items():
            log.info("%s in %s: %s", use, p.dtype, p.reason)
        return {use: p.as_dict() for use, p in chosen.items()}

    def stop(self) -> None:
        self.state = "stopping"
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
        self.sleeper.stop()
        if self.watcher is not None:
            self.watcher.stop()
        self.engine.dispose()

    def _start_scheduler(self) -> Any:
        from apscheduler.schedulers.background import BackgroundScheduler
        from apscheduler.triggers.cron import CronTrigger

        cfg = self.config.sleep
        logging.getLogger("apscheduler").setLevel(logging.WARNING)  # one line per job run otherwise
        scheduler = BackgroundScheduler(job_defaults={"coalesce": True, "max_instances": 1})
        scheduler.add_job(
            self.sleep_now,
            CronTrigger.from_crontab(cfg.cron),
            args=["schedule"],
            id="cron",
            misfire_grace_time=3600,
        )
        scheduler.add_job(self.sleep_if_idle, "interval", minutes=1, id="idle")
        scheduler.start()
        return scheduler

    # -- sleeping ------------------------------------------------------------------------------

    def sleep_now(self, reason: str = "requested") -> bool:
        return self.sleeper.start(reason)

    def sleep_if_idle(self) -> None:
        cfg = self.config.sleep
        idle_s = self.clock() - self.chat.last_chat_at
        if idle_s < cfg.idle_minutes * 60 or self.sleeper.running:
            return
        counts = self.store.counts()["passages"]
        pending = counts.get("pending", 0) - counts.get("held", 0)  # held ones would teach nothing
        if pending >= cfg.min_pending_passages:
            self.sleep_now(f"idle {idle_s / 60:.0f} min, {pending} pending passages")

    def _on_new_version(self, version: int) -> None:
        self.chat.swap_to(version)

    # -- watches -------------------------------------------------------------------------------

    def add_watch(
        self, path: str, kind: str = "auto", includes: Sequence[str] = (), excludes: Sequence[str] = ()
    ) -> str:
        folder = check_watchable(path)
        watch = self.store.add_watch(folder, kind, includes, excludes)
        if self.watcher is not None:
            self.watcher.add(watch)
        return folder

    def remove_watch(self, path: str) -> bool:
        if self.watcher is not None:
            self.watcher.remove(path)
        return self.store.remove_watch(path)

    # -- status --------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        job = self.scheduler.get_job("cron") if self.scheduler is not None else None
        next_run: datetime | None = getattr(job, "next_run_time", None)
        last = self.sleeper.last
        return {
            "daemon": {
                "state": self.state,
                "pid": _pid(),
                "uptime_s": round(time.time() - self.started_at, 1),
            },
            "served_version": self.chat.version,
            "precision": self.precision,
            "device": self.device,
            "model": model_key(self.config),
            "swapped_at": self.chat.swapped_at,
            "sleep": {
                **self.sleeper.snapshot(),
                "next_scheduled": next_run.isoformat() if next_run else None,
                "last_finished": datetime.fromtimestamp(last["finished_at"]).isoformat() if last else None,
            },
            "watcher": {
                "folders": [w.path for w in self.store.list_watches()],
                "busy": bool(self.watcher and self.watcher.busy),
            },
            "idle_s": round(time.time() - self.chat.last_chat_at, 1),
        }


def _pid() -> int:
    import os

    return os.getpid()
