"""The one base every sleepd error shares, so a caller (the CLI above all) catches one type.

    SleepdError
    ├── ConfigError            config.toml is unreadable or a setting is wrong    (also ValueError)
    ├── DaemonError            the daemon refused a request or cannot be reached (also RuntimeError)
    │   └── AlreadyRunning         another daemon holds this SLEEPD_HOME's socket/lock
    ├── DeviceError            the configured device is not on this machine      (also RuntimeError)
    ├── EvalInputError         an eval's set, docs or questions cannot be used    (also ValueError)
    ├── ModelBusyError         the model cannot be switched while a sleep trains it (also RuntimeError)
    ├── ModelLoadError         the configured model failed to load; the old one serves (also RuntimeError)
    ├── ModelNotFoundError     no configured model and no bundled GGUF           (also RuntimeError)
    ├── PromptTooLong          a chat message longer than a chat may send        (also ValueError)
    ├── SleepError             a sleep ended without a new version
    │   ├── GateRejected           the new version failed its checks; the old one is served
    │   └── NothingToConsolidate   no pending passage teaches anything
    └── VersionError           a memory version is missing, incomplete or unknown (also LookupError)

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
