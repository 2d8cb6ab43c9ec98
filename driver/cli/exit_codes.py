"""The exit statuses of every `jira-driver` sub-command: one table, used by all of them."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """What a shell script can branch on after `jira-driver COMMAND`."""

    OK = 0
    """The command did its job."""
    FAILED = 1
    """The job was tried and failed (the driver or Jira said no)."""
    BAD_INPUT = 2
    """Bad input or configuration: nothing was changed."""
    UNREACHABLE = 3
    """The driver (or Jira, for `check`) cannot be reached."""
    AUTH = 4
    """`check`: Jira (or the OAuth token endpoint) refuses the credentials."""
    PERMISSION = 5
    """`check`: the account lacks a permission the driver's work needs."""
    SCREEN = 6
    """`check`: the create screen or the workflow refuses what the driver sends."""
    INTERRUPTED = 130
    """Stopped by Ctrl-C (128 + SIGINT, the shell convention)."""
