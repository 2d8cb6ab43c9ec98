"""The request journal and counters that tests read through /_sim/."""

from __future__ import annotations

import itertools
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Counters:
    """Totals since start or the last reset."""

    requests: int = 0
    created: int = 0
    edits: int = 0
    comments: int = 0
    transitions: int = 0
    deleted: int = 0
    dropped: int = 0
    faults: int = 0
    rate_limited: int = 0
    in_flight: int = 0
    """Requests received and not yet answered (or dropped): a test waits on it instead of sleeping."""
    disowned: int = 0
    """Requests from before the last reset that ended since (journaled nowhere, counted only here)."""
    searches: int = 0
    """JQL searches answered or not (`/search` and `/search/jql`), for the benchmark's probe cost."""
    statuses: Counter[int] = field(default_factory=Counter)

    def to_json(self) -> dict[str, Any]:
        """The counters as GET /_sim/counters shows them."""
        return {
            "requests": self.requests,
            "created": self.created,
            "edits": self.edits,
            "comments": self.comments,
            "transitions": self.transitions,
            "deleted": self.deleted,
            "dropped": self.dropped,
            "faults": self.faults,
            "rate_limited": self.rate_limited,
            "in_flight": self.in_flight,
            "disowned": self.disowned,
            "searches": self.searches,
            "statuses": {str(code): n for code, n in sorted(self.statuses.items())},
        }


class Journal:
    """The last `size` requests, oldest first; bounded so a benchmark cannot grow it without end."""

    def __init__(self, size: int) -> None:
        self.entries: deque[dict[str, Any]] = deque(maxlen=size)
        self.counters = Counters()
        self._seq = itertools.count(1)

    def record(self, entry: dict[str, Any]) -> None:
        """Add one finished request; `status` None means the connection was dropped unanswered."""
        entry["seq"] = next(self._seq)
        self.entries.append(entry)
        counters = self.counters
        counters.requests += 1
        if "/search" in str(entry.get("path", "")):
            counters.searches += 1
        status = entry.get("status")
        if status is None:
            counters.dropped += 1
        else:
            counters.statuses[status] += 1

    def since(self, seq: int = 0, limit: int | None = None) -> list[dict[str, Any]]:
        """Entries after sequence number `seq`, at most the last `limit` of them."""
        chosen = [e for e in self.entries if e["seq"] > seq] if seq else list(self.entries)
        return chosen[-limit:] if limit else chosen

    def reset(self) -> None:
        """Forget every entry and zero the counters."""
        self.entries.clear()
        self.counters = Counters()
        self._seq = itertools.count(1)
