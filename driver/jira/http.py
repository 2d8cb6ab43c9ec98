"""What the client reads besides status codes: Retry-After and the rate headers (docs/wire-facts.md,
rate limits), bodies, and the failures before any answer (refused, DNS, TLS, proxy, timeouts),
said in one line with what to do.
"""

from __future__ import annotations

import email.utils
import errno
import socket
import ssl
import urllib.request
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from driver.config_jira import PROXY_URL_HINT, readable_proxy
from driver.errors import (
    ConfigError,
    JiraAuthError,
    JiraConnectionLost,
    JiraError,
    JiraNotReached,
    JiraRateLimited,
    JiraRejected,
    JiraRetryable,
    JiraTimeout,
    JiraUnavailable,
)
from driver.jira.health import Bucket
from driver.model.responses import HeardResponse, ResponseKind, body_head, clean_path, kind_of, mask

TLS_HINT = " (a company CA? set [jira] ca_bundle to its PEM file)"
PLAIN_HTTP_HINT = (
    " (the server answered in plain HTTP: is the URL https:// for an http:// Jira, or the port another one?)"
)


def _tls_hint(error: ssl.SSLError) -> str:
    """What to do about a TLS failure: OpenSSL's WRONG_VERSION_NUMBER is a server that does not speak
    TLS on that port (a CA would not help); otherwise, most often, a CA this host does not trust."""
    return PLAIN_HTTP_HINT if getattr(error, "reason", "") == "WRONG_VERSION_NUMBER" else TLS_HINT


RETRY_AFTER_MAX = 600.0
"""The longest wait a Retry-After (or X-RateLimit-Reset) is taken for, in seconds: a date in a
header is read against this host's wall clock, which may be off by hours; a wait cut short costs one
more request that is refused again."""


def retry_after_seconds(headers: httpx.Headers, now: datetime) -> float | None:
    """Seconds to wait, from Retry-After (seconds or an HTTP-date) or X-RateLimit-Reset
    (docs/wire-facts.md §8), read once on arrival against the wall time `now` and clamped to
    [0, RETRY_AFTER_MAX]: the engine then waits on its monotonic timer."""
    value = headers.get("Retry-After")
    if value:
        try:
            return min(RETRY_AFTER_MAX, max(0.0, float(value)))
        except ValueError:
            try:
                moment = email.utils.parsedate_to_datetime(value)
                return min(RETRY_AFTER_MAX, max(0.0, (moment - now).total_seconds()))
            except (TypeError, ValueError):
                pass
    reset = headers.get("X-RateLimit-Reset")
    if reset:
        try:
            moment = datetime.fromisoformat(reset.replace("Z", "+00:00"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            return min(RETRY_AFTER_MAX, max(0.0, (moment - now).total_seconds()))
        except ValueError:
            return None
    return None


def int_header(response: httpx.Response, name: str) -> int | None:
    value = response.headers.get(name, "").strip()
    return int(value) if value.isdigit() and len(value) <= 9 else None


def rate_hint(response: httpx.Response) -> float | None:
    """The requests/s Jira allows, from its headers (docs/wire-facts.md §8), or None.

    Data Center's token bucket says X-RateLimit-FillRate per X-RateLimit-Interval-Seconds; Cloud's
    burst limit is per second, so its X-RateLimit-Limit is the rate.
    """
    fill = int_header(response, "X-RateLimit-FillRate")
    interval = int_header(response, "X-RateLimit-Interval-Seconds")
    if fill and interval:
        return fill / interval
    limit = int_header(response, "X-RateLimit-Limit")
    return float(limit) if limit else None


def bucket_of(response: httpx.Response, serial: int) -> Bucket | None:
    """The token bucket an answer states, or None (Cloud, or no rate limiting configured)."""
    fill = int_header(response, "X-RateLimit-FillRate")
    interval = int_header(response, "X-RateLimit-Interval-Seconds")
    remaining = int_header(response, "X-RateLimit-Remaining")
    if not fill or not interval or remaining is None:
        return None
    return Bucket(remaining, fill / interval, serial, int_header(response, "X-RateLimit-Limit") or 0)


def body_of(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        text = response.text
        return text if len(text) <= 2000 else text[:2000] + "..."


def error_chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
        if isinstance(current, BaseExceptionGroup):
            seen.extend(current.exceptions)
    return seen


def proxy_for(url: str, proxy: str) -> str:
    """The proxy requests to `url` go through, for messages, when the transport cannot say
    (driver.jira.exchange.Exchange.proxy reads httpx's own choice): the configured one, none for
    'bypass', else the environment's (HTTPS_/HTTP_/ALL_PROXY, unless NO_PROXY names the host) as
    urllib reads them, which differs from httpx for some NO_PROXY forms (a '*' among other
    entries, an entry with a scheme, a leading dot)."""
    if proxy == "bypass":
        return ""
    if proxy:
        return proxy
    target = httpx.URL(url)
    found = urllib.request.getproxies()
    chosen = found.get(target.scheme) or found.get("all", "")
    netloc = target.host + (f":{target.port}" if target.port else "")
    if not chosen or urllib.request.proxy_bypass(netloc):
        return ""
    return chosen if "://" in chosen else f"http://{chosen}"


def unreadable_environment_proxy() -> ConfigError | None:
    """The error for the environment's proxy (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, either case, as
    urllib and so httpx read them) that httpx cannot read as a URL, else None. httpx reads them when
    a client is made and raises with part of the value in its message (a password with '/' in it
    shows its start as the port): this names the variable, never the value."""
    for scheme, value in urllib.request.getproxies().items():
        if scheme in ("https", "http", "all") and value.strip() and not readable_proxy(value):
            return ConfigError(
                "environment",
                f"{scheme.upper()}_PROXY (or {scheme}_proxy)",
                None,
                f"not a proxy URL httpx can read ({PROXY_URL_HINT}), or set [jira] proxy to a proxy"
                " of its own or to bypass",
            )
    return None


def describe_transport_error(
    exc: BaseException, url: str, timeout: float, proxy: str = ""
) -> tuple[str, bool]:
    """Plain words for a failure to reach Jira (or the `proxy` in between), and whether it means
    'unreachable'."""
    text = str(exc) or exc.__class__.__name__
    lowered = text.lower()
    host = httpx.URL(url).host
    if isinstance(exc, httpx.TimeoutException):
        return f"timeout: Jira at {url} did not answer within {timeout:g} s", True
    if isinstance(exc, httpx.ProxyError):
        return f"the proxy {proxy or '(from the environment)'} refused the tunnel to {host}: {text}", True
    if isinstance(exc, httpx.ConnectError):
        for inner in error_chain(exc):
            if isinstance(inner, socket.gaierror) and proxy:
                return f"DNS: cannot resolve the host name of the proxy {proxy}", True
            if isinstance(inner, socket.gaierror):
                return f"DNS: cannot resolve the host name {host!r}", True
            if isinstance(inner, ssl.SSLError):
                return (
                    f"TLS: cannot establish a trusted connection to {host}: {inner}{_tls_hint(inner)}",
                    True,
                )
            if (
                isinstance(inner, ConnectionRefusedError)
                or getattr(inner, "errno", None) == errno.ECONNREFUSED
            ) and proxy:
                return f"connection refused by the proxy {proxy} (is [jira] proxy or *_PROXY right?)", True
            if (
                isinstance(inner, ConnectionRefusedError)
                or getattr(inner, "errno", None) == errno.ECONNREFUSED
            ):
                return (
                    f"connection refused by {host}:{httpx.URL(url).port or ''} (is the URL and port right?)",
                    True,
                )
        if "ssl" in lowered or "certificate" in lowered:
            return f"TLS: cannot establish a trusted connection to {host}: {text}{TLS_HINT}", True
        if any(
            marker in lowered
            for marker in ("name or service not known", "nodename nor servname", "getaddrinfo", "resolve")
        ):
            return f"DNS: cannot resolve the host name {host!r}", True
        if "refused" in lowered:
            return f"connection refused by {host} (is the URL and port right?)", True
        return f"cannot connect to {url}: {text}", True
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
        return f"connection to {host} lost: {text}", True
    return f"cannot reach {url}: {text}", True


def transport_failure(
    exc: httpx.TransportError, request: str, target: str, timeout: float, proxy: str
) -> JiraError:
    """The driver's error for a request (`request`: 'METHOD path') that got no answer from Jira at
    `target`: JiraNotReached when no connection was made (nothing of it left), JiraTimeout or
    JiraConnectionLost when it may have arrived, JiraRetryable otherwise."""
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.ProxyError):
        return JiraNotReached(describe_transport_error(exc, target, timeout, proxy)[0])
    if isinstance(exc, httpx.TimeoutException):
        return JiraTimeout(f"timeout: no answer within {timeout:g} s ({request})")
    message, _ = describe_transport_error(exc, target, timeout, proxy)
    lost = isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError)
    return JiraConnectionLost(message) if lost else JiraRetryable(message)


REQUEST_ID_HEADERS = ("X-AREQUESTID", "Atl-Traceid")
"""Jira's id of a request, for its support and its logs (docs/wire-facts.md §15): Data Center and
Cloud send X-AREQUESTID, Cloud's edge Atl-Traceid."""


def heard_answer(
    method: str,
    path: str,
    params: Mapping[str, Any] | None,
    response: httpx.Response,
    duration_ms: float,
    at: datetime,
    secrets: tuple[str, ...],
    kind: ResponseKind | None = None,
) -> HeardResponse:
    """The Responses table's record of an answer (driver.model.responses), secrets masked; `kind`
    None: read from the method and path."""
    headers = response.headers
    request_id = next((headers[name] for name in REQUEST_ID_HEADERS if name in headers), None)
    return HeardResponse(
        at=at,
        method=method,
        path=clean_path(path, params, secrets),
        kind=kind or kind_of(method, path),
        status=response.status_code,
        duration_ms=round(duration_ms, 1),
        retry_after=headers.get("Retry-After"),
        rate_limit_reason=headers.get("RateLimit-Reason"),
        request_id=mask(request_id, secrets) if request_id else None,
        body=body_head(response.content, secrets),
    )


def heard_failure(
    method: str,
    path: str,
    params: Mapping[str, Any] | None,
    error: str,
    duration_ms: float,
    at: datetime,
    secrets: tuple[str, ...],
    kind: ResponseKind | None = None,
) -> HeardResponse:
    """The Responses table's record of a request that got no answer (`error` says why)."""
    return HeardResponse(
        at=at,
        method=method,
        path=clean_path(path, params, secrets),
        kind=kind or kind_of(method, path),
        status=None,
        duration_ms=round(duration_ms, 1),
        error=mask(error, secrets),
    )


PER_ISSUE_REASON = "jira-per-issue-on-write"
"""Cloud's RateLimit-Reason for the per-issue write limit (docs/wire-facts.md §8)."""

CAPTCHA_LOCK = (
    "the account is locked behind a CAPTCHA after failed logins (X-Seraph-LoginReason:"
    " AUTHENTICATION_DENIED): log in to Jira once in a browser, then set the credentials again"
)


def _login_denied(response: httpx.Response) -> bool:
    """A 403 that refuses the login itself (docs/wire-facts.md §9): Data Center answers so to every
    request of an account locked behind a CAPTCHA."""
    reason = str(response.headers.get("X-Seraph-LoginReason", ""))
    denied = str(response.headers.get("X-Authentication-Denied-Reason", ""))
    return reason.upper() == "AUTHENTICATION_DENIED" or denied.upper().startswith("CAPTCHA_CHALLENGE")


def answer_error(response: httpx.Response, now: datetime, secrets: tuple[str, ...] = ()) -> JiraError:
    """The error an answer of 300 or more stands for (docs/wire-facts.md §7, §8, §9): 401 (and DC's
    CAPTCHA lock) JiraAuthError, 429 JiraRateLimited, 502-504 JiraUnavailable, 409 and other 5xx
    JiraRetryable, anything else JiraRejected with Jira's errorMessages and per-field errors.
    `secrets` (driver.model.responses.secret_forms) are masked in every text taken from the body:
    the error reaches the log table, the driver's log and the API."""
    status = response.status_code
    body = body_of(response)
    messages: list[str] = []
    errors: dict[str, str] = {}
    if isinstance(body, dict):
        raw_messages = body.get("errorMessages")
        if isinstance(raw_messages, list):
            messages = [mask(str(m), secrets) for m in raw_messages]
        raw_errors = body.get("errors")
        if isinstance(raw_errors, dict):
            errors = {mask(str(k), secrets): mask(str(v), secrets) for k, v in raw_errors.items()}
    elif isinstance(body, str) and body.strip() and len(body) < 300:
        messages = [mask(body.strip(), secrets)]
    detail = "; ".join(messages + [f"{k}: {v}" for k, v in errors.items()])
    if status == 401:
        return JiraAuthError(status, detail or "Jira rejected the credentials")
    if status == 403 and _login_denied(response):
        # Data Center's CAPTCHA lock after failed logins: every request fails until a person
        # logs in in a browser, so it is a refusal of the credentials, not of one request
        return JiraAuthError(status, CAPTCHA_LOCK)
    if status == 429:
        reason_header = response.headers.get("RateLimit-Reason")
        scope = "issue" if reason_header == PER_ISSUE_REASON else "all"
        retry_after = retry_after_seconds(response.headers, now)
        text = f"HTTP 429 rate limited ({reason_header or 'no reason given'})"
        return JiraRateLimited(
            text, retry_after, scope, reason_header, int_header(response, "X-RateLimit-Limit")
        )
    if status in (502, 503, 504):
        retry_after = retry_after_seconds(response.headers, now)
        text = f"HTTP {status} {response.reason_phrase}".rstrip()
        return JiraUnavailable(text + (f": {detail}" if detail else ""), retry_after)
    if status == 409 or status >= 500:
        retry_after = retry_after_seconds(response.headers, now)
        return JiraRetryable(f"HTTP {status}" + (f": {detail}" if detail else ""), retry_after, status)
    return JiraRejected(status, messages, errors)
