"""The sender's lease between a pair of drivers on one PostgreSQL database (issue 22): which node
may talk to Jira, for how long, and under which term. Pure: the database's clock sets the lease,
the node's monotonic clock decides when it must stop; neither wall clock of the nodes is read.

How a leader stays safe without trusting its own wall clock (docs/wire-facts.md §14: River and
Zabbix fence a stale leader the same way): the lease's expiry is set by the database as
`now() + lease_seconds` when the renewal runs. The node reads its monotonic clock *before* it sends
that renewal, so the database's `now()` is never earlier than that reading: the lease cannot
expire before `sent + lease_seconds` on the node's own clock. The node stops sending at
`sent + lease_seconds - margin`, before any other node can hold the lease, however late the
answer came back. Writes that settle a request are fenced by the term as well (the store checks
it in the writing transaction), so even a paused leader that wakes after losing the lease records
nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

MIN_LEASE_SECONDS = 3.0
MAX_LEASE_SECONDS = 300.0


@dataclass(frozen=True)
class LeaseTerms:
    """How long a lease lasts and how early a leader stops, in seconds.

    lease_seconds: the lease's life from a renewal (the database's clock); bounded to
        [MIN_LEASE_SECONDS, MAX_LEASE_SECONDS]. Renewed every lease_seconds / 3.
    margin: how long before the lease can have expired a leader that could not renew stops
        sending (a request already on its way is not recalled; the term fences its outcome).
    """

    lease_seconds: float = 10.0
    margin: float = 1.0

    def __post_init__(self) -> None:
        if not MIN_LEASE_SECONDS <= self.lease_seconds <= MAX_LEASE_SECONDS:
            raise ValueError(
                f"lease_seconds {self.lease_seconds:g} is outside"
                f" {MIN_LEASE_SECONDS:g}..{MAX_LEASE_SECONDS:g}"
            )
        if not 0 < self.margin < self.lease_seconds / 3:
            raise ValueError(f"margin {self.margin:g} must be above 0 and below lease_seconds / 3")

    @classmethod
    def of(cls, lease_seconds: float) -> LeaseTerms:
        """The terms of a configured lease ([ha] lease_seconds): a margin of 1 s, less for a lease
        under 6 s (a sixth of it), so a renewal has a third of the lease minus the margin."""
        return cls(lease_seconds, min(1.0, lease_seconds / 6))

    @property
    def renew_every(self) -> float:
        """Seconds between renewals: a third of the lease, so two can fail before it is at risk."""
        return self.lease_seconds / 3

    def stop_by(self, sent: float) -> float:
        """The monotonic moment a leader whose last good renewal was *sent* at `sent` (monotonic)
        must have stopped sending by: before the lease can have expired for anyone else."""
        return sent + self.lease_seconds - self.margin


@dataclass(frozen=True)
class Lease:
    """The lease row as the database answered a renewal or a takeover.

    holder: the node that holds it (driver.app.leadership.node_name: host, process and a nonce).
    term: raised by one at each change of holder (and when a holder's own lease had lapsed);
        the fence of every write that settles a request.
    expires_at / db_now: the database's clock (UTC), as of the answer.
    """

    holder: str
    term: int
    expires_at: datetime
    db_now: datetime

    def held_by(self, node: str) -> bool:
        """Whether `node` holds it, as of the answer."""
        return self.holder == node and self.expires_at > self.db_now

    @property
    def seconds_left(self) -> float:
        """Seconds of life the lease had as of the answer (0 when it had lapsed)."""
        return max(0.0, (self.expires_at - self.db_now).total_seconds())


@dataclass(frozen=True)
class Leadership:
    """What one node knows of the lease: whether it may send, under which term, since when.

    leader: whether it may talk to Jira now. term: its term while leader (else the last it saw).
    since: the database's time it became leader (None while standby). holder: who leads, as last
    seen (may be this node, another, or '' when nobody has yet).
    """

    node: str
    leader: bool = False
    term: int = 0
    since: datetime | None = None
    holder: str = ""
    stop_by: float = 0.0
    """Monotonic moment the leader stops unless a renewal succeeds first."""

    def answered(self, lease: Lease, sent: float, terms: LeaseTerms) -> Leadership:
        """After the database answered a renewal (or a takeover) sent at monotonic `sent`."""
        if not lease.held_by(self.node):
            return Leadership(self.node, False, lease.term, None, lease.holder if lease.seconds_left else "")
        kept = self.leader and lease.term == self.term
        since = self.since if kept and self.since is not None else lease.db_now
        return Leadership(self.node, True, lease.term, since, self.node, terms.stop_by(sent))

    def unanswered(self, now: float) -> Leadership:
        """A renewal failed (the database unreachable, slow, or an error) at monotonic `now`: a
        leader keeps leading only until its stop_by."""
        if self.leader and now < self.stop_by:
            return self
        return Leadership(self.node, False, self.term, None, self.holder if not self.leader else "")

    def may_send(self, now: float) -> bool:
        """Whether this node may start a request to Jira at monotonic `now`."""
        return self.leader and now < self.stop_by


def shown(holder: str) -> str:
    """A lease holder's name for people: the node's ([ha] node, or host:pid), without the
    process's nonce after '#' (driver.app.leadership.node_name)."""
    return holder.split("#", 1)[0]


def crowd(node: str, others: Sequence[str]) -> str:
    """What is wrong with the processes heard on the pair's database, this one (`node`) and
    `others` (lease holders' names, nonce included): '' for one or two nodes of distinct names.

    More than one process of a name: the configs were copied without changing [ha] node (each
    still holds the lease alone, by its nonce, but the status cannot tell them apart). More than
    two processes: a node started by mistake (a third host, a test run on the production
    database); it waits as a standby, and takes commands too."""
    names = sorted([shown(node), *(shown(other) for other in others)])
    problems = []
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        problems.append(
            f"more than one process is named {', '.join(twice)} ([ha] node): give each node its own name"
        )
    if len(names) > 2:
        problems.append(
            f"{len(names)} nodes use this database ({', '.join(names)}): a pair is two, stop the"
            " one started by mistake"
        )
    return "; ".join(problems)


@dataclass(frozen=True)
class Roll:
    """What one node heard of the other processes on the pair's database (driver.store.postgres.
    nodes), and the problem it reports.

    others: the other lease holders heard at the last renewal (names with their nonce).
    since: the monotonic moment the crowd now heard was first heard, continuously (None: none).
    problem: `crowd`'s words once the crowd has lasted a lease, else ''. A node killed (not
    stopped) is heard for half a lease after its last renewal, so a node restarted at once after
    a kill -9 is not reported as two processes of one name.
    """

    others: tuple[str, ...] = ()
    since: float | None = None
    problem: str = ""

    def heard(self, node: str, others: Sequence[str], now: float, lease_seconds: float) -> Roll:
        """After a renewal at monotonic `now` heard `others` beside `node`."""
        found = crowd(node, others)
        if not found:
            return Roll(tuple(others))
        since = now if self.since is None else self.since
        return Roll(tuple(others), since, found if now - since >= lease_seconds else "")
