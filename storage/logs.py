"""Log set-up for every sleepd process (daemon, sleep child, CLI): one line per record, on stderr or in
the detached log. It lives in storage, the bottom layer, so that every layer may set it up.

- Under systemd, when ``JOURNAL_STREAM`` names our stderr (see systemd.exec(5)), every line starts
  with the sd-daemon priority prefix ``<N>`` (sd-daemon(3)), so ``journalctl -p warning`` filters
  and colours them; journald stamps the time itself, so the line carries none.
- Elsewhere (a terminal, the ``--detach`` log file) lines carry a timestamp.
- The detached daemon writes a size-rotated file; fds 1 and 2 follow the live file, so a traceback
  printed outside logging (a native crash) lands in it too.
- ``-v`` sets sleepd's own loggers to DEBUG; libraries stay at the base level (their debug output
  is noise to someone reading why a note was skipped).
"""

from __future__ import annotations

import logging
import os
import sys
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import TextIO

# logging level -> syslog priority (RFC 5424 severities, as sd-daemon's <N> prefix uses them)
PRIORITIES = {logging.CRITICAL: 2, logging.ERROR: 3, logging.WARNING: 4, logging.INFO: 6, logging.DEBUG: 7}
LOG_FILE_BYTES = 5 * 1024 * 1024
LOG_FILE_BACKUPS = 3


def syslog_priority(levelno: int) -> int:
    for level, priority in sorted(PRIORITIES.items(), reverse=True):
        if levelno >= level:
            return priority
    return 7


class JournalFormatter(logging.Formatter):
    """``<N>name: message``; every line of a multi-line record (a traceback) gets the prefix, since
    journald reads each line as its own entry."""

    def format(self, record: logging.LogRecord) -> str:
        prefix = f"<{syslog_priority(record.levelno)}>"
        return "\n".join(prefix + line for line in super().format(record).splitlines())


def under_journald(stream: TextIO) -> bool:
    """Whether ``stream`` is the journal stream systemd connected us to."""
    expected = os.environ.get("JOURNAL_STREAM", "")
    if not expected:
        return False
    try:
        st = os.fstat(stream.fileno())
    except (OSError, ValueError, AttributeError):
        return False
    return expected == f"{st.st_dev}:{st.st_ino}"


class FollowedLogFile(RotatingFileHandler):
    """A size-rotated log file that fds 1 and 2 point at, before and after every rotation."""

    def __init__(self, path: Path, max_bytes: int = LOG_FILE_BYTES) -> None:
        super().__init__(path, maxBytes=max_bytes, backupCount=LOG_FILE_BACKUPS, encoding="utf-8")
        self._adopt()

    def doRollover(self) -> None:  # noqa: N802  (logging's name)
        super().doRollover()
        self._adopt()

    def _adopt(self) -> None:
        if self.stream is None:
            self.stream = self._open()
        self.stream.flush()
        for fd in (1, 2):
            os.dup2(self.stream.fileno(), fd)


def configure_logging(
    verbose: bool = False, *, base_level: int = logging.WARNING, log_file: Path | None = None, tag: str = ""
) -> None:
    """Replace the root logger's handlers: one handler, formatted for where the lines go."""
    name = f"sleepd[{tag}] " if tag else ""
    handler: logging.Handler
    if log_file is not None:
        handler = FollowedLogFile(log_file)
        handler.setFormatter(logging.Formatter(f"%(asctime)s {name}%(levelname)s %(name)s: %(message)s"))
    elif under_journald(sys.stderr):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JournalFormatter(f"{name}%(name)s: %(message)s"))
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(f"%(asctime)s {name}%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(base_level)
    logging.getLogger("sleepd").setLevel(logging.DEBUG if verbose else logging.NOTSET)
