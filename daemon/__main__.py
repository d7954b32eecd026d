"""``python -m sleepd.daemon``: the daemon process itself, what systemd and ``sleepd daemon`` run.

The CLI never imports the daemon: ``sleepd daemon`` replaces itself with this module (foreground),
``--detach`` starts it in a new session, and the systemd unit's ExecStart names it.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from sleepd.storage.config import ConfigError, load_config
from sleepd.storage.logs import configure_logging

from .process import AlreadyRunning, run_daemon


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sleepd.daemon", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logs")
    parser.add_argument("--log-file", type=Path, help="log to this rotated file (what --detach uses)")
    args = parser.parse_args(argv)
    configure_logging(args.verbose, base_level=logging.INFO, log_file=args.log_file)
    try:
        config = load_config()
        run_daemon(config)
    except (ConfigError, AlreadyRunning) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    code = main()
    # Everything is closed and flushed by now. Skip interpreter teardown: native thread pools of
    # a model loaded in a worker thread (the hot swap) can abort in their destructors at exit.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
