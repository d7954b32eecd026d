"""systemd's notify protocol (sd_notify), without libsystemd: datagrams to ``$NOTIFY_SOCKET``.

READY=1 once serving, STATUS=... for `systemctl status`, WATCHDOG=1 from the daemon's event loop
(so a wedged loop stops the pings and systemd restarts us), EXTEND_TIMEOUT_USEC while the model
loads, STOPPING=1 on shutdown. Outside systemd (no NOTIFY_SOCKET) every call does nothing.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

log = logging.getLogger(__name__)


class Notifier:
    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        addr = env.get("NOTIFY_SOCKET", "")
        # "@name" is an abstract-namespace socket: a leading NUL byte on Linux
        self.address = "\0" + addr[1:] if addr.startswith("@") else addr
        usec = env.get("WATCHDOG_USEC", "")
        pid = env.get("WATCHDOG_PID", "")
        applies = usec.isdigit() and (not pid or pid == str(os.getpid()))
        self.watchdog_interval_s: float | None = int(usec) / 2e6 if applies else None

    @property
    def enabled(self) -> bool:
        return bool(self.address)

    def send(self, **fields: str | int) -> bool:
        if not self.address:
            return False
        payload = "\n".join(f"{k.upper()}={v}" for k, v in fields.items()).encode()
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                # never block the event loop on a receiver that does not read (its queue full)
                sock.setblocking(False)
                sock.sendto(payload, self.address)
            return True
        except OSError as e:  # systemd gone or a stale variable: never fatal
            log.debug("sd_notify failed: %s", e)
            return False

    def ready(self, status: str) -> bool:
        return self.send(ready=1, status=status)

    def status(self, text: str) -> bool:
        return self.send(status=text)

    def watchdog(self) -> bool:
        return self.send(watchdog=1)

    def extend_timeout(self, seconds: float) -> bool:
        return self.send(extend_timeout_usec=int(seconds * 1e6))

    def stopping(self) -> bool:
        return self.send(stopping=1)
