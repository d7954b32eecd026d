"""What every router of the local API shares: the running ``Daemon``, taken from the app's state."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from .core import Daemon


def daemon_of(request: Request) -> Daemon:
    return request.app.state.daemon  # type: ignore[no-any-return]


DaemonDep = Annotated[Daemon, Depends(daemon_of)]
