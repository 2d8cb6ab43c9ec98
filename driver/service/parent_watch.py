"""Stop this process when the process that started it is gone: the watched-pipe protocol.

The parent (driver.demo) makes a pipe, keeps the write end to itself and hands the read end to
the child, naming its number in the environment variable `JIRA_DRIVER_PARENT_FD` (hidden: it is
for the demo's children, not for operators). The parent never writes; when it exits, however it
exits (SIGKILL included), the kernel closes its write end and the child's read returns EOF. The
child then sends itself SIGTERM, so it stops the way `kill <pid>` stops it: the driver finishes
in-flight work, the simulator closes its port.

Why a pipe rather than prctl(PR_SET_PDEATHSIG): it is portable (POSIX, not Linux only), it has no
race (the pipe exists before the fork, so a parent that dies before the child starts watching is
still seen), and it follows the parent process, whereas a parent-death signal fires when the
*thread* that forked exits.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading

ENV_VAR = "JIRA_DRIVER_PARENT_FD"
# after SIGTERM the process has this long to stop by itself (the driver needs about 7 s at most:
# uvicorn's 3 s graceful shut-down and the engine's 4 s grace); then it is ended without ceremony
HARD_EXIT_AFTER = 20.0


def watch_parent_from_env() -> bool:
    """Watch the pipe named by $JIRA_DRIVER_PARENT_FD, if set, on a daemon thread.

    True when a watch was started. The variable is removed from the environment so that nothing
    this process starts inherits a number that means nothing to it. A value that is not an open
    file descriptor is reported in one line on stderr and ignored (the process then runs
    unwatched, as it would without the variable).
    """
    value = os.environ.pop(ENV_VAR, None)
    if value is None:
        return False
    try:
        fd = int(value)
        os.set_inheritable(fd, False)
    except (ValueError, OSError) as exc:
        sys.stderr.write(f"{ENV_VAR}={value!r} is not an open file descriptor ({exc}); not watching\n")
        return False
    threading.Thread(target=_watch, args=(fd,), name="parent-watch", daemon=True).start()
    return True


def _watch(fd: int) -> None:
    try:
        while os.read(fd, 512):
            pass  # the parent never writes; anything read is ignored
    except OSError:
        pass  # the descriptor went bad: treat it as the parent being gone
    with contextlib.suppress(OSError):
        os.close(fd)
    os.kill(os.getpid(), signal.SIGTERM)
    # Event.wait rather than time.sleep: under libfaketime with the monotonic clock left alone (the
    # wall-clock tests) time.sleep fails with EINVAL, and this fallback must still end the process.
    threading.Event().wait(HARD_EXIT_AFTER)
    os._exit(1)
