"""`jira-driver auth login | status | logout`: a person's consent for [jira] auth = oauth_3lo, and
what the configured credentials are and when they expire (never the tokens themselves).

login prints the consent URL and takes the code from the browser's redirect: on a loopback
redirect_uri it listens there for it; with --paste (a headless host) it reads the URL the browser
was sent to from stdin. A callback whose state is not this login's is refused and nothing is
stored. The first token pair is kept in `<database>.oauth` (0600), and proven at once by asking
Jira who it is. Exit: 0 stored, 1 refused (by the person, the token endpoint or Jira), 2 bad
configuration or a paste that is not this login's callback (nothing stored), 3 Jira or the token
endpoint cannot be reached, 130 interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from driver.cli.exit_codes import ExitCode
from driver.cli.output import say
from driver.config import Config
from driver.config_jira import AuthChoice
from driver.database_url import is_postgresql
from driver.errors import JiraAuthError, JiraError, JiraRetryable, SetupRefused

STILL_VALID = (
    "the grant itself stays valid at the site until the person revokes the app in their account's"
    " profile (Cloud: Connected apps) or its refresh token goes 90 days unused"
)
"""Atlassian offers no endpoint to revoke a 3LO grant (wire facts §14): only the person can."""


def main(args: argparse.Namespace, config: Config) -> int:
    """`jira-driver auth ACTION`."""
    if is_postgresql(config.driver.database):
        # the driver refuses oauth_3lo with a pair (Config.check_for_the_driver): a consent taken
        # here would never be used
        say(
            f"jira-driver auth {args.action}: a pair (a PostgreSQL [driver] database) cannot use one"
            " person's consent (oauth_3lo): use oauth_client_credentials, a token or basic credentials"
        )
        return ExitCode.BAD_INPUT
    if args.action == "status":
        return _status(args, config)
    if args.action == "logout":
        from driver.store.oauth_grant import GrantFile

        grants = GrantFile(Path(config.driver.database))
        if not grants.forget():
            print("ok: no consent was stored")
            return ExitCode.OK
        print(f"ok: consent removed ({grants.path}); {STILL_VALID}")
        return ExitCode.OK
    return _login(args, config)


def _login(args: argparse.Namespace, config: Config) -> int:
    jira = config.jira
    if jira.auth != AuthChoice.OAUTH_3LO:
        say("jira-driver auth login: [jira] auth is not oauth_3lo: set it (and client_id, client_secret)")
        return ExitCode.BAD_INPUT
    secret, warning = jira.client_secret_trimmed()
    if not jira.client_id or not secret:
        say("jira-driver auth login: [jira] client_id and client_secret are needed (the OAuth app's)")
        return ExitCode.BAD_INPUT
    if warning:
        say(f"warning: {warning}")
    try:
        return asyncio.run(_consent(args, config))
    except JiraAuthError as exc:
        say(f"failed: {exc.message}")
        return (
            ExitCode.BAD_INPUT if isinstance(exc, SetupRefused) and exc.kind == "config" else ExitCode.FAILED
        )
    except JiraRetryable as exc:
        say(f"failed: {exc.reason}")
        return ExitCode.UNREACHABLE
    except JiraError as exc:
        say(f"failed: {exc}")
        return ExitCode.FAILED


async def _consent(args: argparse.Namespace, config: Config) -> int:
    from driver.jira.client import JiraClient
    from driver.jira.consent import ConsentRefused, code_from, exchange, login_request
    from driver.jira.route import is_cloud, token_url_for
    from driver.model.consent import Grant
    from driver.service.process import is_loopback
    from driver.store.oauth_grant import GrantFile

    jira = config.jira
    grants = GrantFile(Path(config.driver.database))
    client = JiraClient.from_config(jira, grants=grants)
    http = client.plain_http()
    try:
        cloud = await is_cloud(http, client.access.setup)
        request = login_request(jira, cloud)
        try:
            earlier = grants.read()
        except ValueError:
            earlier = None  # not a consent: replaced by this one
        print("Open this URL in a browser, log in as the account the driver should act as, and consent:")
        print(request.url, flush=True)
        try:
            if args.paste or not is_loopback(urlsplit(request.redirect_uri).hostname or ""):
                answer = _read_paste()
            else:
                server = _CallbackServer(request.redirect_uri)  # listening before it is announced
                print(f"Waiting for the browser's callback on {request.redirect_uri} ...", flush=True)
                answer = await asyncio.to_thread(server.wait, args.timeout)
            code = code_from(answer, request)
        except ConsentRefused as exc:
            say(f"refused: {exc}")
            return ExitCode.BAD_INPUT  # nothing changed: the kept consent, if any, stands
        except TimeoutError:
            say(f"failed: no callback on {request.redirect_uri} within {args.timeout:g} s; nothing stored")
            return ExitCode.FAILED
        except OSError as exc:
            say(
                f"failed: cannot listen on {request.redirect_uri} ({exc.strerror or exc}): free the port,"
                " change [jira] redirect_uri (and the app's callback URL), or use --paste; nothing stored"
            )
            return ExitCode.FAILED
        tokens = await exchange(http, token_url_for(client.access.setup, cloud), jira, request, code)
        if not tokens.refresh_token:
            say(
                "failed: the token endpoint gave no refresh token: the app must ask for offline_access"
                " (Cloud) in [jira] oauth_scope"
            )
            return ExitCode.FAILED
        now = datetime.now(UTC)
        scope = tokens.scope or request.scope
        expires = now + timedelta(seconds=tokens.expires_in)
        grants.write(Grant(jira.url, tokens.refresh_token, tokens.access_token, scope, "", now, now, expires))
        # proves the access token end to end (the gateway, Jira) and learns who consented
        me = await client.current_user()
        kept = grants.read()
        assert kept is not None
        user = me.display_name or min(me.ids, default="?")
        grants.write(replace(kept, user=user))
        dies = kept.refresh_dies().date().isoformat()
        print(
            f"ok: {user} consented for {jira.url} (scopes: {kept.scope}); kept in {grants.path};"
            f" the refresh token dies on {dies} unless used"
        )
        if earlier is not None:
            say(
                f"note: this replaced the consent of {earlier.user or '?'} given"
                f" {earlier.consented_at:%Y-%m-%d}; {STILL_VALID}"
            )
        await _tell_the_driver(config)
        return ExitCode.OK
    finally:
        await http.aclose()
        await client.aclose()


async def _tell_the_driver(config: Config) -> None:
    """A driver running on this database, stopped by a refused consent, resumes once its check
    passes: ask it for one (nothing is said when no driver answers)."""
    from driver.contract.client import DriverClient, DriverClientError

    try:
        async with DriverClient.from_config(config, timeout=10) as client:
            result = await client.check()
    except (DriverClientError, OSError):
        return
    state = "resumes" if result.connected else "still cannot reach Jira"
    print(f"the running driver {state}: {result.message}")


def _read_paste() -> str:
    """The URL a person pastes. Raises ConsentRefused at the end of input; Ctrl-C interrupts at
    once (asyncio's own SIGINT handler would only cancel the loop that input() is blocking)."""
    from driver.jira.consent import ConsentRefused

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # before the prompt shows
    try:
        print("Paste the whole URL the browser was sent to after consenting, then Enter:", flush=True)
        return input().strip()
    except EOFError:
        raise ConsentRefused("no URL was pasted (the input ended): nothing stored") from None
    finally:
        signal.signal(signal.SIGINT, previous)


class _Callback(BaseHTTPRequestHandler):
    """Takes the browser's redirect to redirect_uri's path; the server keeps its URL."""

    server: _CallbackServer

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        if urlsplit(self.path).path != self.server.path:
            self.send_error(404)
            return
        self.server.received.append(self.server.origin + self.path)
        body = b"jira-driver: the consent was received; you may close this window.\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return None  # the callback's query holds the code: it is not printed


class _CallbackServer(HTTPServer):
    def __init__(self, redirect_uri: str) -> None:
        parts = urlsplit(redirect_uri)
        self.path = parts.path or "/"
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.received: list[str] = []
        super().__init__((parts.hostname or "127.0.0.1", parts.port or 80), _Callback)
        self.timeout = 0.5

    def wait(self, timeout: float) -> str:
        """Serve until the callback arrives: its URL. TimeoutError after `timeout` seconds."""
        end = time.monotonic() + timeout
        try:
            while not self.received:
                if time.monotonic() >= end:
                    raise TimeoutError
                self.handle_request()
        finally:
            self.server_close()
        return self.received[0]


def _status(args: argparse.Namespace, config: Config) -> int:
    from driver.jira.auth import credentials_from_config
    from driver.jira.oauth import NO_CONSENT
    from driver.model.expiry import expiry_warning
    from driver.store.oauth_grant import GrantFile

    jira = config.jira
    mode = credentials_from_config(jira).mode
    facts: dict[str, object] = {"mode": mode, "site": jira.url}
    lines = [f"auth: {mode} for {jira.url}"]
    dies = None
    if mode == "oauth_3lo":
        try:
            grant = GrantFile(Path(config.driver.database)).read()
        except (OSError, ValueError) as exc:
            say(f"failed: {exc}")
            return ExitCode.FAILED
        if grant is None:
            if args.json:
                print(json.dumps(facts | {"user": None, "warning": NO_CONSENT}))
            else:
                say(f"failed: {NO_CONSENT}")
            return ExitCode.FAILED
        dies = grant.refresh_dies()
        facts |= {
            "user": grant.user,
            "scope": grant.scope,
            "consented_at": grant.consented_at.isoformat(),
            "refreshed_at": grant.refreshed_at.isoformat(),
            "refresh_token_dies": dies.isoformat(),
        }
        lines.append(
            f"consent of {grant.user or '?'} (scopes: {grant.scope}), given {grant.consented_at:%Y-%m-%d}"
        )
        lines.append(f"last refreshed {grant.refreshed_at:%Y-%m-%d %H:%M} UTC")
        lines.append(f"the refresh token dies on {dies:%Y-%m-%d} unless used")
    elif mode == "oauth_client_credentials":
        lines.append(f"service account client {jira.client_id}: access tokens are minted as needed")
    elif (expires := jira.token_expiry()) is not None:
        facts["token_expires"] = expires.isoformat()
        lines.append(f"the token expires on {expires.isoformat()} ([jira] token_expires)")
    warning = expiry_warning(jira.token_expiry(), dies.date() if dies else None, datetime.now(UTC).date())
    facts["warning"] = warning
    if args.json:
        print(json.dumps(facts))
        return ExitCode.OK
    for line in lines:
        print(line)
    if warning:
        print(f"warning: {warning}")
    return ExitCode.OK
