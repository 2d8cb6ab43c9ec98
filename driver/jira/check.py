"""`jira-driver check` and POST /api/check: GET myself and serverInfo, and a plain answer of what is
wrong (an unreachable Jira is an answer too).
"""

from __future__ import annotations

from driver.contract.schemas import CheckResult
from driver.errors import (
    JiraAuthError,
    JiraError,
    JiraRejected,
    JiraRetryable,
)
from driver.jira.client import JiraClient
from driver.jira.http import describe_transport_error


async def check(
    client: JiraClient, project: str | None = None, issue_type: str | None = None
) -> tuple[CheckResult, bool]:
    """GET myself (+ serverInfo), then whether a ticket can be created in `project` with
    `issue_type` (the Ticket Creation Table's): a plain answer, and whether Jira was unreachable.

    A person asked: credentials Jira refused before are tried once more.
    """
    client.forget_refusal()
    try:
        me = await client.myself()
    except JiraAuthError as exc:
        return CheckResult(ok=False, message=_refused(client, exc), status_code=401), False
    except JiraRejected as exc:
        if exc.status == 403:
            message = (
                "HTTP 403: the credentials were accepted but this user may not use the REST API"
                " (on Data Center the account may be locked behind a CAPTCHA after failed logins)."
            )
        elif exc.status == 404:
            message = (
                f"HTTP 404: no Jira REST API at {client.url}/{client.api_root}. "
                "Check [jira] url (and its context path, e.g. /jira) and ticket_location."
            )
        else:
            message = str(exc)
        return CheckResult(ok=False, message=message, status_code=exc.status), False
    except JiraRetryable as exc:
        cause = exc.__cause__
        if cause is not None:
            text, unreachable = describe_transport_error(
                cause, client.url, client.timeout_seconds, client.proxy
            )
            return CheckResult(ok=False, message=text), unreachable
        return CheckResult(ok=False, message=f"Jira is not answering properly: {exc.reason}"), False
    except JiraError as exc:
        return CheckResult(ok=False, message=str(exc)), False
    user = me.get("displayName") or me.get("name") or me.get("emailAddress") or me.get("accountId") or "?"
    product = "Jira"
    try:
        info = await client.server_info()
        deployment = str(info.get("deploymentType", ""))
        product = f"Jira {'Cloud' if deployment.lower() == 'cloud' else 'Data Center'}"
        if info.get("version"):
            product += f" {info['version']}"
    except JiraError:
        pass
    connected = f"Connected to {product} at {client.url} as {user}"
    if project:
        problem = await _create_problem(client, project, issue_type, user)
        if problem:
            return CheckResult(ok=False, message=f"{connected}, but {problem}"), False
        connected += f"; tickets go to project {project}" + (f" as {issue_type}" if issue_type else "")
    return CheckResult(ok=True, message=connected), False


async def _create_problem(client: JiraClient, project: str, issue_type: str | None, user: str) -> str:
    """Why a create in this project with this issue type would be refused ('' when it would not)."""
    try:
        offered = await client.create_issue_types(project)
    except JiraRejected as exc:
        if exc.status in (400, 403, 404):
            return (
                f"project {project!r} is not there for {user}: it does not exist, or the user may not"
                " browse it or create issues in it (check [ticket] project, the Ticket Creation"
                " Table, and the project's permissions)"
            )
        return f"the project's issue types could not be read: {exc}"
    except JiraError as exc:
        return f"the project's issue types could not be read: {exc}"
    if issue_type and issue_type.casefold() not in {name.casefold() for name in offered}:
        return (
            f"project {project} has no issue type {issue_type!r} this user may create"
            f" (it offers: {', '.join(offered) or 'none'})"
        )
    return ""


def _refused(client: JiraClient, error: JiraAuthError) -> str:
    """A 401 in plain words: what is missing from the configuration, when something is."""
    credentials = client.credentials
    if credentials.mode == "none":
        return (
            f"HTTP 401: no credentials were sent: [jira] username is empty (and so are bearer_token"
            f" and authorization_key). Set username with password or an API token ({error.message})."
        )
    if credentials.mode == "basic" and not credentials.secret:
        return (
            f"HTTP 401: [jira] password is empty for user {credentials.username!r}: set the password or"
            f" API token ({error.message})."
        )
    return (
        f"HTTP 401: Jira rejected the credentials ({error.message}). "
        "Check the user name and password, API token or key."
    )
