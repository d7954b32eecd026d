"""Include/exclude globs for watched folders, matched against the path relative to the folder.

Patterns follow .gitignore habits: one without a "/" matches a file or folder name at any depth
(``*.log``, ``.*``); one with a "/" matches the relative path, anchored at any depth
(``node_modules/**``). ``**`` spans folders, ``*`` and ``?`` stay inside one name.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache


@lru_cache(maxsize=512)
def _compile(pattern: str) -> re.Pattern[str]:
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    body = "".join(out)
    if "/" in pattern.rstrip("/"):
        return re.compile(f"(?:.*/)?{body}")
    return re.compile(f"(?:.*/)?{body}(?:/.*)?")  # a bare name: that file or anything under it


def matches(pattern: str, rel_path: str) -> bool:
    return _compile(pattern).fullmatch(rel_path) is not None


@dataclass(frozen=True)
class PathFilter:
    includes: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()

    @classmethod
    def build(
        cls, includes: Sequence[str], excludes: Sequence[str], default_excludes: Sequence[str]
    ) -> PathFilter:
        return cls(tuple(includes), tuple(default_excludes) + tuple(excludes))

    def excluded_dir(self, rel_dir: str) -> bool:
        """True if nothing under ``rel_dir`` can be wanted (lets a walk skip the folder)."""
        return any(matches(p, rel_dir) or matches(p, rel_dir + "/x") for p in self.excludes)

    def wanted(self, rel_path: str) -> bool:
        if any(matches(p, rel_path) for p in self.excludes):
            return False
        return not self.includes or any(matches(p, rel_path) for p in self.includes)
