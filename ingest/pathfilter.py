"""Which files of a watched folder are read: include/exclude patterns and the folder's ``.gitignore``.

Patterns have gitignore semantics (through ``pathspec``, as git itself reads them), matched against
the path relative to the watched folder: ``*.log`` matches at any depth, ``build/`` a folder at any
depth, ``/drafts`` only at the top, ``docs/**/*.md`` spans folders, ``!keep.log`` re-includes.
A ``.gitignore`` in the watched folder or any folder below it applies to that folder's contents, as in
git; it is re-read when it changes.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from pathspec import GitIgnoreSpec


@lru_cache(maxsize=256)
def _spec(patterns: tuple[str, ...]) -> GitIgnoreSpec:
    return GitIgnoreSpec.from_lines(patterns)


@lru_cache(maxsize=1024)
def _gitignore(path: str, mtime_ns: int) -> GitIgnoreSpec | None:
    """The spec of one .gitignore file (keyed by mtime, so an edit is seen)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return None
    return _spec(tuple(lines)) if any(ln.strip() and not ln.startswith("#") for ln in lines) else None


@dataclass(frozen=True)
class PathFilter:
    includes: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()
    root: str | None = None  # the watched folder, whose .gitignore files apply

    @classmethod
    def build(
        cls,
        includes: Sequence[str],
        excludes: Sequence[str],
        default_excludes: Sequence[str],
        root: str | None = None,
    ) -> PathFilter:
        return cls(tuple(includes), tuple(default_excludes) + tuple(excludes), root)

    def _ignored_by_git(self, rel_path: str, is_dir: bool) -> bool:
        """Whether a .gitignore between the root and ``rel_path`` ignores it (deepest file wins)."""
        if self.root is None:
            return False
        parts = rel_path.strip("/").split("/")
        verdict = False
        for depth in range(len(parts)):
            folder = os.path.join(self.root, *parts[:depth])
            gi = os.path.join(folder, ".gitignore")
            try:
                mtime = os.stat(gi).st_mtime_ns
            except OSError:
                continue
            spec = _gitignore(gi, mtime)
            if spec is None:
                continue
            below = "/".join(parts[depth:]) + ("/" if is_dir else "")
            result = spec.check_file(below)
            if result.include is not None:
                verdict = bool(result.include)
        return verdict

    def excluded_dir(self, rel_dir: str) -> bool:
        """True if nothing under ``rel_dir`` can be wanted (lets a walk skip the folder)."""
        rel_dir = rel_dir.strip("/")
        return _spec(self.excludes).match_file(rel_dir + "/") or self._ignored_by_git(rel_dir, True)

    def wanted(self, rel_path: str) -> bool:
        if _spec(self.excludes).match_file(rel_path) or self._ignored_by_git(rel_path, False):
            return False
        return not self.includes or _spec(self.includes).match_file(rel_path)
