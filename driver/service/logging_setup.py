"""The driver's own log on stderr: plain lines, or JSON lines a log store (Loki, Elasticsearch)
filters on, written by python-json-logger.

Every JSON line has `time` (UTC, ISO 8601), `level`, `logger`, `event` and `message`; events about
a row add what people query: `guid`, `log_id`, `action`, `ticket`, `jira_status`, `outcome`,
`duration_ms`, `reason` (passed as `extra=` by the code that logs them; `event` defaults to
`log`). Secrets never reach a line: the configured ones are masked in every message and field
(SecretFilter), whatever the code that logged them meant to write.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from pythonjsonlogger.json import JsonFormatter

from driver.model.responses import secret_forms
from driver.service.connection_guard import RepeatFilter

MASK = "[secret]"
EVENT_FIELDS = (
    "event",
    "guid",
    "log_id",
    "action",
    "ticket",
    "jira_status",
    "outcome",
    "duration_ms",
    "reason",
)


SHORT_SECRET = 16
"""A secret shorter than this (a password such as `admin`) is masked where it stands alone, not
inside a longer word: "[secret]istrator" would tell a reader the password."""


def _secret_pattern(secret: str) -> str:
    """The secret as a pattern: a short one may not continue a letter or digit on an edge that is
    itself a letter or digit (an edge such as `!` always ends a word, so it is masked anyway)."""
    text = re.escape(secret)
    if len(secret) >= SHORT_SECRET:
        return text
    before = r"(?<![^\W_])" if secret[0].isalnum() else ""
    after = r"(?![^\W_])" if secret[-1].isalnum() else ""
    return before + text + after


def masking_words(named: Iterable[tuple[str, str]]) -> list[str]:
    """Warnings for the secrets that are a plain short word (`admin`, `pair`): the log masks every
    word equal to one, so lines about something else lose words, and such a secret is easy to
    guess. `named`: (where it is set, value), as Config.named_secrets gives them."""
    return [
        f"{where} is a short plain word: every such word in this log is shown as {MASK}, and it is"
        " easy to guess; a long random value is safer (e.g. `openssl rand -hex 16`)"
        for where, secret in named
        if len(secret) < SHORT_SECRET and secret.isalpha() and len(secret) >= 4
    ]


class SecretFilter(logging.Filter):
    """Masks every secret (4 characters or more) in a record's message and its extra fields, in
    each form an answer may echo it (driver.model.responses.secret_forms: JSON-escaped,
    percent-encoded, the base64 of a Basic header); a form shorter than SHORT_SECRET only where no
    letter or digit touches it.

    secrets: the configured ones; username: the Jira user a Basic header pairs them with. `watch`
    adds a source of forms read again at each record: the Jira client's present credentials, which
    a person may change while the driver runs (PUT /api/settings/auth).
    """

    def __init__(self, secrets: Iterable[str], username: str = "") -> None:
        super().__init__()
        self._fixed = secret_forms(secrets, username)
        self._sources: list[Callable[[], tuple[str, ...]]] = []
        self._watched: tuple[str, ...] = ()
        self._pattern = self._compile(())

    @property
    def secrets(self) -> tuple[str, ...]:
        """The forms masked now, longest first."""
        return tuple(sorted(set(self._fixed) | set(self._watched), key=len, reverse=True))

    def watch(self, source: Callable[[], tuple[str, ...]]) -> None:
        """Mask what `source` gives too, as it is at each record (it must be cheap and not log)."""
        self._sources.append(source)

    def _compile(self, watched: tuple[str, ...]) -> re.Pattern[str] | None:
        self._watched = watched
        forms = self.secrets
        return re.compile("|".join(_secret_pattern(s) for s in forms)) if forms else None

    def filter(self, record: logging.LogRecord) -> bool:
        if self._sources:
            watched = tuple(form for source in self._sources for form in source())
            if watched != self._watched:
                self._pattern = self._compile(watched)
        if self._pattern is None:
            return True
        message = record.getMessage()
        masked = self._mask(message)
        if masked != message or record.args:
            record.msg, record.args = masked, ()
        for name in EVENT_FIELDS:
            value = getattr(record, name, None)
            if isinstance(value, str):
                setattr(record, name, self._mask(value))
        return True

    def _mask(self, text: str) -> str:
        return text if self._pattern is None else self._pattern.sub(MASK, text)


def watch_secrets(source: Callable[[], tuple[str, ...]]) -> None:
    """Have the log mask what `source` gives as well (SecretFilter.watch), on every handler
    setup_logging installed; nothing when it was not called (tests, the CLI's other commands)."""
    for handler in logging.getLogger().handlers:
        for installed in handler.filters:
            if isinstance(installed, SecretFilter):
                installed.watch(source)


class _Json(JsonFormatter):
    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        super().add_fields(log_data, record, message_dict)
        log_data["time"] = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        log_data["level"] = record.levelname.lower()
        log_data["logger"] = record.name
        log_data.setdefault("event", "log")


def setup_logging(json_lines: bool, secrets: Iterable[str] = (), username: str = "") -> None:
    """Plain lines (or JSON lines) on stderr; httpx's per-request lines stay quiet.

    Repeated records of one kind are rate-limited (connection_guard.RepeatFilter): a flood of one
    failure must not fill the disk.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RepeatFilter())
    handler.addFilter(SecretFilter(secrets, username))
    if json_lines:
        handler.setFormatter(_Json("%(message)s", json_ensure_ascii=False))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    for noisy in ("httpx", "httpcore", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
