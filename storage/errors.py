"""The one base every sleepd error shares, so a caller (the CLI above all) catches one type.

    SleepdError
    ├── ConfigError            config.toml is unreadable or a setting is wrong    (also ValueError)
    ├── ModelNotFoundError     no configured model and no bundled GGUF           (also RuntimeError)
    ├── VersionError           a memory version is missing, incomplete or unknown (also LookupError)
    ├── SleepError             a sleep ended without a new version
    │   ├── NothingToConsolidate   no pending passage teaches anything
    │   └── GateRejected           the new version failed its checks; the old one is served
    └── DaemonError            the daemon refused a request or cannot be reached (also RuntimeError)
        └── AlreadyRunning         another daemon holds this SLEEPD_HOME's socket/lock

It lives in ``storage`` because every other layer imports ``storage`` and nothing below it. The
messages are one line, written to be shown as they are after "error: ".
"""

from __future__ import annotations


class SleepdError(Exception):
    """Base of every error sleepd raises on purpose."""


class VersionError(SleepdError, LookupError):
    """A memory version that is not there (or not whole)."""


class SleepError(SleepdError):
    """A sleep that ended without writing a version."""


class DaemonError(SleepdError, RuntimeError):
    """The daemon answered with an error (its one-line detail) or could not be reached."""
