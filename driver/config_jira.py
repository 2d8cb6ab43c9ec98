"""[jira]: where Jira is and how the driver proves who it is to it (Basic, bearer, the Authorization
Key and OAuth 2.0; the Cloud gateway), TLS, proxy and timeouts; and the base every section shares.

The OAuth wire facts (token endpoints, the gateway, scopes) are the repository's wire-facts
doc, sections 9, 13 and 14.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
)

from driver.errors import ConfigError


def location_problem(location: str) -> str:
    """Why a ticket location may not be used, or '' (it is appended to the Jira URL, with credentials).

    `..` segments, a scheme, a query or a fragment would send requests, and the credentials, outside
    the Jira base path the configuration names.
    """
    segments = location.replace("\\", "/").split("/")
    if any(part in ("..", ".") for part in segments):
        return "expected a path inside the Jira URL, without '.' or '..' segments"
    if (
        "://" in location
        or location.startswith("//")
        or any(c in location for c in "?#\\")
        or any(c.isspace() or ord(c) < 32 for c in location)
    ):
        return "expected a plain path such as rest/api/latest/issue (no scheme, query, fragment or spaces)"
    return ""


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True, frozen=True)


class ApiType(StrEnum):
    AUTO = "auto"
    CLOUD = "cloud"
    DATACENTER = "datacenter"


class AuthChoice(StrEnum):
    """[jira] auth: how the driver proves who it is (empty: by which secret is set)."""

    AUTO = ""
    BASIC = "basic"
    BEARER = "bearer"
    AUTHORIZATION_KEY = "authorization_key"
    OAUTH_CLIENT_CREDENTIALS = "oauth_client_credentials"
    OAUTH_3LO = "oauth_3lo"


class Gateway(StrEnum):
    """[jira] gateway: whether requests go through Atlassian's gateway (api.atlassian.com/ex/jira)."""

    AUTO = "auto"
    ON = "on"
    OFF = "off"


ATLASSIAN_AUTH = "https://auth.atlassian.com"
ATLASSIAN_GATEWAY = "https://api.atlassian.com"
CLOUD_3LO_SCOPE = "read:jira-work write:jira-work read:jira-user offline_access"


def _plain_url(value: str) -> str:
    if not value.startswith(("http://", "https://")) or any(c.isspace() for c in value):
        raise ValueError("expected a URL starting with http:// or https://, without spaces")
    parts = urlsplit(value)
    if "@" in parts.netloc or parts.query or parts.fragment or not parts.hostname:
        raise ValueError("expected a plain URL: a host, no user:password@, ?query or #fragment")
    return value.rstrip("/")


def header_safe(value: SecretStr) -> SecretStr:
    """A secret sent in an HTTP header (a token, an Authorization value): printable ASCII only, as
    a header carries nothing else. Raises ValueError, which never shows the value."""
    text = value.get_secret_value()
    if not (text.isascii() and text.isprintable()):
        raise ValueError(
            "it holds a character an HTTP header cannot carry (only printable ASCII: letters, digits,"
            " punctuation; e.g. `openssl rand -hex 16`)"
        )
    return value


class JiraSection(Section):
    url: str = "http://127.0.0.1:8080"
    """Base URL of Jira, e.g. https://your-domain.atlassian.net or https://jira.example.com/jira."""
    username: str = ""
    """Basic auth user: the account e-mail on Cloud, the user name on Server/Data Center."""
    password: SecretStr = SecretStr("")
    """Basic auth secret: the API token on Cloud, the password on Server/Data Center."""
    bearer_token: SecretStr = SecretStr("")
    """Data Center personal access token, sent as `Authorization: Bearer <token>`."""
    authorization_key: SecretStr = SecretStr("")
    """The whole Authorization header value, sent as is (the connector's Authorization Key)."""
    auth: AuthChoice = AuthChoice.AUTO
    """basic, bearer, authorization_key, oauth_client_credentials (a service account: client id
    and secret, nobody at the keyboard), oauth_3lo (acting as a person who consented with
    `jira-driver auth login`); empty: the Authorization Key when set, else bearer_token, else Basic."""
    client_id: str = Field(default="", max_length=500, pattern=r"^[\x21-\x7e]*$")
    """OAuth 2.0 client id (oauth_client_credentials, oauth_3lo)."""
    client_secret: SecretStr = SecretStr("")
    """OAuth 2.0 client secret; surrounding spaces and line breaks are trimmed with a warning."""
    oauth_scope: str = Field(default="", max_length=2000)
    """Scopes asked for: Data Center READ or WRITE (default WRITE); 3LO on Cloud, default
    `read:jira-work write:jira-work read:jira-user offline_access`. Cloud's client credentials
    take none (the credential's scopes are fixed when it is made)."""
    redirect_uri: str = "http://127.0.0.1:8751/callback"
    """oauth_3lo: the callback URL registered with the app; on loopback, `auth login` listens there."""
    auth_url: str = ATLASSIAN_AUTH
    """Cloud's OAuth 2.0 server (authorize and token). Data Center's is the Jira URL itself."""
    gateway: Gateway = Gateway.AUTO
    """Send requests through Atlassian's gateway ({gateway_url}/ex/jira/{cloud id}/...): on, off, or
    auto (on for OAuth and bearer tokens on Cloud, which the site URL refuses)."""
    gateway_url: str = ATLASSIAN_GATEWAY
    """The gateway's base URL."""
    cloud_id: str = Field(default="", max_length=100, pattern=r"^[A-Za-z0-9-]*$")
    """The site's cloud id for the gateway; empty: asked of {url}/_edge/tenant_info."""
    token_expires: date | None = None
    """YYYY-MM-DD the API token or personal access token expires (Jira does not say): warned of
    14 days ahead by check, /api/status, the TUI and the log."""
    ticket_location: str = "rest/api/latest/issue"
    """Path of the issue resource, relative to url."""
    api_type: ApiType = ApiType.AUTO
    """auto (ask serverInfo's deploymentType), cloud or datacenter."""
    verify_tls: bool = True
    """Verify Jira's TLS certificate. Turn off only for a test system."""
    ca_bundle: str = ""
    """A PEM file of CA certificates to trust instead of the system's (a company CA)."""
    proxy: str = ""
    """Empty: the environment's proxy (HTTPS_PROXY...), for every host NO_PROXY does not name,
    loopback included. `bypass`: no proxy (and no SSL_CERT_FILE either). Otherwise a proxy URL."""
    timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    """How long one request to Jira may take before it counts as failed."""
    max_retries: int = Field(default=5, ge=0, le=100)
    """Retries of a request after 5xx, timeouts and connection errors before it is Failed."""
    retry_base_seconds: float = Field(default=2.0, gt=0, le=300)
    """First retry delay; it doubles on each retry, with jitter (Atlassian's recipe)."""
    probe_delay_seconds: float = Field(default=5.0, ge=0, le=600)
    """After a create with no answer, wait this long before the second search for its GUID stamp
    (Cloud search is eventually consistent: one miss is not proof)."""

    @field_validator("bearer_token", "authorization_key")
    @classmethod
    def _header_values(cls, value: SecretStr) -> SecretStr:
        return header_safe(value)

    @field_validator("url")
    @classmethod
    def _url_has_scheme(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("expected a URL starting with http:// or https://")
        if any(c.isspace() or ord(c) < 32 for c in value):
            raise ValueError("expected a URL without spaces or control characters")
        parts = urlsplit(value)
        if "@" in parts.netloc:
            # It would be shown in every ticket URL, the log, GET /api/settings and the TUI.
            raise ValueError(
                "expected a URL without credentials: put the user in [jira] username and the"
                " password or API token in [jira] password (or the JIRA_DRIVER_JIRA_PASSWORD"
                " environment variable)"
            )
        if parts.query or parts.fragment or value.endswith(("?", "#")):
            # Request paths are appended to it: a query or fragment would end up in the middle.
            raise ValueError(
                "expected a base URL without ?query or #fragment, e.g. https://jira.example.com/jira"
            )
        try:
            port = parts.port
        except ValueError:
            raise ValueError("expected a port from 1 to 65535 after the host") from None
        if not parts.hostname or port == 0:
            raise ValueError("expected a host name (and a port from 1 to 65535, if any)")
        return value.rstrip("/")

    @field_validator("token_expires", mode="before")
    @classmethod
    def _no_date(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("auth_url", "gateway_url")
    @classmethod
    def _oauth_urls(cls, value: str) -> str:
        return _plain_url(value)

    @field_validator("redirect_uri")
    @classmethod
    def _redirect(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")) or any(c.isspace() for c in value):
            raise ValueError("expected a URL starting with http:// or https://, without spaces")
        return value

    def client_secret_trimmed(self) -> tuple[str, str]:
        """The client secret without surrounding whitespace, and a warning when there was some
        (a secret pasted from a file often ends in a line break), else ''. The secret is not in it."""
        raw = self.client_secret.get_secret_value()
        secret = raw.strip()
        if secret == raw:
            return secret, ""
        return secret, (
            "[jira] client_secret has spaces or a line break around it (pasted from a file?):"
            " they are trimmed"
        )

    @property
    def oauth(self) -> bool:
        """Whether an OAuth mode is configured (the driver mints or refreshes its own tokens)."""
        return self.auth in (AuthChoice.OAUTH_CLIENT_CREDENTIALS, AuthChoice.OAUTH_3LO)

    def oauth_missing(self) -> ConfigError | None:
        """The OAuth client key an OAuth mode lacks (nothing can be asked without both), else None."""
        if not self.oauth:
            return None
        for key, value in (("client_id", self.client_id), ("client_secret", self.client_secret_trimmed()[0])):
            if not value:
                return ConfigError("jira", key, None, f"auth = {self.auth.value} needs it (the OAuth app's)")
        return None

    def token_expiry(self) -> date | None:
        """token_expires where it means something: an API token's or PAT's date. The OAuth modes
        mint and refresh their own tokens, so the key says nothing of them."""
        return None if self.oauth else self.token_expires

    @field_validator("ticket_location")
    @classmethod
    def _relative_location(cls, value: str) -> str:
        value = value.strip().strip("/")
        if not value:
            raise ValueError("expected a path such as rest/api/latest/issue")
        if problem := location_problem(value):
            raise ValueError(problem)
        return value

    @field_validator("ca_bundle")
    @classmethod
    def _bundle_exists(cls, value: str) -> str:
        if value and not Path(value).is_file():
            raise ValueError("expected the path of an existing PEM file")
        return value

    @field_validator("proxy")
    @classmethod
    def _proxy_form(cls, value: str) -> str:
        if value and value != "bypass" and "://" not in value:
            raise ValueError("expected empty, 'bypass' or a proxy URL such as http://proxy:3128")
        if value and value != "bypass" and not readable_proxy(value):
            raise ValueError(f"expected a proxy URL such as http://proxy:3128 ({PROXY_URL_HINT})")
        return value


PROXY_URL_HINT = (
    "scheme http, https or socks5; percent-encode '/', '?', '#' and '@' in its user and password, %2F for '/'"
)
"""What a proxy URL httpx cannot read needs, for the messages that refuse one."""


def readable_proxy(value: str) -> bool:
    """Whether httpx takes `value` as a proxy (a scheme-less host as http://): the configured
    proxy's check and the environment's (driver.jira.http) are this one. httpx's own error
    quotes part of the value, a password's start among it, so callers say PROXY_URL_HINT."""
    try:
        httpx.Proxy(value if "://" in value else f"http://{value}")
    except (httpx.InvalidURL, ValueError):
        return False
    return True
