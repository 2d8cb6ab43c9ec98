"""OAuth 2.0 as Atlassian's servers behave (docs/wire-facts.md §9, §13, §14): the registered clients,
the access tokens they were given, authorization codes, and refresh tokens that rotate.

Pure state on the simulator's clock; jira_sim.routes.oauth speaks HTTP for it. Rules held:
- client credentials: Cloud refuses a `scope` (invalid_scope), Data Center needs READ or WRITE; no
  refresh token;
- authorization code: single use, 10 minutes, bound to its redirect_uri and PKCE challenge;
- refresh: the token sent is disabled and a new pair given; a disabled one reused within the
  leeway gives a new pair again, outside it revokes the whole grant; Data Center's refresh must
  repeat the grant's redirect_uri;
- Cloud's OAuth access tokens work only through the gateway.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import secrets
from dataclasses import dataclass, field
from typing import Literal

CODE_LIFETIME = 600.0
"""Seconds an authorization code is good for (single use)."""
GRANTS = ("client_credentials", "authorization_code", "refresh_token")
"""The grant types the token endpoints know; any other is `unsupported_grant_type`."""


@dataclass(frozen=True)
class OAuthClientSpec:
    """A registered client: a service account's credential (`service`) or a 3LO app (`app`);
    `user` is who a service account acts as, and who consents to an app by default."""

    client_id: str
    secret: str
    user: str
    kind: Literal["service", "app"]


DEFAULT_CLIENTS = (
    OAuthClientSpec("sim-service", "sim-service-secret", "admin", "service"),
    OAuthClientSpec("sim-app", "sim-app-secret", "admin", "app"),
)


class OAuthRefusal(Exception):
    """An OAuth error answer (RFC 6749 §5.2): status and `error` code."""

    def __init__(self, status: int, error: str, description: str = "") -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.description = description


@dataclass
class AccessGrant:
    """What an access token stands for."""

    user: str
    client_id: str
    expires_at: float
    scope: str
    grant_id: int | None = None


@dataclass
class _Code:
    client_id: str
    user: str
    redirect_uri: str
    scope: str
    challenge: str
    method: str
    expires_at: float


@dataclass
class _Refresh:
    grant_id: int
    disabled_at: float | None = None
    """When a refresh used it (rotation); reused within the leeway it still works."""


@dataclass
class _Consent:
    user: str
    client_id: str
    scope: str
    redirect_uri: str
    revoked: bool = False
    newest_refresh: str = ""
    """The refresh token given last for this consent (what a client should now hold)."""


@dataclass
class OAuthState:
    """Every token the simulator gave; `reset` forgets them all."""

    clients: tuple[OAuthClientSpec, ...] = DEFAULT_CLIENTS
    cloud: bool = False
    access: dict[str, AccessGrant] = field(default_factory=dict)
    requests: dict[str, int] = field(default_factory=dict)
    """Token requests by known grant type (GRANTS), refused ones included."""
    token_requests: int = 0
    """Every token request, an unknown or missing grant_type included."""
    revoked_grants: int = 0
    _codes: dict[str, _Code] = field(default_factory=dict)
    _refresh: dict[str, _Refresh] = field(default_factory=dict)
    _consents: dict[int, _Consent] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def reset(self) -> None:
        self.access.clear()
        self.requests.clear()
        self.token_requests = 0
        self.revoked_grants = 0
        self._codes.clear()
        self._refresh.clear()
        self._consents.clear()

    def client(self, client_id: str, secret: str | None) -> OAuthClientSpec:
        """The client these credentials name (secret None: not checked, as at /authorize)."""
        for spec in self.clients:
            if spec.client_id == client_id and (
                secret is None or secrets.compare_digest(spec.secret, secret)
            ):
                return spec
        raise OAuthRefusal(401, "invalid_client", "Unauthorized: unknown client or wrong secret")

    def authorize(
        self,
        client_id: str,
        redirect_uri: str,
        scope: str,
        challenge: str,
        method: str,
        user: str,
        now: float,
    ) -> str:
        """A person (`user`, or the client's own) consents: a new authorization code."""
        spec = self.client(client_id, None)
        if spec.kind != "app":
            raise OAuthRefusal(400, "unauthorized_client", "this client cannot ask for consent")
        code = secrets.token_urlsafe(24)
        self._codes[code] = _Code(
            client_id,
            user or spec.user,
            redirect_uri,
            scope,
            challenge,
            method or "plain",
            now + CODE_LIFETIME,
        )
        return code

    def token(self, form: dict[str, str], ttl: float, leeway: float, now: float) -> dict[str, object]:
        """One token request's answer body. Raises OAuthRefusal."""
        grant_type = form.get("grant_type", "")
        self.token_requests += 1
        if not grant_type:
            raise OAuthRefusal(400, "invalid_request", "grant_type is missing")
        if grant_type not in GRANTS:
            raise OAuthRefusal(400, "unsupported_grant_type", f"unsupported grant_type {grant_type}")
        self.requests[grant_type] = self.requests.get(grant_type, 0) + 1
        needed = {
            "client_credentials": ("client_id", "client_secret"),
            "authorization_code": ("client_id", "client_secret", "code", "redirect_uri"),
            "refresh_token": ("client_id", "client_secret", "refresh_token"),
        }[grant_type]
        missing = [name for name in needed if not form.get(name)]
        if missing:
            # RFC 6749 §5.2: a required parameter absent is invalid_request, before any lookup
            raise OAuthRefusal(400, "invalid_request", f"missing parameter(s): {', '.join(missing)}")
        spec = self.client(form["client_id"], form["client_secret"])
        if grant_type == "client_credentials":
            return self._client_credentials(spec, form.get("scope", ""), ttl, now)
        if spec.kind != "app":
            raise OAuthRefusal(400, "unauthorized_client", "a service account has no consent")
        if grant_type == "authorization_code":
            return self._code(spec, form, ttl, now)
        return self._rotate(spec, form, ttl, leeway, now)

    def _client_credentials(
        self, spec: OAuthClientSpec, scope: str, ttl: float, now: float
    ) -> dict[str, object]:
        if spec.kind != "service":
            raise OAuthRefusal(400, "unauthorized_client", "client credentials are for service accounts")
        if self.cloud and scope:
            raise OAuthRefusal(400, "invalid_scope", "scopes are set on the credential, not in the request")
        words = set(scope.split())
        if not self.cloud and (not words or not words <= {"READ", "WRITE"}):
            raise OAuthRefusal(400, "invalid_scope", "scope must be READ or WRITE")
        granted = scope or "read:jira-work write:jira-work read:jira-user"
        return self._access_answer(spec.user, spec.client_id, granted, ttl, now, None)

    def _code(self, spec: OAuthClientSpec, form: dict[str, str], ttl: float, now: float) -> dict[str, object]:
        # Atlassian answers a bad grant 403 on Cloud (as for a refresh token, §9), DC 400
        status = 403 if self.cloud else 400
        code = self._codes.pop(form["code"], None)  # single use: gone whatever follows
        if code is None or code.expires_at < now or code.client_id != spec.client_id:
            raise OAuthRefusal(status, "invalid_grant", "Invalid authorization code")
        if form["redirect_uri"] != code.redirect_uri:
            raise OAuthRefusal(status, "invalid_grant", "redirect_uri does not match")
        if code.challenge and not _verifier_matches(
            form.get("code_verifier", ""), code.challenge, code.method
        ):
            raise OAuthRefusal(status, "invalid_grant", "PKCE verification failed")
        grant_id = next(self._ids)
        self._consents[grant_id] = _Consent(code.user, spec.client_id, code.scope, code.redirect_uri)
        refresh = not self.cloud or "offline_access" in code.scope.split()
        return self._access_answer(
            code.user, spec.client_id, code.scope, ttl, now, grant_id if refresh else None
        )

    def _rotate(
        self, spec: OAuthClientSpec, form: dict[str, str], ttl: float, leeway: float, now: float
    ) -> dict[str, object]:
        unknown = OAuthRefusal(403, "invalid_grant", "Unknown or invalid refresh token.")
        if not self.cloud:
            unknown = OAuthRefusal(400, "invalid_grant")
        entry = self._refresh.get(form["refresh_token"])
        consent = self._consents.get(entry.grant_id) if entry is not None else None
        if entry is None or consent is None or consent.revoked or consent.client_id != spec.client_id:
            raise unknown
        if not self.cloud and form.get("redirect_uri", "") != consent.redirect_uri:
            raise OAuthRefusal(400, "invalid_grant")
        if entry.disabled_at is not None and now - entry.disabled_at > leeway:
            # reuse outside the leeway: every token of the grant dies (the person consents again)
            consent.revoked = True
            self.revoked_grants += 1
            for token, grant in list(self.access.items()):
                if grant.grant_id == entry.grant_id:
                    del self.access[token]
            raise unknown
        if entry.disabled_at is None:
            entry.disabled_at = now
        return self._access_answer(consent.user, spec.client_id, consent.scope, ttl, now, entry.grant_id)

    def _access_answer(
        self, user: str, client_id: str, scope: str, ttl: float, now: float, grant_id: int | None
    ) -> dict[str, object]:
        token = "sim-at-" + secrets.token_urlsafe(24)
        self.access[token] = AccessGrant(user, client_id, now + ttl, scope, grant_id)
        answer: dict[str, object] = {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": int(ttl),
            "scope": scope,
        }
        if grant_id is not None:
            refresh = "sim-rt-" + secrets.token_urlsafe(24)
            self._refresh[refresh] = _Refresh(grant_id)
            self._consents[grant_id].newest_refresh = refresh
            answer["refresh_token"] = refresh
        return answer

    def expire_all(self, now: float) -> int:
        """Every access token given so far expires now (a renewal test's mid-stream expiry)."""
        for grant in self.access.values():
            grant.expires_at = min(grant.expires_at, now)
        return len(self.access)

    def counts(self) -> dict[str, object]:
        """GET /_sim/oauth: `{"token_requests": n, "by_grant": {grant: n} (grants asked for at least
        once), "revoked_grants": n, "access_tokens": n (given, not revoked), "last_refresh_tokens":
        [the newest refresh token of each live consent, oldest consent first]}`."""
        return {
            "token_requests": self.token_requests,
            "by_grant": dict(self.requests),
            "revoked_grants": self.revoked_grants,
            "access_tokens": len(self.access),
            "last_refresh_tokens": [
                c.newest_refresh for c in self._consents.values() if not c.revoked and c.newest_refresh
            ],
        }


def _verifier_matches(verifier: str, challenge: str, method: str) -> bool:
    if method == "S256":
        digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == challenge
    return verifier == challenge
