"""A person's consent (OAuth 2.0 authorization code with PKCE, 3LO): the consent URL, the code read
back from the callback (its `state` checked), and the code exchanged for the first token pair.

Wire facts (docs/wire-facts.md §9, §14): Cloud authorizes at `{auth_url}/authorize` with
`audience=api.atlassian.com` and `prompt=consent`, scopes `read:jira-work write:jira-work
read:jira-user offline_access` (offline_access gives the refresh token); Data Center at
`{url}/rest/oauth2/latest/authorize`, scope READ or WRITE. URL building, PKCE and the callback's
parsing are Authlib's (RFC 6749, RFC 7636).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx
from authlib.common.security import generate_token
from authlib.oauth2.rfc6749.errors import MismatchingStateException, MissingCodeException
from authlib.oauth2.rfc6749.parameters import parse_authorization_code_response, prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from driver.config_jira import CLOUD_3LO_SCOPE, JiraSection
from driver.jira.oauth import Advice, TokenEndpoint
from driver.model.consent import TokenAnswer


class ConsentRefused(ValueError):
    """The callback cannot be used (no code, a state that does not match, the person said no):
    nothing is stored."""


@dataclass(frozen=True)
class LoginRequest:
    """One consent asked for: the URL to open and what the answer must match."""

    url: str
    redirect_uri: str
    scope: str
    state: str = field(repr=False)
    verifier: str = field(repr=False)


def login_request(jira: JiraSection, cloud: bool) -> LoginRequest:
    """A fresh consent URL for [jira]'s client, with a new state and PKCE verifier."""
    state = generate_token(32)
    verifier = generate_token(64)
    extra: dict[str, str] = {}
    if cloud:
        base = f"{jira.auth_url}/authorize"
        scope = jira.oauth_scope or CLOUD_3LO_SCOPE
        extra = {"audience": "api.atlassian.com", "prompt": "consent"}
    else:
        base = f"{jira.url}/rest/oauth2/latest/authorize"
        scope = jira.oauth_scope or "WRITE"
    url = prepare_grant_uri(
        base,
        jira.client_id,
        "code",
        redirect_uri=jira.redirect_uri,
        scope=scope,
        state=state,
        code_challenge=create_s256_code_challenge(verifier),
        code_challenge_method="S256",
        **extra,
    )
    return LoginRequest(str(url), jira.redirect_uri, scope, state, verifier)


def code_from(answer: str, request: LoginRequest) -> str:
    """The authorization code in the callback URL (or its query) a person's browser was sent to.

    Raises ConsentRefused when the person refused, when there is no code, or when the state is not
    the one this login sent (a stale or forged callback).
    """
    text = answer.strip()
    not_callback = ConsentRefused(
        f"that is not a URL of the callback {request.redirect_uri}: paste the address the browser"
        " shows after you consent"
    )
    if "://" not in text:
        if not any(key in text for key in ("code=", "error=", "state=")):
            raise not_callback  # not a callback's query either
        text = "http://callback/" + (text if text.startswith("?") else "?" + text)
    else:
        pasted, expected = httpx.URL(text), httpx.URL(request.redirect_uri)
        if (pasted.host, pasted.port, pasted.path) != (expected.host, expected.port, expected.path):
            # a URL from elsewhere (the consent page itself, another app's callback) holds no code
            # of this login's; the state check would refuse it too, with a less useful reason
            raise not_callback
    query = dict(httpx.URL(text).params)
    if "error" in query:
        said = query.get("error_description") or query["error"]
        raise ConsentRefused(f"the consent was refused: {said[:200]}")
    try:
        params = parse_authorization_code_response(text, state=request.state)
    except MismatchingStateException:
        raise ConsentRefused(
            "the callback's state is not this login's (a stale or forged callback): nothing stored"
        ) from None
    except MissingCodeException:
        raise ConsentRefused("the callback carries no code: paste the whole URL the browser shows") from None
    return str(params["code"])


async def exchange(
    http: httpx.AsyncClient, token_url: str, jira: JiraSection, request: LoginRequest, code: str
) -> TokenAnswer:
    """Trade the code for the first token pair. Raises what TokenEndpoint.grant raises."""
    endpoint = TokenEndpoint(http, token_url, jira.client_id, jira.client_secret_trimmed()[0])
    return await endpoint.grant(
        "authorization_code",
        Advice(
            "the code was refused (used already, more than 10 minutes old, or [jira] redirect_uri is"
            " not the app's callback URL exactly): run `jira-driver auth login` again",
            "check [jira] oauth_scope against the app's scopes, then log in again",
        ),
        code=code,
        redirect_uri=request.redirect_uri,
        code_verifier=request.verifier,
    )
