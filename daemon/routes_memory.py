"""``/status``, ``/sleep``, ``/model/reload`` and ``/memory/...``: the daemon's state, its model and its
memory versions."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from sleepd.memory.versions import memory_of
from sleepd.storage.errors import SleepdError, VersionError

from .api_deps import DaemonDep
from .core import ModelBusyError

router = APIRouter()


class VersionIn(BaseModel):
    version: int = Field(ge=0)


class ForgetIn(BaseModel):
    path: str = Field(min_length=1, max_length=4096)
    undo: bool = False


@router.get("/status")
def status(daemon: DaemonDep) -> dict[str, Any]:
    return {
        **daemon.status(),
        **daemon.store.counts(),
        "memory_version": memory_of(daemon.config).current(),
    }


@router.post("/model/reload")
def model_reload(daemon: DaemonDep) -> dict[str, Any]:
    """Serve the model config.toml names now (written by `sleepd model use`)."""
    try:
        return daemon.use_model()
    except ModelBusyError as e:
        raise HTTPException(409, str(e)) from None
    except SleepdError as e:  # unloadable, or not a model: the old one serves on
        raise HTTPException(400, f"cannot load the model: {e}") from None


@router.post("/sleep")
def sleep(daemon: DaemonDep) -> dict[str, Any]:
    started = daemon.sleep_now("requested")
    return {"started": started, **daemon.sleeper.snapshot()}


@router.get("/memory")
def memory(daemon: DaemonDep) -> list[dict[str, Any]]:
    versions = memory_of(daemon.config)
    current = versions.current()
    return [
        {
            "version": v.id,
            "current": v.id == current,
            "passages": len(v.meta.get("passages", [])),
            "layers": len(v.meta.get("layers", [])),
            "final_loss": (v.meta.get("losses") or [None])[-1],
        }
        for v in versions.list()
    ]


@router.post("/memory/rollback")
def rollback(body: VersionIn, daemon: DaemonDep) -> dict[str, Any]:
    try:
        memory_of(daemon.config).set_current(body.version or None)
    except VersionError as e:
        raise HTTPException(404, str(e)) from None
    daemon.chat.swap_to(body.version or None)
    return {"serving": body.version or None}


@router.post("/memory/forget")
def forget(body: ForgetIn, daemon: DaemonDep) -> dict[str, Any]:
    path = daemon.store.resolve_source_path(body.path)
    if body.undo:
        if not daemon.store.unforget_source(path):
            raise HTTPException(404, f"{path} is not forgotten")
        return {"unforgotten": path}
    try:
        return {"forgotten": path, "passages": daemon.store.forget_source(path)}
    except LookupError as e:
        raise HTTPException(404, str(e)) from None
