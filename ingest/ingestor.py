"""Reading files and folders into the buffer: one file at a time, nothing lost, nothing crashing.

``Ingestor.ingest_file`` never raises for a bad file: it returns what happened, and a file that can't
be read is recorded as ``skipped`` with a one-line reason. Two kinds of skip differ on purpose:
- the *content* is unusable (empty, binary, no text): the file's earlier passages are superseded,
  as the notes they held are gone;
- the file can't be *read* (permission, too large, symlink loop): earlier passages stay, because a
  read error is not a deletion.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import stat
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from sleepd.storage import ChatState, NewPassage, Store
from sleepd.storage.config import Config, WatchConfig
from sleepd.storage.sources import SourceState, Watch

from .chunking import Chunk, CountTokens, make_passages
from .parsers import Parsed, parse_bytes
from .pathfilter import PathFilter
from .units import Unit

log = logging.getLogger(__name__)


class Outcome(StrEnum):
    NEW = "new"
    CHANGED = "changed"
    UNCHANGED = "unchanged"
    SKIPPED = "skipped"
    DELETED = "deleted"
    IGNORED = "ignored"  # excluded by a filter, or vanished before we ever saw it


@dataclass
class IngestReport:
    counts: dict[Outcome, int] = field(default_factory=lambda: dict.fromkeys(Outcome, 0))
    skipped: list[tuple[str, str]] | deque[tuple[str, str]] = field(default_factory=list)
    passages_added: int = 0

    def add(self, path: str, outcome: Outcome, reason: str | None = None, added: int = 0) -> None:
        self.counts[outcome] += 1
        self.passages_added += added
        if outcome is Outcome.SKIPPED:
            self.skipped.append((path, reason or ""))

    def merge(self, other: IngestReport) -> None:
        for k, v in other.counts.items():
            self.counts[k] += v
        self.skipped.extend(other.skipped)
        self.passages_added += other.passages_added

    def as_dict(self) -> dict[str, object]:
        return {
            **{k.value: v for k, v in self.counts.items()},
            "passages_added": self.passages_added,
            "skipped_files": [{"path": p, "reason": r} for p, r in self.skipped],
        }


Progress = Callable[[str], None]
FileResult = tuple[Outcome, str | None, int]  # (outcome, skip reason, passages added)
# what a caller shows while a path is read: (label) -> (one file done, total files known)
Track = Callable[[str], tuple[Progress, Callable[[int], None]]]
_LOOK_UP = object()


def os_reason(e: OSError) -> str:
    if e.errno == errno.ELOOP:
        return "symlink loop"
    if e.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    return f"cannot read: {e.strerror or type(e).__name__}"


def _human(n: float) -> str:
    return f"{n / 1024 / 1024:.1f} MB"


FORGOTTEN_REASON = "forgotten on request ('sleepd memory forget --undo PATH' learns it again)"


class Ingestor:
    def __init__(self, store: Store, config: WatchConfig, count_tokens: CountTokens) -> None:
        self.store = store
        self.config = config
        self.count_tokens = count_tokens

    def filter_for(self, watch: Watch | None) -> PathFilter:
        if watch is None:
            return PathFilter.build((), (), self.config.default_excludes)
        return PathFilter.build(watch.includes, watch.excludes, self.config.default_excludes, watch.path)

    # -- one file ------------------------------------------------------------------------------

    def ingest_file(
        self,
        path: str,
        kind: str = "auto",
        known: SourceState | None | object = _LOOK_UP,
        *,
        trust_stat: bool = False,
    ) -> FileResult:
        """Bring one file's record up to date. Returns (outcome, skip reason, passages added).

        ``trust_stat``: an unchanged (mtime, size) means unchanged content, so the file isn't read
        (the start-up reconcile of a large folder); events from the watcher always re-hash.
        Each step returns its outcome when it settles the file, else what the next step needs.
        """
        path = os.path.abspath(path)
        if known is _LOOK_UP:  # callers walking a folder pass what they already fetched
            known = self.store.source_states(path).get(path)
        assert known is None or isinstance(known, SourceState)
        if self.store.is_forgotten(path):
            return self._forgotten(path, known, kind)
        st = self._stat(path, known, kind)
        if not isinstance(st, os.stat_result):
            return st
        was_ok = known is not None and known.status == "ok"
        if trust_stat and was_ok and known.mtime == st.st_mtime and known.size == st.st_size:  # type: ignore[union-attr]
            return Outcome.UNCHANGED, None, 0
        data = self._read(path, st, known, kind)
        if not isinstance(data, bytes):
            return data
        digest = hashlib.sha256(data).hexdigest()
        if was_ok and known.content_hash == digest:  # type: ignore[union-attr]
            if known.mtime != st.st_mtime:  # type: ignore[union-attr]
                self.store.touch_source(path, st.st_mtime)
            return Outcome.UNCHANGED, None, 0
        parsed = parse_bytes(data, Path(path).suffix, kind, path)
        if not isinstance(parsed, Parsed):
            return self._unusable(path, kind, digest, st.st_mtime, len(data), parsed.reason)
        stat_args = {"content_hash": digest, "mtime": st.st_mtime, "size": len(data)}
        return self._store_parsed(path, parsed, known if was_ok else None, stat_args)

    def _forgotten(self, path: str, known: SourceState | None, kind: str) -> FileResult:
        if known is not None and known.status == "skipped":
            return Outcome.IGNORED, None, 0  # already recorded as forgotten
        return self._skip(path, FORGOTTEN_REASON, kind, None, None)

    def _gone(self, path: str, known: SourceState | None) -> FileResult:
        """The file is not there (any more): deleted if we knew it, else nothing happened."""
        if known is not None and known.status != "deleted":
            self.store.mark_deleted(path)
            return Outcome.DELETED, None, 0
        return Outcome.IGNORED, None, 0

    def _stat(self, path: str, known: SourceState | None, kind: str) -> os.stat_result | FileResult:
        """The file's stat if it is a regular file within the size limit, else its outcome."""
        try:
            st = os.stat(path)
        except FileNotFoundError:
            if os.path.islink(path):
                return self._skip(path, "broken symlink", kind, None, None)
            return self._gone(path, known)
        except OSError as e:
            return self._skip(path, os_reason(e), kind, None, None)
        if not stat.S_ISREG(st.st_mode):  # FIFOs and devices would block or never end
            return self._skip(path, "not a regular file", kind, st.st_mtime, None)
        if st.st_size > self.config.max_file_bytes:
            reason = f"too large ({_human(st.st_size)} > {_human(self.config.max_file_bytes)} limit)"
            return self._skip(path, reason, kind, st.st_mtime, st.st_size)
        return st

    def _read(
        self, path: str, st: os.stat_result, known: SourceState | None, kind: str
    ) -> bytes | FileResult:
        """The file's bytes (one read, capped at the limit), else its outcome."""
        try:
            with open(path, "rb") as fh:
                data = fh.read(self.config.max_file_bytes + 1)
        except FileNotFoundError:  # deleted between the event and the read
            return self._gone(path, known)
        except OSError as e:
            return self._skip(path, os_reason(e), kind, st.st_mtime, st.st_size)
        if len(data) > self.config.max_file_bytes:
            return self._skip(path, "too large (grew while reading)", kind, st.st_mtime, len(data))
        return data

    def _unusable(
        self, path: str, kind: str, digest: str, mtime: float, size: int, reason: str
    ) -> FileResult:
        """The content itself is unusable (empty, binary): what the file used to say is gone."""
        self.store.sync_source(
            path,
            kind="chat" if kind == "chat" else "docs",
            content_hash=digest,
            mtime=mtime,
            size=size,
            passages=[],
            status="skipped",
            reason=reason,
        )
        return Outcome.SKIPPED, reason, 0

    def _store_parsed(
        self, path: str, parsed: Parsed, known_ok: SourceState | None, stat_args: dict[str, Any]
    ) -> FileResult:
        """New or changed content: its passages replace the file's (a grown chat export: appended)."""
        log.debug(
            "read %s as %s%s: %d unit(s)",
            path,
            parsed.kind,
            f" ({parsed.format})" if parsed.format else "",
            len(parsed.units),
        )
        reason = "; ".join(parsed.notes) or None
        chat = (
            ChatState(parsed.format, len(parsed.units), turns_digest(parsed.units))
            if parsed.kind == "chat"
            else None
        )
        units = parsed.units
        grown = chat is not None and known_ok is not None and _grew(known_ok, parsed.units)
        if grown:  # a re-export with new messages: only the new turns are read
            units = parsed.units[known_ok.turns :]  # type: ignore[union-attr]
        passages = [
            _new_passage(c) for c in make_passages(units, self.config.max_passage_tokens, self.count_tokens)
        ]
        if grown and chat is not None:
            result = self.store.append_turns(path, chat=chat, reason=reason, passages=passages, **stat_args)
        else:
            result = self.store.sync_source(
                path, kind=parsed.kind, reason=reason, chat=chat, passages=passages, **stat_args
            )
        log.info("ingested %s: %d new, %d superseded", path, result.added, result.superseded)
        return (Outcome.CHANGED if known_ok is not None else Outcome.NEW), None, result.added

    def _skip(self, path: str, reason: str, kind: str, mtime: float | None, size: int | None) -> FileResult:
        log.info("skipped %s: %s", path, reason)
        self.store.skip_source(
            path, reason, kind="chat" if kind == "chat" else "docs", mtime=mtime, size=size
        )
        return Outcome.SKIPPED, reason, 0

    # -- folders -------------------------------------------------------------------------------

    def walk(self, root: str, filt: PathFilter, rel_to: str | None = None) -> Iterator[str]:
        """Files under ``root`` that ``filt`` wants, paths relative to ``rel_to`` (default root).

        Symlinked folders are not followed (no loops, no escaping the folder); symlinked files are
        yielded and read through the link.
        """
        base = rel_to or root
        for dirpath, dirnames, filenames in os.walk(root, onerror=lambda e: log.warning("%s", e)):
            rel_dir = os.path.relpath(dirpath, base)
            rel_dir = "" if rel_dir == "." else rel_dir + "/"
            dirnames[:] = sorted(d for d in dirnames if not filt.excluded_dir(rel_dir + d))
            for name in sorted(filenames):
                if filt.wanted(rel_dir + name):
                    yield os.path.join(dirpath, name)

    def sync_folder(
        self,
        folder: str,
        watch: Watch | None = None,
        kind: str = "auto",
        progress: Progress | None = None,
        *,
        trust_stat: bool = True,
        on_total: Callable[[int], None] | None = None,
    ) -> IngestReport:
        """Ingest every wanted file under ``folder`` and mark the ones no longer there deleted."""
        folder = os.path.abspath(folder)
        report = IngestReport()
        filt = self.filter_for(watch)
        files = list(self.walk(folder, filt, rel_to=watch.path if watch else folder))
        if on_total:
            on_total(len(files))
        states = self.store.source_states(folder)
        for path in files:
            report.add(
                path, *self._safe_ingest(path, watch.kind if watch else kind, states.get(path), trust_stat)
            )
            if progress:
                progress(path)
        seen = set(files)
        for path, state in states.items():
            if path not in seen and state.status != "deleted":
                self.store.mark_deleted(path)
                report.add(path, Outcome.DELETED)
        return report

    def _safe_ingest(self, path: str, kind: str, known: SourceState | None, trust_stat: bool) -> FileResult:
        try:
            return self.ingest_file(path, kind, known, trust_stat=trust_stat)
        except (UnicodeError, ValueError, OSError) as e:  # e.g. a name the filesystem can't encode
            log.warning("could not ingest %r: %s", path, e)
            return Outcome.SKIPPED, f"error: {type(e).__name__}: {e}"[:200], 0


def turns_digest(units: Sequence[Unit]) -> str:
    """A digest of chat turns (who, when, what), to tell a grown export from an edited one."""
    h = hashlib.sha256()
    for u in units:
        when = u.time.isoformat() if u.time else ""
        h.update(
            f"{u.role}\x1f{u.speaker}\x1f{when}\x1f{u.session}\x1f{u.text}\x1e".encode("utf-8", "replace")
        )
    return h.hexdigest()


def _grew(known: SourceState, units: Sequence[Unit]) -> bool:
    """The file holds the turns read last time, unchanged and first, and more after them."""
    n = known.turns or 0
    return 0 < n < len(units) and turns_digest(units[:n]) == known.turns_digest


def _new_passage(c: Chunk) -> NewPassage:
    def iso(t: datetime | None) -> str | None:
        return t.isoformat() if t else None

    return NewPassage(c.text, c.token_count, c.role, c.speakers, iso(c.started_at), iso(c.ended_at))


FORBIDDEN_ROOTS = ("/proc", "/sys", "/dev", "/run")


def watch_covering(watches: Iterable[Watch], path: str) -> Watch | None:
    """The innermost watched folder that holds ``path`` (or is it)."""
    inside = [w for w in watches if path == w.path or path.startswith(w.path + os.sep)]
    return max(inside, key=lambda w: len(w.path), default=None)


def check_watchable(path: str) -> str:
    """The absolute, resolved folder to watch, or ValueError with a one-line reason."""
    real = os.path.realpath(os.path.expanduser(path))
    if real == "/" or any(real == r or real.startswith(r + "/") for r in FORBIDDEN_ROOTS):
        raise ValueError(f"refusing to watch {real}: not a place for notes")
    if not os.path.exists(real):
        raise ValueError(f"no such folder: {path}")
    if not os.path.isdir(real):
        raise ValueError(f"not a folder: {path} (use `sleepd ingest` for single files)")
    return real


def make_ingestor(store: Store, config: Config, count_tokens: CountTokens) -> Ingestor:
    """An Ingestor with the configured watch settings, counting tokens with ``count_tokens`` (the
    caller's: the daemon and evaluation pass the model's tokenizer; ingest never loads a model)."""
    return Ingestor(store, config.watch, count_tokens)


def ingest_paths(
    ingestor: Ingestor, paths: Sequence[str], kind: str = "auto", track: Track | None = None
) -> IngestReport:
    """Read files and folders now (``sleepd ingest``, ``POST /ingest``): a folder is synced under the
    watch that covers it (its filters, its kind), a file read alone, a missing path reported skipped."""
    watches = ingestor.store.list_watches()
    report = IngestReport()
    for raw in paths:
        path = os.path.abspath(os.path.expanduser(raw))
        done, total = track(os.path.basename(path) or path) if track else (None, None)
        if os.path.isdir(path):
            watch = watch_covering(watches, path)
            report.merge(ingestor.sync_folder(path, watch, kind, progress=done, on_total=total))
        elif os.path.lexists(path):
            if total:
                total(1)
            report.add(path, *ingestor.ingest_file(path, kind))
            if done:
                done(path)
        else:
            report.add(path, Outcome.SKIPPED, "no such file or folder")
    return report
