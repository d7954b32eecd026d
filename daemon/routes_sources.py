"""``/sources``, ``/watch``, ``/watch/remove`` and ``/ingest``: what the daemon reads."""

from __future__ import annotations

import os
from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from .api_deps import DaemonDep

router = APIRouter()


class WatchIn(BaseModel):
    path: str = Field(min_length=1, max_length=4096)
    kind: str = Field(default="auto", pattern="^(auto|docs|chat)$")
    include: list[str] = []
    exclude: list[str] = []


class FolderIn(BaseModel):
    path: str = Field(min_length=1, max_length=4096)


class IngestIn(BaseModel):
    paths: list[str] = Field(min_length=1, max_length=10_000)
    kind: str = Field(default="auto", pattern="^(auto|docs|chat)$")


@router.get("/sources")
def sources(daemon: DaemonDep, status: str | None = None) -> list[dict[str, Any]]:
    if status not in (None, "ok", "skipped", "deleted"):
        raise HTTPException(400, "status must be ok, skipped or deleted")
    return [s.as_dict() for s in daemon.store.list_sources(status=status)]


@router.post("/watch")
def watch_add(body: WatchIn, daemon: DaemonDep) -> dict[str, Any]:
    try:
        folder = daemon.add_watch(body.path, body.kind, body.include, body.exclude)
    except ValueError as e:
        raise HTTPException(400, str(e)) from None
    return {"watching": folder}


@router.post("/watch/remove")
def watch_remove(body: FolderIn, daemon: DaemonDep) -> dict[str, Any]:
    folder = os.path.realpath(os.path.expanduser(body.path))
    if not daemon.remove_watch(folder):
        raise HTTPException(404, f"not watched: {folder}")
    return {"removed": folder}


@router.post("/ingest")
def ingest(body: IngestIn, daemon: DaemonDep) -> dict[str, Any]:
    """Read files or folders now, with the daemon's own ingestor (the one writer while it runs)."""
    from sleepd.ingest.ingestor import ingest_paths

    return ingest_paths(daemon.ingestor, body.paths, body.kind).as_dict()
