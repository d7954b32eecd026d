"""Memory versions on disk: one directory per consolidated version, a ``current`` pointer.

Layout under ``<data_dir>/memory``::

    versions/0001/      adapter weights + meta.json (+ report.md)
    versions/0002/
    current -> versions/0002

A version is written to a temp directory, fsynced, then renamed into place; ``current`` is a symlink
replaced with ``os.replace``. A crash at any point therefore leaves either the old or the new version
current, never half of one; leftover temp directories are removed at the next start.

Retention (``prune``): the current version, the ``keep`` newest others and every pinned one (a
``pinned`` file in its directory) stay; each version's adapter is whole (a sleep continues the
current one), so no kept version needs a pruned one.
"""

from __future__ import annotations

import builtins  # VersionStore.list hides the builtin inside the class
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sleepd.models.identity import model_slug
from sleepd.storage.config import Config
from sleepd.storage.errors import VersionError

META = "meta.json"
PIN = "pinned"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(path: Path) -> None:
    for p in path.rglob("*"):
        if p.is_file():
            with open(p, "rb") as fh:
                os.fsync(fh.fileno())
    _fsync_dir(path)


@dataclass(frozen=True)
class VersionInfo:
    id: int
    path: Path
    meta: dict[str, Any]


class VersionStore:
    def __init__(self, data_dir: Path, root: Path | None = None) -> None:
        self.root = root or data_dir / "memory"
        self.versions = self.root / "versions"
        self.pointer = self.root / "current"

    def ensure(self) -> None:
        self.versions.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.root, 0o700)

    def cleanup_partial(self) -> list[str]:
        """Remove temp directories a crash left behind; return their names."""
        removed = []
        if self.versions.exists():
            for p in self.versions.iterdir():
                if p.name.startswith(".tmp-"):
                    shutil.rmtree(p, ignore_errors=True)
                    removed.append(p.name)
        return removed

    def path_of(self, version: int) -> Path:
        return self.versions / f"{version:04d}"

    def is_complete(self, version: int) -> bool:
        return (self.path_of(version) / META).is_file()

    def ids(self) -> list[int]:
        if not self.versions.exists():
            return []
        return sorted(
            int(p.name) for p in self.versions.iterdir() if p.name.isdigit() and (p / META).is_file()
        )

    def next_id(self, at_least: int = 1) -> int:
        existing = (
            [int(p.name) for p in self.versions.iterdir() if p.name.isdigit()]
            if self.versions.exists()
            else []
        )
        return max([at_least - 1, *existing]) + 1

    def write(self, version: int, save: Callable[[Path], None], meta: dict[str, Any]) -> Path:
        """Write version ``version`` atomically: ``save(tmp_dir)`` writes the weights."""
        self.ensure()
        final = self.path_of(version)
        if final.exists():
            raise FileExistsError(f"memory version {version} already exists")
        tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{version:04d}-", dir=self.versions))
        try:
            save(tmp)
            (tmp / META).write_text(json.dumps({"version": version, **meta}, indent=2, default=str))
            for p in tmp.rglob("*"):
                os.chmod(p, 0o700 if p.is_dir() else 0o600)
            _fsync_tree(tmp)
            os.rename(tmp, final)
            _fsync_dir(self.versions)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return final

    def set_current(self, version: int | None) -> None:
        """Point ``current`` at ``version`` (None: the base model) in one atomic rename."""
        self.ensure()
        if version is not None and not self.is_complete(version):
            raise VersionError(f"memory version {version} is missing or incomplete")
        tmp_link = self.root / f".current-{os.getpid()}"
        if tmp_link.is_symlink() or tmp_link.exists():
            tmp_link.unlink()
        if version is None:
            if self.pointer.is_symlink():
                self.pointer.unlink()
            return
        os.symlink(Path("versions") / f"{version:04d}", tmp_link)
        os.replace(tmp_link, self.pointer)
        _fsync_dir(self.root)

    def current(self) -> int | None:
        if not self.pointer.is_symlink():
            return None
        name = os.readlink(self.pointer)
        try:
            version = int(Path(name).name)
        except ValueError:
            return None
        return version if self.is_complete(version) else None

    def info(self, version: int) -> VersionInfo:
        path = self.path_of(version)
        return VersionInfo(version, path, json.loads((path / META).read_text()))

    def list(self) -> list[VersionInfo]:
        return [self.info(v) for v in self.ids()]

    def is_pinned(self, version: int) -> bool:
        return (self.path_of(version) / PIN).exists()

    def pin(self, version: int, pinned: bool = True) -> None:
        """Keep ``version`` through every prune (``pinned=False``: let retention take it again)."""
        if not self.is_complete(version):
            raise VersionError(f"no memory version {version}")
        marker = self.path_of(version) / PIN
        if pinned:
            marker.touch(mode=0o600)
        else:
            marker.unlink(missing_ok=True)

    def prunable(self, keep: int) -> builtins.list[int]:
        """Versions retention would remove: not current, not pinned, not among the ``keep`` newest
        other versions."""
        current = self.current()
        others = [v for v in reversed(self.ids()) if v != current and not self.is_pinned(v)]
        return sorted(others[max(keep, 0) :])

    def prune(self, keep: int) -> builtins.list[int]:
        """Remove what ``prunable(keep)`` names; each directory is renamed to a temp name first, so a
        crash leaves no half version (``cleanup_partial`` finishes the removal)."""
        removed = []
        for version in self.prunable(keep):
            doomed = self.versions / f".tmp-pruned-{version:04d}"
            os.rename(self.path_of(version), doomed)
            shutil.rmtree(doomed, ignore_errors=True)
            removed.append(version)
        if removed:
            _fsync_dir(self.versions)
        return removed

    def disk_bytes(self) -> int:
        return (
            sum(p.stat().st_size for p in self.versions.rglob("*") if p.is_file())
            if self.versions.exists()
            else 0
        )


def memory_of(config: Config) -> VersionStore:
    """This base model's memory versions. Each model's are kept apart (an adapter fits only the model
    it was trained on): the bundled model's under <data>/memory, where they always were, another's
    under <data>/memory-of/<model>."""
    name = config.model.name_or_path
    if not name:
        return VersionStore(config.paths.data_dir)
    return VersionStore(config.paths.data_dir, root=config.paths.data_dir / "memory-of" / model_slug(name))
