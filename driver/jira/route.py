"""Where the driver's REST requests go: the Jira URL, or Atlassian's gateway
(`{gateway_url}/ex/jira/{cloud id}/...`) for the credentials a Cloud site refuses (OAuth access
tokens, service accounts' scoped tokens); and which token endpoint OAuth asks.

Wire facts (docs/wire-facts.md §14): tell Cloud from Data Center by serverInfo's `deploymentType`
(answered anonymously), never by the host name; the cloud id is `{url}/_edge/tenant_info`'s
`cloudId` (no auth) or an `id` of `/oauth/token/accessible-resources` (bearer); Cloud's token
endpoint is `{auth_url}/oauth/token`, Data Center's `{url}/rest/oauth2/latest/token`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from driver.config_jira import Gateway
from driver.contract.schemas import AuthMode
from driver.errors import JiraNotReached, JiraUnavailable, SetupRefused
from driver.jira.auth import TokenAuth
from driver.jira.oauth import Monotonic, OAuthSetup, TokenSource

OAUTH_MODES: frozenset[str] = frozenset({"oauth_client_credentials", "oauth_3lo"})


@dataclass(frozen=True)
class RouteSetup:
    """What the configuration says about routing ([jira] url, auth, gateway, cloud_id, api_type)."""

    site: str
    mode: AuthMode
    gateway: Gateway = Gateway.AUTO
    gateway_url: str = "https://api.atlassian.com"
    cloud_id: str = ""
    api_type: str = "auto"
    auth_url: str = "https://auth.atlassian.com"

    def settled(self) -> bool:
        """Whether requests go to the Jira URL with no question asked first (Basic, an Authorization
        Key, a PAT on a site known or configured as Data Center, gateway off)."""
        if self.gateway == Gateway.ON or self.mode in OAUTH_MODES:
            return False
        if self.gateway == Gateway.OFF or self.mode != "bearer":
            return True
        return self.api_type == "datacenter"


@dataclass(frozen=True)
class Route:
    """Where requests go, as found at the first request."""

    base: str
    """The base URL REST paths are appended to."""
    via_gateway: bool
    cloud: bool
    cloud_id: str = ""
    token_url: str = ""


async def resolve(
    http: httpx.AsyncClient,
    setup: RouteSetup,
    source_for: Callable[[str, bool], TokenSource] | None = None,
) -> tuple[Route, TokenSource | None]:
    """The route, and the token source built for its token endpoint (OAuth modes only).

    Raises JiraNotReached/JiraUnavailable when the site (or the token endpoint) cannot be asked:
    an outage, everything waits. Raises SetupRefused when the configuration cannot work (a cloud id
    that is not the site's, none to be found): nothing is sent until it changes.
    """
    cloud = await is_cloud(http, setup)
    token_url = token_url_for(setup, cloud)
    source = source_for(token_url, cloud) if source_for is not None and setup.mode in OAUTH_MODES else None
    via = setup.gateway == Gateway.ON or (
        setup.gateway == Gateway.AUTO and cloud and (setup.mode in OAUTH_MODES or setup.mode == "bearer")
    )
    if not via:
        return Route(setup.site, False, cloud, "", token_url), source
    cloud_id = await _cloud_id(http, setup, source)
    return Route(f"{setup.gateway_url}/ex/jira/{cloud_id}", True, cloud, cloud_id, token_url), source


def token_url_for(setup: RouteSetup, cloud: bool) -> str:
    """The OAuth token endpoint: Cloud's {auth_url}/oauth/token, Data Center's on the Jira URL."""
    return f"{setup.auth_url}/oauth/token" if cloud else f"{setup.site}/rest/oauth2/latest/token"


async def is_cloud(http: httpx.AsyncClient, setup: RouteSetup) -> bool:
    """Whether the site is Jira Cloud: configured, else serverInfo's deploymentType (asked without
    credentials). Raises JiraNotReached/JiraUnavailable, or SetupRefused when it does not say."""
    if setup.api_type in ("cloud", "datacenter"):
        return setup.api_type == "cloud"
    info = await _get(http, f"{setup.site}/rest/api/2/serverInfo", "serverInfo")
    if info is None:
        raise SetupRefused(
            400,
            f"{setup.site} did not say whether it is Jira Cloud or Data Center (serverInfo):"
            " set [jira] api_type to cloud or datacenter",
            "config",
        )
    return str(info.get("deploymentType", "")).lower() == "cloud"


async def _cloud_id(http: httpx.AsyncClient, setup: RouteSetup, source: TokenSource | None) -> str:
    tenant = await _get(http, f"{setup.site}/_edge/tenant_info", "tenant_info")
    said = str(tenant.get("cloudId", "")) if tenant is not None else ""
    if setup.cloud_id:
        if said and said != setup.cloud_id:
            raise SetupRefused(
                404,
                f"[jira] cloud_id {setup.cloud_id} is not the cloud id of {setup.site} ({said}, its"
                " /_edge/tenant_info says): correct it, or leave it empty to have it looked up",
                "config",
            )
        return setup.cloud_id
    if said:
        return said
    if source is not None:
        token = await source.token()
        resources = await _get(
            http,
            f"{setup.gateway_url}/oauth/token/accessible-resources",
            "accessible-resources",
            {"Authorization": f"Bearer {token.value}"},
        )
        for resource in resources.get("items", []) if resources is not None else []:
            if isinstance(resource, dict) and str(resource.get("url", "")).rstrip("/") == setup.site:
                return str(resource.get("id", ""))
    raise SetupRefused(
        404,
        f"the cloud id of {setup.site} could not be found ({setup.site}/_edge/tenant_info did not"
        " say): set [jira] cloud_id",
        "config",
    )


async def _get(
    http: httpx.AsyncClient, url: str, what: str, headers: dict[str, str] | None = None
) -> dict[str, Any] | None:
    """A JSON answer (a list comes back as {"items": [...]}), None for a 4xx or a body that is not JSON.

    Raises JiraNotReached/JiraUnavailable for no connection, a timeout, 5xx or 429.
    """
    try:
        response = await http.get(url, headers={"Accept": "application/json", **(headers or {})})
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.ProxyError) as exc:
        raise JiraNotReached(f"{what} at {url} cannot be reached ({exc})") from exc
    except httpx.TransportError as exc:
        raise JiraUnavailable(f"{what} at {url} did not answer ({type(exc).__name__})") from exc
    if response.status_code == 429 or response.status_code >= 500:
        raise JiraUnavailable(f"{what} at {url} answered {response.status_code}", None, response.status_code)
    if response.status_code >= 300:
        return None
    try:
        data = response.json()
    except ValueError:
        return None
    if isinstance(data, list):
        return {"items": data}
    return data if isinstance(data, dict) else None


class Access:
    """How a client reaches Jira: the route and, for OAuth, the token source and auth flow, settled
    once before the first request (nothing is asked when the configuration leaves no question)."""

    def __init__(
        self,
        setup: RouteSetup,
        oauth: OAuthSetup | None,
        plain_http: Callable[[], httpx.AsyncClient],
        clock: Monotonic,
    ) -> None:
        self.setup = setup
        self.oauth = oauth
        self.settled = setup.settled()
        self.route: Route | None = None
        self.source: TokenSource | None = None
        self._plain_http = plain_http
        self._http: httpx.AsyncClient | None = None
        self._clock = clock
        self._lock = asyncio.Lock()

    async def settle(self, client: httpx.AsyncClient) -> None:
        """Find the route (and build the token source) and point `client` at it: its base URL, and
        for OAuth its auth flow. Raises what `resolve` raises; the next request asks again."""
        async with self._lock:
            if self.settled:
                return
            if self._http is None:
                self._http = self._plain_http()
            http, oauth, mode = self._http, self.oauth, self.setup.mode

            def source_for(token_url: str, cloud: bool) -> TokenSource:
                if oauth is None:
                    raise SetupRefused(401, "[jira] auth is OAuth but client_id is empty: set it", "config")
                return oauth.source(http, token_url, cloud, mode == "oauth_3lo", self._clock)

            route, source = await resolve(http, self.setup, source_for)
            client.base_url = httpx.URL(route.base + "/")
            if source is not None:
                client.auth = TokenAuth(source, route.via_gateway, self._clock)
            self.route, self.source, self.settled = route, source, True

    async def aclose(self) -> None:
        """Close the token endpoint's connections."""
        if self._http is not None:
            await self._http.aclose()
