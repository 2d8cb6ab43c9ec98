"""The Jira REST client: one pooled httpx.AsyncClient (aiohttp's pool under it on the direct route:
driver.jira.transport), auth flows, and the one place that reads
HTTP status codes and turns them into the driver.errors tree.

    2xx            -> a typed result
    401            -> JiraAuthError          (the engine stops sending until credentials change)
    429            -> JiraRateLimited        (scope 'issue' for jira-per-issue-on-write, else 'all';
                                              retry_after from Retry-After or X-RateLimit-Reset)
    502, 503, 504  -> JiraUnavailable        (Jira as a whole is down or behind a dead gateway;
                                              retry_after from Retry-After; no __cause__)
    connect failures -> JiraUnavailable      (refused, DNS, TLS, connect timeout, the proxy: the
                                              request never left; the httpx error is __cause__)
    409, other 5xx -> JiraRetryable          (this request; retry_after from Retry-After)
    timeout -> JiraTimeout, connection lost -> JiraConnectionLost (it may have arrived; __cause__)
    other 4xx      -> JiraRejected           (Jira's errorMessages / errors)

A JiraUnavailable with a __cause__ proves nothing reached Jira; one without (a gateway's 502/504, or
a 503) was answered by something in front of Jira or by Jira, so the request may have reached it.

Secrets never leave the client in text: the auth objects' reprs mask them like httpx's `[secure]`,
errors carry no headers, and Jira's answers are masked (`secret_forms`) before anything keeps them.
Headers and transport failures are read in driver.jira.http; `check` in driver.jira.check.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from driver.clock import Clock, utc_now
from driver.config_jira import JiraSection
from driver.errors import (
    JiraAuthError,
    JiraRateLimited,
    JiraRejected,
    JiraRetryable,
    JiraUnavailable,
)
from driver.failpoints import failpoint
from driver.jira.auth import Credentials, credentials_from_config
from driver.jira.exchange import Exchange
from driver.jira.health import Bucket
from driver.jira.http import (
    answer_error,
    body_of,
    bucket_of,
    heard_answer,
    heard_failure,
    rate_hint,
    transport_failure,
    unreadable_environment_proxy,
)
from driver.jira.oauth import GrantKeeper, Monotonic, OAuthSetup
from driver.jira.project_setup import ProjectSetup
from driver.jira.response_log import ResponseLog
from driver.jira.route import Access, RouteSetup
from driver.jira.search import ApiFlavor, IssueSearch
from driver.jira.transport import DirectTransport
from driver.model.answers import (
    Answer,
    CreatedIssue,
    IssueState,
    IssueTransition,
    JiraComment,
    JiraUser,
)
from driver.model.endpoints import FilledCall
from driver.model.responses import ResponseKind, mask_json, secret_forms, without_credentials

LONG_RUN = 100
"""Answers after which a 401 is more likely an expired token than a wrong one."""
ISSUE_STATE_FIELDS = ("status", "resolution", "assignee", "project", "issuetype", "updated", "labels")
"""The fields that tell where an issue stands (IssueState), and the label stamp."""


# --- results --------------------------------------------------------------------------------------


class JiraClient(IssueSearch, ProjectSetup):
    """The Jira REST API as the engine needs it (create, edit, comment, search, metadata). Raises
    ConfigError when the environment's proxy is no URL (driver.jira.http, unreadable_...)."""

    def __init__(
        self,
        url: str,
        ticket_location: str = "rest/api/latest/issue",
        credentials: Credentials | None = None,
        *,
        verify_tls: bool = True,
        ca_bundle: str = "",
        proxy: str = "",
        timeout_seconds: float = 30.0,
        api_type: str = "auto",
        clock: Clock | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        max_connections: int = 32,
        route: RouteSetup | None = None,
        oauth: OAuthSetup | None = None,
        monotonic: Monotonic = time.monotonic,
    ) -> None:
        self.url = url.rstrip("/")
        self.timeout_seconds = timeout_seconds
        self.clock: Clock = clock or utc_now
        self.configured_api_type = api_type
        self.api_type: ApiFlavor = api_type if api_type in ("cloud", "datacenter") else "unknown"  # type: ignore[assignment]
        self.near_limit = False
        self.rate_hint: float | None = None
        """Requests/s Jira says it allows (docs/wire-facts.md §8), from the last response that said."""
        self.bucket: Bucket | None = None
        """Data Center's token bucket as the last answer that stated it said (driver.jira.http)."""
        self._answers = 0
        self._successes = 0
        """Answers under 300 with the present credentials (a 401 after many: an expired token)."""
        self.credentials = credentials or Credentials("none")
        self.secret_forms = secret_forms([self.credentials.secret], self.credentials.username)
        """The secret in each form an answer may echo it: masked in answers, errors and the log."""
        self.responses = ResponseLog()
        """What it heard outside a unit of work, waiting for the driver to write it."""
        self._proven = False
        self._refused: JiraAuthError | None = None
        self._canary = asyncio.Lock()
        self.set_ticket_location(ticket_location)
        self._proxy_setting = proxy
        verify: ssl.SSLContext | bool = verify_tls
        if verify_tls and ca_bundle:
            verify = ssl.create_default_context(cafile=ca_bundle)
        kwargs: dict[str, Any] = {
            "timeout": httpx.Timeout(timeout_seconds, connect=min(10.0, timeout_seconds)),
            "verify": verify,
            # Empty proxy: follow the environment (HTTPS_PROXY ...); 'bypass': ignore it.
            "trust_env": proxy != "bypass",
            "headers": {"User-Agent": "jira-driver"},
            "transport": transport,
        }
        if proxy and proxy != "bypass":
            kwargs["proxy"] = proxy
        if not proxy and (unreadable := unreadable_environment_proxy()):
            raise unreadable
        # The client holds the settings (base URL, auth, headers, cookies, timeouts) and picks the
        # transport; the Exchange sends each request (driver.jira.exchange).
        self._client = httpx.AsyncClient(
            base_url=self.url + "/",
            auth=self.credentials.auth(),
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
            **{**kwargs, "headers": {"Accept": "application/json", "User-Agent": "jira-driver"}},
        )
        self._exchange = Exchange(
            self._client,
            DirectTransport(verify=verify, trust_env=proxy != "bypass", max_connections=max_connections)
            if transport is None
            else None,
        )
        self._plain_options = kwargs
        self.access = Access(
            route or RouteSetup(self.url, self.credentials.mode, api_type=api_type),
            oauth,
            self.plain_http,
            monotonic,
        )

    @classmethod
    def from_config(
        cls,
        jira: JiraSection,
        credentials: Credentials | None = None,
        ticket_location: str | None = None,
        clock: Clock | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        grants: GrantKeeper | None = None,
    ) -> JiraClient:
        """A client for the [jira] section (stored overrides passed in by the caller); `grants` keeps
        the consent of [jira] auth = oauth_3lo (driver.store.oauth_grant)."""
        credentials = credentials or credentials_from_config(jira)
        return cls(
            jira.url,
            ticket_location or jira.ticket_location,
            credentials,
            verify_tls=jira.verify_tls,
            ca_bundle=jira.ca_bundle,
            proxy=jira.proxy,
            timeout_seconds=jira.timeout_seconds,
            api_type=jira.api_type.value,
            clock=clock,
            transport=transport,
            route=RouteSetup(
                jira.url,
                credentials.mode,
                jira.gateway,
                jira.gateway_url,
                jira.cloud_id,
                jira.api_type.value,
                jira.auth_url,
            ),
            oauth=OAuthSetup(
                jira.client_id,
                jira.client_secret_trimmed()[0],
                jira.oauth_scope,
                jira.redirect_uri,
                grants,
                failpoint("oauth-refresh-answered"),
            ),
        )

    def __repr__(self) -> str:
        return f"JiraClient(url={self.url!r}, auth={self.credentials!r})"

    def _expired(self, said: str) -> str:
        """A 401 after a long run of answers: most likely the token expired (Jira does not say)."""
        if self.credentials.mode in ("oauth_client_credentials", "oauth_3lo"):
            return f"{said} (after a new access token: check the OAuth credential's access to this site)"
        return (
            f"{said}: after {self._successes} answers with these credentials, the API token or PAT has"
            " probably expired; make a new one (and set [jira] token_expires to be warned next time)"
        )

    @property
    def target(self) -> str:
        """Where requests go now, for messages: the Jira URL, or the gateway's once settled."""
        return self._exchange.base.rstrip("/")

    @property
    def proxy(self) -> str:
        """The proxy requests to `target` go through ('' for none), its credentials hidden, for
        messages."""
        return without_credentials(self._exchange.proxy(self._proxy_setting))

    def plain_http(self) -> httpx.AsyncClient:
        """A new client with this one's TLS, proxy and timeouts and no Jira auth or base URL: for
        the OAuth token endpoint and tenant_info (the caller closes it)."""
        return httpx.AsyncClient(**self._plain_options)

    async def aclose(self) -> None:
        """Close the connection pools."""
        await self._exchange.aclose()
        await self._client.aclose()
        await self.access.aclose()

    def set_credentials(self, credentials: Credentials) -> None:
        """Use new credentials from the next request on (unproven again: one canary first)."""
        self.credentials = credentials
        self.secret_forms = secret_forms([credentials.secret], credentials.username)
        self._client.auth = credentials.auth()  # type: ignore[assignment]
        self._successes = 0
        self._proven = False
        self._refused = None

    def forget_refusal(self) -> None:
        """A person asks to try the refused credentials again (`check`): the next request may go."""
        self._refused = None

    @property
    def credentials_refused(self) -> bool:
        """Jira answered 401 to these credentials: no request leaves until they change."""
        return self._refused is not None

    def set_ticket_location(self, ticket_location: str) -> None:
        """Change the issue resource path (e.g. rest/api/3/issue)."""
        self.ticket_location = ticket_location.strip().strip("/")
        root = self.ticket_location
        if root.endswith("/issue"):
            root = root[: -len("/issue")]
        self.api_root = root
        self.api_prefix = root.rsplit("/", 1)[0] if "/" in root else root

    def browse_url(self, key: str) -> str:
        """Where people see a ticket."""
        return f"{self.url}/browse/{key}"

    # --- the one place that reads status codes --------------------------------------------------

    async def _request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        kind: ResponseKind | None = None,
    ) -> httpx.Response:
        """One request, under the credential rule (docs/wire-facts.md §9: Data Center locks an account
        behind a CAPTCHA after a few failed logins): after a 401 nothing leaves with the same
        credentials (JiraAuthError at once), and while they are unproven requests go one at a time,
        so a wrong password costs one failed login, whoever asks (engine, field list, probes)."""
        if self._refused is not None:
            raise self._refused.again()
        if not self.access.settled:
            try:
                await self.access.settle(self._client)
            except JiraAuthError as exc:
                self._refused = exc  # a configuration that cannot work: one try per change
                raise
        if self._proven:
            return await self._send(method, path, json=json, params=params, kind=kind)
        async with self._canary:
            if self._refused is not None:
                raise self._refused.again()
            try:
                response = await self._send(method, path, json=json, params=params, kind=kind)
            except JiraAuthError as exc:
                self._refused = exc
                raise
            except (JiraRateLimited, JiraUnavailable):
                raise  # answered by a limit or a gateway: nothing said about the credentials
            except JiraRejected:
                self._proven = True
                raise
            self._proven = True
            return response

    async def _send(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        kind: ResponseKind | None = None,
    ) -> httpx.Response:
        started = time.perf_counter()
        try:
            response = await self._exchange.request(method, path, json=json, params=params)
        except httpx.TransportError as exc:
            failure = transport_failure(
                exc, f"{method} {path}", self.target, self.timeout_seconds, self.proxy
            )
            took = (time.perf_counter() - started) * 1000
            self.responses.heard(
                heard_failure(method, path, params, str(failure), took, self.clock(), self.secret_forms, kind)
            )
            raise failure from exc
        took = (time.perf_counter() - started) * 1000
        self.responses.heard(
            heard_answer(method, path, params, response, took, self.clock(), self.secret_forms, kind)
        )
        self.near_limit = response.headers.get("X-RateLimit-NearLimit", "").lower() == "true"
        self.rate_hint = rate_hint(response) or self.rate_hint
        self._answers += 1
        self.bucket = bucket_of(response, self._answers) or self.bucket
        status = response.status_code
        if status < 300:
            self._successes += 1
            return response
        error = answer_error(response, self.clock(), self.secret_forms)
        if isinstance(error, JiraAuthError) and status == 401 and self._successes >= LONG_RUN:
            error = JiraAuthError(status, self._expired(error.message))
        raise error

    # --- operations -----------------------------------------------------------------------------

    async def create_issue(self, body: Mapping[str, Any]) -> CreatedIssue:
        """POST the create body; the new ticket's id, key and URL."""
        response = await self._request("POST", self.ticket_location, json=body)
        data = body_of(response)
        if not isinstance(data, dict) or "key" not in data:
            raise JiraRetryable(f"HTTP {response.status_code} without an issue key")
        key = str(data["key"])
        return CreatedIssue(
            str(data.get("id", "")), key, self.browse_url(key), Answer(response.status_code, data)
        )

    async def edit_issue(self, key: str, body: Mapping[str, Any]) -> Answer:
        """PUT an edit body to one issue."""
        response = await self._request("PUT", f"{self.ticket_location}/{key}", json=body)
        return Answer(response.status_code, body_of(response))

    async def call(self, request: FilledCall, expect: Sequence[int]) -> Answer:
        """Make a custom endpoint's request (driver.model.endpoints: its path is relative to the Jira
        URL and already encoded); JiraRejected when Jira answers a status `expect` does not name,
        the other JiraErrors as for every request."""
        json = None if request.body is None else request.body
        response = await self._request(request.method, request.path, json=json, kind=ResponseKind.CALL)
        answer = Answer(response.status_code, mask_json(body_of(response), self.secret_forms))
        if response.status_code not in expect:
            wanted = ", ".join(str(code) for code in expect)
            raise JiraRejected(response.status_code, [f"HTTP {response.status_code}, expected {wanted}"], {})
        return answer

    async def add_comment(self, key: str, body: Mapping[str, Any]) -> Answer:
        """POST one comment to an issue."""
        response = await self._request("POST", f"{self.ticket_location}/{key}/comment", json=body)
        data = body_of(response)
        if isinstance(data, dict):
            data = {k: data[k] for k in ("id", "self", "created") if k in data}
        return Answer(response.status_code, data)

    async def list_comments(self, key: str, page_size: int = 100, max_pages: int = 100) -> list[JiraComment]:
        """The comments of an issue, oldest first (`getComments`, paged by startAt)."""
        path = f"{self.ticket_location}/{key}/comment"
        comments: list[JiraComment] = []
        start = 0
        for _ in range(max_pages):
            response = await self._request("GET", path, params={"startAt": start, "maxResults": page_size})
            data = body_of(response)
            if not isinstance(data, dict):
                break
            chunk = [c for c in data.get("comments") or [] if isinstance(c, dict)]
            comments.extend(JiraComment.from_json(c) for c in chunk)
            start += len(chunk)
            if not chunk or start >= int(data.get("total") or 0):
                break
        return comments

    async def get_issue(
        self, key: str, fields: Sequence[str] = ISSUE_STATE_FIELDS, properties: Sequence[str] = ()
    ) -> IssueState:
        """One issue's status, resolution, assignee, project and type (`getIssue` with `fields`), and
        the issue properties named in `properties` (`getIssue` with `properties=`, spec v3/DC).

        Raises JiraRejected(404) when the issue does not exist (or this user may not see it).
        """
        params = {"fields": ",".join(fields)}
        if properties:
            params["properties"] = ",".join(properties)
        response = await self._request("GET", f"{self.ticket_location}/{key}", params=params)
        state = IssueState.from_issue(body_of(response))
        if state is None:
            raise JiraRetryable(f"HTTP {response.status_code}: issue {key} answered without a key")
        return state

    async def project_archived(self, project: str) -> bool:
        """Whether a project is archived (`getProject`: Project.archived, both specs); False when
        Jira does not know it (a 404: deleted)."""
        try:
            response = await self._request("GET", f"{self.api_prefix}/2/project/{project}")
        except JiraRejected as exc:
            if exc.status == 404:
                return False
            raise
        body = body_of(response)
        return isinstance(body, dict) and body.get("archived") is True

    async def get_transitions(self, key: str) -> list[IssueTransition]:
        """The transitions the issue offers now, with their screens' fields (`getTransitions`,
        expand=transitions.fields; docs/wire-facts.md §4)."""
        response = await self._request(
            "GET", f"{self.ticket_location}/{key}/transitions", params={"expand": "transitions.fields"}
        )
        data = body_of(response)
        items = data.get("transitions") if isinstance(data, dict) else None
        found = [IssueTransition.from_json(item) for item in items or []]
        return [t for t in found if t is not None]

    async def do_transition(self, key: str, body: Mapping[str, Any]) -> Answer:
        """POST a transition (`doTransition`: `{transition: {id}, fields?, update?}`); Jira answers 204."""
        response = await self._request("POST", f"{self.ticket_location}/{key}/transitions", json=body)
        return Answer(response.status_code, body_of(response))

    async def get_fields(self) -> list[dict[str, Any]]:
        """Jira's field list (system and custom)."""
        response = await self._request("GET", f"{self.api_root}/field")
        data = body_of(response)
        return [item for item in data if isinstance(item, dict)] if isinstance(data, list) else []

    async def server_info(self) -> dict[str, Any]:
        """GET serverInfo."""
        response = await self._request("GET", f"{self.api_root}/serverInfo")
        data = body_of(response)
        return data if isinstance(data, dict) else {}

    async def create_issue_types(self, project: str) -> list[str]:
        """The names of the issue types a create in `project` (key or id) may use: GET
        issue/createmeta/{project}/issuetypes (Cloud lists them as `issueTypes`, Data Center as
        `values`; spec getCreateIssueMetaIssueTypes). JiraRejected (400/404) for a project this user
        cannot see or create in."""
        response = await self._request(
            "GET", f"{self.api_root}/issue/createmeta/{project}/issuetypes", params={"maxResults": "100"}
        )
        data = body_of(response)
        items = data.get("issueTypes", data.get("values")) if isinstance(data, dict) else None
        listed = items if isinstance(items, list) else []
        return [str(item["name"]) for item in listed if isinstance(item, dict) and "name" in item]

    async def myself(self) -> dict[str, Any]:
        """GET myself: the connection and credentials test."""
        response = await self._request("GET", f"{self.api_root}/myself")
        data = body_of(response)
        return data if isinstance(data, dict) else {}

    async def current_user(self) -> JiraUser:
        """The user these credentials act as (GET myself), with every id it is known by."""
        return JiraUser.from_json(await self.myself())

    async def detect_api_type(self) -> ApiFlavor:
        """Cloud or Data Center: configured, or from serverInfo's deploymentType (once)."""
        if self.api_type != "unknown":
            return self.api_type
        info = await self.server_info()
        deployment = str(info.get("deploymentType", "")).lower()
        self.api_type = "cloud" if deployment == "cloud" else "datacenter"
        return self.api_type
