"""Jira's health as the driver sees it, and how long to wait (pure: every call takes `now`).

States (driver.contract.schemas.JiraState), shown by GET /api/status and the TUI's status line:

    unknown      nothing answered yet (start-up, or new credentials)
    ok           the last request got a proper answer
    unreachable  an outage: refused, DNS, TLS, proxy, 502/503/504, or timeouts repeating across
                 requests. All sending waits `outage_until`, then one request tests the water;
                 the first proper answer ends the outage. Nothing fails, no attempt is counted.
    paused       a 429 whose scope is everything (docs/wire-facts.md §3): nothing goes out before Retry-After
    auth_failed  a 401 (docs/wire-facts.md §2): no request with these credentials leaves the driver until
                 they change (Data Center locks an account after a few failed logins)

The sending limit (how many requests may be in flight) follows the health: 1 while Jira is out or
while the credentials are unproven (a canary, so a wrong password costs one failed login, not a
wave).

Jira's burst limit is met, not fought (docs/wire-facts.md §8). A 429 for everything pauses all sending for
Retry-After plus a little jitter; the 429s of one wave (requests that were in flight together) are
one strike. After it, requests are paced: a send rate starts just under Jira's limit
(X-RateLimit-Limit, per second for the burst limit; else the rate that was just refused) and grows
additively while Jira accepts it, back off multiplicatively on the next 429 (AIMD, as TCP does),
instead of releasing every worker at once into the same limit. Where Jira states its rate before it
refuses (X-RateLimit-Limit on Cloud; Data Center's token bucket, `follow`), pacing starts there: a
bucket's spare tokens are spent at once and the rest goes at its fill rate.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from driver.contract.schemas import JiraState
from driver.errors import JiraAuthError, JiraRateLimited, JiraTimeout, JiraUnavailable, SetupRefused
from driver.jira.backoff import Pauses, backoff_seconds

PACE_DECREASE = 0.9
"""After a 429 wave the send rate is this fraction of Jira's limit (or of the rate refused)."""
PACE_INCREASE = 0.05
"""While Jira accepts, the rate grows by this fraction of its start value per second."""
PACE_GROWTH_UNKNOWN = 0.25
"""Without Jira's rate, the paced rate grows by this fraction of itself per second."""
PACE_FLOOR_UNKNOWN = 2.0
"""Without Jira's rate, pacing never starts below this many requests per second."""
PACE_CEILING = 0.95
"""Paced sends stay at most this fraction of Jira's own limit: exactly at it, timer jitter puts an
extra request into some window now and then, and every 429 costs a whole Retry-After pause."""
BUCKET_PACE = 0.98
"""Once Data Center's bucket is spent, requests go at this fraction of its fill rate: the tokens it
holds absorb a late send, and the margin the rounding of the server's clock and a send that runs a
little early of its slot."""
PACE_OFF = 500.0
"""Requests/s above which pacing without a known limit is dropped (the workers are the limit)."""
RATE_JITTER = 0.1
"""A 429 pause lasts Retry-After plus up to this fraction of it (at least RATE_JITTER_MIN s)."""
RATE_JITTER_MIN = 0.05
RATE_FLOOR = 0.5
"""The least a 429 pauses its scope, whatever Retry-After says, doubling with each 429 in a row
(up to rate_cap) until Jira answers properly."""


@dataclass(frozen=True)
class Bucket:
    """Data Center's token bucket as one answer states it (docs/wire-facts.md §8): the tokens left
    (X-RateLimit-Remaining) and the fill rate in tokens per second (X-RateLimit-FillRate per
    X-RateLimit-Interval-Seconds). `serial` tells one answer's statement from the next."""

    remaining: int
    rate: float
    serial: int
    capacity: int = 0
    """The most tokens it holds (X-RateLimit-Limit; 0: not said, taken as `remaining`)."""


@dataclass(frozen=True)
class Observed:
    """What one failed request told of Jira's health (JiraHealth.observe)."""

    until: datetime | None = None
    """When the scope the error names may be sent to again (None: health holds nothing back)."""
    news: str = ""
    """A line for the log when this began something (an outage, a pause, a 401); '' otherwise:
    requests that fail together are logged once."""


@dataclass
class JiraHealth:
    """The one record of Jira's health; the engine feeds it outcomes, the API reads it."""

    retry_base: float = 2.0
    """First outage backoff and fallback 429 pause, in seconds."""
    outage_cap: float = 60.0
    """Longest outage backoff, in seconds."""
    rate_cap: float = 30.0
    """Longest 429 pause when Jira gave no Retry-After, in seconds."""
    rand: Callable[[], float] = random.random
    state: JiraState = JiraState.UNKNOWN
    message: str = ""
    auth_failed: bool = False
    credentials_proven: bool = False
    """A request with the current credentials got an answer other than 401."""
    outage_strikes: int = 0
    outage_until: datetime | None = None
    rate_strikes: int = 0
    pace: float | None = None
    """Requests per second after a burst 429; None: not paced."""
    pace_ceiling: float | None = None
    """Jira's own limit, requests per second, when a 429 said it."""
    pace_step: float = 0.0
    pace_since: datetime | None = None
    next_send_at: datetime | None = None
    bucket_rate: float | None = None
    """Data Center's fill rate, tokens per second, when its answers state a token bucket."""
    bucket_tokens: float = 0.0
    """Tokens surely left when the last statement of the bucket was read (in-flight ones taken off)."""
    bucket_at: datetime | None = None
    bucket_serial: int = -1
    bucket_spent: int = 0
    """Requests sent since that statement."""
    bucket_capacity: int = 0
    sends: deque[datetime] = field(default_factory=deque)
    """Send times of the last second (the rate a 429 refused)."""
    pauses: Pauses = field(default_factory=Pauses)

    # --- what the engine reports -----------------------------------------------------------------

    def sent(self, now: datetime) -> None:
        """A request leaves now: count it, and when paced, book the next one's moment."""
        self.sends.append(now)
        spare = self.bucket_left(now) >= 1.0
        self.bucket_spent += 1
        edge = now - timedelta(seconds=1)
        while self.sends and self.sends[0] <= edge:
            self.sends.popleft()
        if self.pace is None:
            return
        if self.pace_since is not None and self.pace_ceiling != self.pace:
            # Additive increase while Jira accepts: one step per second since the last change.
            # Jira's rate known: creep towards it (additive). Unknown: the rate refused may have
            # been a lull's, so grow in proportion (at least 1 request/s per second).
            step = self.pace_step if self.pace_ceiling else max(1.0, PACE_GROWTH_UNKNOWN * self.pace)
            grown = self.pace + step * (now - self.pace_since).total_seconds()
            self.pace_since = now
            self.pace = min(grown, self.pace_ceiling) if self.pace_ceiling else grown
            if self.pace_ceiling is None and self.pace > PACE_OFF:
                self.pace = self.next_send_at = None
                return
        interval = timedelta(seconds=1.0 / self.pace)
        # The next slot follows the booked one, not the moment this send got to run: a worker woken
        # a little late (timer slack, a busy host) must not push every later send back. It catches
        # up by half an interval at most, so no second holds more than Jira's limit.
        booked = self.next_send_at if self.next_send_at is not None else now
        # A spare token of Data Center's bucket is not a paced slot: the pace resumes from here.
        self.next_send_at = now + interval if spare else max(booked, now - interval / 2) + interval

    def answered(self) -> bool:
        """Jira answered a request properly (any status but 401/429/outage). True if an outage ended."""
        ended = self.outage_strikes > 0
        self.outage_strikes = 0
        self.outage_until = None
        self.rate_strikes = 0
        self.credentials_proven = True
        # Answers to requests sent before a 429 arrive during its pause: the pause still holds
        # (blocked_until ends PAUSED when it is over).
        paused = self.state == JiraState.PAUSED and self.pauses.all_until is not None
        if self.state != JiraState.OK and not paused:
            self.state = JiraState.OK
            self.message = ""
        return ended

    def refused_credentials(self, error: JiraAuthError) -> bool:
        """A 401: stop everything until credentials_changed. True the first time."""
        first = not self.auth_failed
        self.auth_failed = True
        self.credentials_proven = False
        self.state = JiraState.AUTH_FAILED
        if isinstance(error, SetupRefused):
            # the token endpoint, the consent or the site refused, not Jira: its words say what to do
            self.message = f"{error.message}; nothing is sent until that changes"
        else:
            said = f"Jira answered 401 ({error.message})"
            self.message = f"{said}: check the credentials; nothing is sent until they change"
        return first

    def credentials_changed(self) -> None:
        """New credentials: they may be tried again (one canary request first)."""
        self.auth_failed = False
        self.credentials_proven = False
        self.state = JiraState.UNKNOWN
        self.message = ""

    def rate_limited(self, error: JiraRateLimited, now: datetime, issue: str | None) -> datetime:
        """A 429: pause its scope until Retry-After (plus a little jitter), at least RATE_FLOOR s doubling
        with each 429 in a row; returns the end of the pause.

        Several 429s answered for one wave (requests that were in flight together) are one strike:
        a 429 that arrives while the pause it would start is already running extends it to its own
        Retry-After at most, and does not double the fallback backoff.
        """
        running = self.pauses.all_until is not None and self.pauses.all_until > now
        if not running:
            self.rate_strikes += 1
        strikes = max(1, self.rate_strikes)
        if error.retry_after is not None:
            # Retry-After is a minimum, and a proxy may say 0: a 429 is never answered at once,
            # and each further 429 in a row waits longer (docs/wire-facts.md §8).
            floor = min(self.rate_cap, RATE_FLOOR * 2.0 ** (strikes - 1))
            base = max(error.retry_after, floor)
            wait = base + max(RATE_JITTER_MIN, RATE_JITTER * base) * self.rand()
        else:
            wait = backoff_seconds(strikes, self.retry_base, None, self.rate_cap, self.rand)
        until = now + timedelta(seconds=wait)
        if error.scope == "issue" and issue is not None:
            self.pauses.pause_issue(issue, until)
            return until
        if running and self.pauses.all_until is not None and until <= self.pauses.all_until:
            return self.pauses.all_until
        if not running:
            self._slow_down(error.limit, now)
        self.pauses.pause_all(until, error.reason_header or "rate limited")
        self.state = JiraState.PAUSED
        self.message = f"Jira rate limit ({error.reason_header or '429'}): paused"
        return until

    def known_rate(self, rate: float, now: datetime) -> None:
        """Jira stated the rate it allows (docs/wire-facts.md §8): pace at just under it, before it
        refuses."""
        if self.pace is None and rate > 0:
            self.pace = self.pace_ceiling = PACE_CEILING * rate
            self.pace_step = 0.0
            self.pace_since = now
            self.next_send_at = None

    def follow(self, rate: float | None, bucket: Bucket | None, in_flight: int, now: datetime) -> None:
        """What Jira's headers say it allows (the client's rate_hint and bucket, from any answer,
        start-up's included): never send faster, rather than learn it from a wave of 429s."""
        if rate is not None:
            self.known_rate(rate, now)
        if bucket is not None:
            self.known_bucket(bucket, in_flight, now)

    def known_bucket(self, bucket: Bucket, in_flight: int, now: datetime) -> None:
        """Data Center stated its token bucket (docs/wire-facts.md §8): the tokens left are spent at
        once, and then requests go at the fill rate itself (the bucket's own slack absorbs a
        send's jitter, so no margin is kept below it). `serial` tells a new statement; the
        `in_flight` requests of the moment may not be in its count yet, so they are taken off it."""
        rate = bucket.rate
        if rate <= 0:
            return
        self.bucket_capacity = max(bucket.capacity, bucket.remaining)
        if self.bucket_rate != rate:
            self.bucket_rate = rate
            # a bucket of one token has no slack for a send that runs early of its slot
            share = BUCKET_PACE if self.bucket_capacity >= 2 else PACE_CEILING
            self.pace = self.pace_ceiling = share * rate
            self.pace_step = 0.0
            self.pace_since = now
        if bucket.serial != self.bucket_serial:
            # Answers are read out of order: an older one says more tokens than a newer one, so a
            # statement only ever lowers what the driver counts on (time refills it).
            stated = float(bucket.remaining - in_flight)
            known = self.bucket_left(now) if self.bucket_at is not None else stated
            self.bucket_serial = bucket.serial
            self.bucket_tokens = min(stated, known)
            self.bucket_at = now
            self.bucket_spent = 0

    def bucket_left(self, now: datetime) -> float:
        """Tokens surely left in Data Center's bucket now (0 when no bucket is known)."""
        if self.bucket_rate is None or self.bucket_at is None:
            return 0.0
        refilled = self.bucket_rate * max(0.0, (now - self.bucket_at).total_seconds())
        return min(float(self.bucket_capacity), self.bucket_tokens + refilled) - self.bucket_spent

    def _slow_down(self, limit: float | None, now: datetime) -> None:
        """A new 429 wave: pace just under Jira's limit, or under the rate it refused (multiplicative)."""
        refused = float(len([t for t in self.sends if t > now - timedelta(seconds=1)]) or 1)
        if limit is not None and limit > 0:
            self.pace_ceiling = PACE_CEILING * limit
            base = min(float(limit), self.pace or float(limit))
        else:
            self.pace_ceiling = None
            base = min(refused, self.pace) if self.pace is not None else refused
        self.pace = max(0.5 if self.pace_ceiling else PACE_FLOOR_UNKNOWN, PACE_DECREASE * base)
        self.pace_step = max(0.05, PACE_INCREASE * self.pace)
        self.pace_since = now
        self.next_send_at = None

    def unavailable(self, error: JiraUnavailable, now: datetime) -> tuple[datetime, bool]:
        """An outage: all sending waits. Returns (until, whether this began a new backoff step).

        Requests in flight when Jira went away fail alike: only the first one backs off further.
        """
        self.state = JiraState.UNREACHABLE
        self.message = error.reason
        if self.outage_until is None or self.outage_until <= now:
            self.outage_strikes += 1
            delay = backoff_seconds(
                self.outage_strikes, self.retry_base, error.retry_after, self.outage_cap, self.rand
            )
            self.outage_until = now + timedelta(seconds=delay)
            return self.outage_until, True
        if error.retry_after is not None:
            self.outage_until = max(self.outage_until, now + timedelta(seconds=error.retry_after))
        return self.outage_until, False

    def observe(self, error: BaseException, now: datetime, issue: str | None = None) -> Observed:
        """The one rule from a failed request to Jira's health, for the engine, sync and metadata.

        401: everything stops until the credentials change. 429: its scope (the issue `issue`, for a
        per-issue limit, else all) pauses for Retry-After. Unreachable, 5xx or a timeout: an outage,
        all sending waits a growing backoff. Anything else (a 400, a 404, a database error) says
        nothing of Jira's health. Sources: docs/wire-facts.md (status codes, rate limits).
        """
        if isinstance(error, JiraAuthError):
            first = self.refused_credentials(error)
            news = (
                f"{error.message}: sending stops until that changes"
                if isinstance(error, SetupRefused)
                else "Jira answered 401: sending stops until the credentials change"
            )
            return Observed(news=news if first else "")
        if isinstance(error, JiraRateLimited):
            until = self.rate_limited(error, now, issue)
            scope = f"issue {issue}" if error.scope == "issue" and issue is not None else "all sending"
            return Observed(
                until, f"{error.reason}: pausing {scope} for {(until - now).total_seconds():.1f} s"
            )
        if isinstance(error, JiraUnavailable | JiraTimeout):
            outage = error if isinstance(error, JiraUnavailable) else JiraUnavailable(error.reason)
            until, began = self.unavailable(outage, now)
            wait = (until - now).total_seconds()
            news = f"Jira is unreachable ({error.reason}): all sending waits {wait:.1f} s" if began else ""
            return Observed(until, news)
        return Observed()

    # --- what the engine asks --------------------------------------------------------------------

    def blocked_until(self, now: datetime) -> datetime | None:
        """When sending of anything may resume; None if it may now. datetime.max after a 401."""
        if self.auth_failed:
            return datetime.max.replace(tzinfo=now.tzinfo)
        # spare tokens in a known bucket are spent at once; the pace applies once they are gone
        paced = None if self.bucket_left(now) >= 1.0 else self.next_send_at
        moments = [
            m for m in (self.pauses.paused_until(None, now), self.outage_until, paced) if m is not None
        ]
        moments = [m for m in moments if m > now]
        if not moments and self.state == JiraState.PAUSED:
            self.state = JiraState.OK
            self.message = ""
        return max(moments) if moments else None

    def issue_paused_until(self, issue: str, now: datetime) -> datetime | None:
        """When this issue (GUID) may be written again; None if it may now."""
        return self.pauses.paused_until(issue, now)

    def send_limit(self, concurrency: int) -> int:
        """How many requests may be in flight now, of at most `concurrency`."""
        if self.outage_strikes or not self.credentials_proven:
            return 1
        return concurrency

    def paused_all_until(self, now: datetime) -> datetime | None:
        """The running 429 pause of everything, if any (for GET /api/status)."""
        return self.pauses.paused_until(None, now)
