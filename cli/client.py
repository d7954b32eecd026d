"""Talking to the daemon over its unix socket (httpx; no torch anywhere near).

httpx is imported when a client is made (a socket exists), not with this module: `sleepd --help`
and the verbs that find no daemon never pay for it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sleepd.storage.errors import DaemonError

NOT_RUNNING = (
    "the sleepd daemon is not running; start it with `sleepd daemon --detach` "
    "(or `sleepd daemon` in the foreground, or `sleepd service install` for a systemd user service)"
)


class DaemonClient:
    def __init__(self, socket_path: Path, timeout: float = 30.0) -> None:
        import httpx

        self.socket_path = socket_path
        self._errors = httpx.HTTPError
        self._client = httpx.Client(
            transport=httpx.HTTPTransport(uds=str(socket_path)), base_url="http://sleepd", timeout=timeout
        )

    def is_up(self) -> bool:
        if not self.socket_path.exists():
            return False
        try:
            return self._client.get("/status", timeout=5.0).status_code == 200
        except self._errors:
            return False

    def _check(self, response: Any) -> Any:
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail")
            except ValueError:
                detail = response.text
            if isinstance(detail, list):  # pydantic validation errors
                detail = "; ".join(f"{'.'.join(map(str, d.get('loc', [])))}: {d.get('msg')}" for d in detail)
            raise DaemonError(str(detail))
        return response.json()

    def get(self, path: str, **params: Any) -> Any:
        try:
            return self._check(
                self._client.get(path, params={k: v for k, v in params.items() if v is not None})
            )
        except self._errors as e:
            raise DaemonError(f"cannot reach the daemon: {e}") from None

    def post(
        self, path: str, body: dict[str, Any] | None = None, timeout: float | None | object = ...
    ) -> Any:
        """``timeout``: seconds (None: wait as long as it takes, e.g. reading a big folder)."""
        try:
            extra = {} if timeout is ... else {"timeout": timeout}
            return self._check(self._client.post(path, json=body or {}, **extra))
        except self._errors as e:
            raise DaemonError(f"cannot reach the daemon: {e}") from None

    def chat(self, body: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """The chat's NDJSON events, as they arrive."""
        try:
            with self._client.stream("POST", "/chat", json=body, timeout=None) as r:
                if r.status_code >= 400:
                    r.read()
                    self._check(r)
                for line in r.iter_lines():
                    if line.strip():
                        event = json.loads(line)
                        if "error" in event:
                            raise DaemonError(event["error"])
                        yield event
        except self._errors as e:
            raise DaemonError(f"lost the daemon mid-answer: {e}") from None


def connect(socket_path: Path) -> DaemonClient | None:
    """A client if a daemon answers on ``socket_path``, else None."""
    if not socket_path.exists():
        return None
    client = DaemonClient(socket_path)
    return client if client.is_up() else None
