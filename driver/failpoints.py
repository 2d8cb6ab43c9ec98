"""Failpoints: named places where a test can have the process killed (SIGKILL, no clean-up), to
prove a crash there loses nothing. Off unless JIRA_DRIVER_FAILPOINTS names them (comma-separated),
read once at start; production runs never set it.

Named places: `oauth-refresh-answered` (the token endpoint answered a refresh; the new pair is not
yet written), `oauth-grant-written` (the new pair is in the temporary file, not yet renamed over
the kept one), `oauth-grant-renamed` (renamed, the directory not yet synced, the token not used).
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable

_ARMED = frozenset(name.strip() for name in os.environ.get("JIRA_DRIVER_FAILPOINTS", "").split(",") if name)


def failpoint(name: str) -> Callable[[], None]:
    """A function that kills this process when `name` is armed, else does nothing."""
    if name not in _ARMED:
        return _nothing

    def die() -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    return die


def _nothing() -> None:
    return None
