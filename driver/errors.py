"""The errors the driver raises on purpose, so callers know what to catch.

    DriverError
    ├── ConfigError(section, key, value, allowed)       bad configuration: exit 2 at start-up
    ├── CommandError(position, reason)                  an Advanced command that does not parse
    │   ├── UnknownFieldError                           it names a field the catalog does not know
    │   └── IntakeError (driver.app.intake)                 a line of a batch refused at intake (400)
    ├── ShapeError(field, value, expected)              a text value that cannot become the field's JSON
    ├── QueryError(reason, line, column)                a Create Query that is not a valid ticket body
    ├── TableError (driver.app.intake)                      the Ticket Creation Table cannot build a request
    ├── SettingsError (driver.app.settings)         a setting changed at run time that is refused
    ├── DatabaseFileError (driver.store)                the database file refused at start (exit 2)
    ├── WebhookRefused (driver.sync.service)                    a webhook delivery refused (401 or 400)
    ├── AlarmActionRefused (driver.app.alarm_actions)   an Alarms table action refused (404 or 409)
    ├── UnknownEndpoint (driver.app.endpoint_calls)     a call of an endpoint no section names (404)
    ├── LeaseLost(node, term)                           a pair's write refused: the node no longer leads
    ├── SchemaTooNew (driver.store.postgres.schema)    a PostgreSQL database a newer driver migrated
    └── JiraError                                       Jira answered badly, or not at all
        ├── JiraRetryable(reason, retry_after, status)  500, 409, read timeouts: this request, try later
        │   ├── JiraRateLimited(scope, reason_header)   429: pause the issue or everything until retry_after
        │   ├── JiraTimeout                             no answer within the timeout
        │   │   └── JiraConnectionLost                  the connection dropped before the answer
        │   └── JiraUnavailable                         Jira cannot be reached at all (refused, DNS, TLS,
        │       │                                       proxy, 502/503/504): pause everything, count nothing
        │       └── JiraNotReached                      no connection made: the request surely not sent
        ├── JiraAuthError(status, message)              401: stop sending until the credentials change
        │   └── SetupRefused(status, message, kind)     the token endpoint, the consent or the site refused
        ├── JiraRejected(status, error_messages, errors)  other 4xx: permanent for this request
        │   └── TicketArchived(key, project, answer)    a 404/403 for a ticket of an archived project
        ├── StampAmbiguous(guid, keys)                  two tickets carry one GUID's stamp
        ├── TransitionFailed(reason)                    no transition reaches the target, or it is refused
        ├── LinkInDoubt (driver.app.linking)           a link's stamp edit got no answer: searched for next
        └── CredentialsRefused (driver.app.metadata)   the field list is not asked for after a 401

Jira's status codes are read in driver.jira.client (`JiraClient._send`), which raises these;
everything else branches on type. tests/test_architecture.py holds this drawing to the classes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from typing import Literal


class DriverError(Exception):
    """Base of every error the driver raises on purpose."""


class ConfigError(DriverError):
    """A configuration value that is not allowed; the message is one line for the operator.

    value None leaves the value out of the message (an unknown key may hold a mistyped secret).
    """

    def __init__(self, section: str, key: str, value: object, allowed: str) -> None:
        self.section = section
        self.key = key
        self.value = value
        self.allowed = allowed
        # a value pasted whole (a key file, a token) would make the one line a screenful
        text = (
            value
            if not isinstance(value, str) or len(value) <= 80
            else f"{value[:60]}... ({len(value)} chars)"
        )
        shown = "" if value is None else f" = {text!r}"
        super().__init__(f"[{section}] {key}{shown}: {allowed}")


class CommandError(DriverError):
    """An Advanced command that cannot be parsed; position is 1-based into the command text."""

    def __init__(self, position: int, reason: str) -> None:
        self.position = position
        self.reason = reason
        super().__init__(f"position {position}: {reason}")


class ShapeError(DriverError):
    """A text value that cannot be turned into the JSON a Jira field expects."""

    def __init__(self, field: str, value: str, expected: str) -> None:
        self.field = field
        self.value = value
        self.expected = expected
        shown = value if len(value) <= 80 else value[:77] + "..."
        super().__init__(f"field {field!r}: cannot use {shown!r}, expected {expected}")


class QueryError(DriverError):
    """A Create Query that is not valid JSON or not a ticket body; line/column are 1-based."""

    def __init__(self, reason: str, line: int | None = None, column: int | None = None) -> None:
        self.reason = reason
        self.line = line
        self.column = column
        where = f"line {line}, column {column}: " if line is not None else ""
        super().__init__(f"{where}{reason}")


class LeaseLost(DriverError, sqlite3.OperationalError):
    """A write fenced by the sender's lease (driver.store.postgres.lease) refused: `node` no longer
    holds the lease of `term` (another node took over, or it lapsed). Nothing of the write stands.

    Also a sqlite3.OperationalError, the store's "cannot write now": the engine's workers wait and
    try the write again (which keeps failing), so a leader that lost its lease records nothing and
    sends nothing journaled first, until it is stopped as a standby."""

    def __init__(self, node: str, term: int) -> None:
        self.node = node
        self.term = term
        super().__init__(f"{node} no longer holds the sender's lease of term {term}: nothing recorded")


class JiraError(DriverError):
    """Jira answered with an error, or could not be reached."""


class JiraRetryable(JiraError):
    """A failure worth retrying later; retry_after is Jira's minimum delay in seconds, if it gave one."""

    def __init__(self, reason: str, retry_after: float | None = None, status: int | None = None) -> None:
        self.reason = reason
        self.retry_after = retry_after
        self.status = status
        """Jira's HTTP status (409, 5xx), None when it gave no answer to read."""
        super().__init__(reason)


class JiraRateLimited(JiraRetryable):
    """A 429. scope is 'issue' for per-issue write limits, 'all' for everything else."""

    def __init__(
        self,
        reason: str,
        retry_after: float | None,
        scope: str,
        reason_header: str | None,
        limit: float | None = None,
    ) -> None:
        self.scope = scope
        self.reason_header = reason_header
        self.limit = limit
        """The requests/s Jira says it allows, when it said (docs/wire-facts.md §8)."""
        super().__init__(reason, retry_after)


class JiraUnavailable(JiraRetryable):
    """Jira as a whole cannot be reached or is down; an outage delays every command, fails none."""


class JiraNotReached(JiraUnavailable):
    """No connection to Jira was made (refused, DNS, a connect timeout, the proxy refused the tunnel):
    nothing of the request left the driver, so it is not in doubt (a 503 or a dropped connection may be)."""


class JiraAuthError(JiraError):
    """A 401: nothing more is sent until the credentials change (DC locks accounts behind a CAPTCHA)."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message
        super().__init__(f"HTTP {status}: {message}")

    def again(self) -> JiraAuthError:
        """The same refusal, to raise again for a later request."""
        return JiraAuthError(self.status, self.message)


class SetupRefused(JiraAuthError):
    """The way to Jira refused before Jira was asked: the OAuth token endpoint refused the client or
    the grant, no consent is stored, or [jira] names the wrong site (cloud id, deployment). Treated
    as a 401 (nothing is sent until the configuration or the consent changes); `message` is the
    whole advice and `kind` its class: "auth" (credentials, consent) or "config" (a [jira] setting).
    """

    def __init__(self, status: int, message: str, kind: Literal["auth", "config"] = "auth") -> None:
        super().__init__(status, message)
        self.kind: Literal["auth", "config"] = kind

    def __str__(self) -> str:
        return self.message

    def again(self) -> SetupRefused:
        return SetupRefused(self.status, self.message, self.kind)


class JiraRejected(JiraError):
    """A permanent 4xx, carrying Jira's errorMessages and per-field errors."""

    def __init__(
        self,
        status: int,
        error_messages: Sequence[str] = (),
        errors: Mapping[str, str] | None = None,
    ) -> None:
        self.status = status
        self.error_messages = list(error_messages)
        self.errors = dict(errors or {})
        parts = list(self.error_messages) + [f"{k}: {v}" for k, v in self.errors.items()]
        super().__init__(f"HTTP {status}: " + ("; ".join(parts) if parts else "no details"))


class TicketArchived(JiraRejected):
    """A change to a ticket refused because its project is archived: Cloud answers 404 as if the
    ticket did not exist, so the driver asks the project (Project.archived) before taking a 404 for a
    deletion. The ticket is kept; the row fails with this reason."""

    def __init__(self, key: str, project: str, answer: JiraRejected) -> None:
        super().__init__(answer.status, answer.error_messages, answer.errors)
        self.args = (
            f"{key} is in archived project {project}: Jira refuses changes to it (HTTP {answer.status});"
            " the ticket is kept, not taken as deleted (unarchive the project in Jira to go on)",
        )


class UnknownFieldError(CommandError):
    """A command names a field the catalog does not know (it may not be loaded from Jira yet)."""


class JiraTimeout(JiraRetryable):
    """Jira took the connection but did not answer in time; repeated across requests, an outage."""


class JiraConnectionLost(JiraTimeout):
    """The connection closed or was reset before Jira's answer came (httpx's RemoteProtocolError,
    ReadError, WriteError): as after a timeout, the request may have been applied, and when it
    repeats across requests Jira is out, not this request (a proxy or load balancer dropping every
    connection): the rows wait instead of using up their attempts."""


class StampAmbiguous(JiraError):
    """A stamp search found several tickets carrying one GUID's stamp: none is adopted.

    The stamp is unique per GUID (driver.model.requests), so more than one means tickets made by
    hand or by a table that sets the same label: a person must decide which one is the alarm's.
    """

    def __init__(self, guid: str, keys: list[str]) -> None:
        self.guid = guid
        self.keys = keys
        shown = ", ".join(keys[:10]) + (" ..." if len(keys) > 10 else "")
        super().__init__(
            f"{len(keys)} tickets carry the stamp of GUID {guid!r} ({shown}): none was adopted;"
            " leave the stamp on one ticket in Jira (or remove the label from the Ticket Creation Table)"
        )


class TransitionFailed(JiraError):
    """No request can move the ticket as asked: no transition leads to the target (the message lists
    what the ticket offers), or the command names a resolution the screen does not offer."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def database_message(reason: object) -> str:
    """The words the status line and a 503 use for a database that refused a write."""
    return f"database unavailable: {reason}"
