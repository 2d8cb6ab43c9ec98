"""App-wide events of the TUI: facts that travel up to the app, past tense."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from driver.contract.schemas import DriverStatus, LogEntry, Statistics


@dataclass
class DriverStatusChanged(Message):
    """The status poller heard from the driver (status) or failed to (error)."""

    status: DriverStatus | None
    error: str = ""

    def can_replace(self, message: Message) -> bool:
        # Only the newest status matters: a slow terminal must never build a backlog of polls.
        return isinstance(message, DriverStatusChanged)


@dataclass
class DriverCallFailed(Message):
    """An API call of a page failed in a way the page did not handle itself."""

    error: BaseException


@dataclass
class TicketExecuted(Message):
    """Execute settled (or timed out waiting): the log row the driver made for it."""

    entry: LogEntry


@dataclass
class CountersReset(Message):
    """Statistics counters were reset; carries the driver's new numbers."""

    statistics: Statistics
