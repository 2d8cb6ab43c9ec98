"""`jira-driver check` and POST /api/check: GET myself and serverInfo, and a plain answer of what is
wrong (an unreachable Jira is an answer too); then, per the project and issue type creates use,
what would fail before the first alarm does (permissions, the create screen, the workflow: judged
by driver.model.diagnosis).
"""

from __future__ import annotations

from driver.contract.schemas import CheckFinding, CheckResult
from driver.errors import (
    JiraAuthError,
    JiraError,
    JiraRejected,
    JiraRetryable,
    SetupRefused,
)
from driver.jira.client import JiraClient
from driver.jira.http import describe_transport_error
from driver.model.diagnosis import (
    PERMISSIONS,
    CheckPlan,
    Finding,
    permission_findings,
    screen_findings,
    workflow_findings,
)


async def check(
    client: JiraClient,
    project: str | None = None,
    issue_type: str | None = None,
    plan: CheckPlan | None = None,
    expiry: str = "",
) -> tuple[CheckResult, bool]:
    """GET myself (+ serverInfo), then whether a ticket can be created in `project` with
    `issue_type` (the Ticket Creation Table's) and, given the plan, what else would fail: a plain
    answer with its findings, and whether Jira was unreachable. `expiry`: a credential's expiry
    warning (driver.model.expiry), shown as a finding that does not fail the check.

    A person asked: credentials Jira refused before are tried once more.
    """
    result, unreachable = await _connect(client, project, issue_type, plan)
    if expiry:
        result.findings.append(CheckFinding(kind="expiry", message=expiry))
    return result, unreachable


async def _connect(
    client: JiraClient, project: str | None, issue_type: str | None, plan: CheckPlan | None
) -> tuple[CheckResult, bool]:
    client.forget_refusal()
    try:
        me = await client.myself()
    except SetupRefused as exc:
        # the token endpoint, the consent or the site's identity: its words say what to do
        finding = CheckFinding(kind=exc.kind, message=exc.message)
        return CheckResult(ok=False, message=exc.message, status_code=exc.status, findings=[finding]), False
    except JiraAuthError as exc:
        message = _refused(client, exc)
        return CheckResult(
            ok=False, message=message, status_code=exc.status, findings=[_auth(message)]
        ), False
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
            if client.api_root.rstrip("/").endswith("/3"):
                # Data Center serves REST API 2 only; version 3 (ADF) is Cloud's
                message += " Data Center has no REST API 3: use rest/api/2/issue there."
        else:
            message = str(exc)
        finding = _auth(message) if exc.status == 403 else CheckFinding(kind="config", message=message)
        return CheckResult(ok=False, message=message, status_code=exc.status, findings=[finding]), False
    except JiraRetryable as exc:
        cause = exc.__cause__
        if cause is not None:
            text, unreachable = describe_transport_error(
                cause, client.target, client.timeout_seconds, client.proxy
            )
            return CheckResult(ok=False, message=text, findings=[_connection(text)]), unreachable
        text = f"Jira is not answering properly: {exc.reason}"
        if exc.retry_after:
            text += f"; it asks to wait {exc.retry_after:.0f} s (Retry-After): run check again after that"
        return CheckResult(ok=False, message=text, findings=[_connection(text)]), True
    except JiraError as exc:
        return CheckResult(ok=False, message=str(exc), findings=[_connection(str(exc))]), False
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
    if client.access.route is not None and client.access.route.via_gateway:
        connected += f" (through the gateway, cloud id {client.access.route.cloud_id})"
    if project is not None and not (project and issue_type):
        # the table left out what every create needs: each CREATE would be refused by Jira
        missing = " and ".join(
            name for name, value in (("project", project), ("issue type", issue_type)) if not value
        )
        problem = (
            f"the Ticket Creation Table includes no {missing}: Jira refuses a create without one"
            " (a CREATE that names none fails); put the row back (the TUI's F1 page, Add field) or"
            " set [ticket] project / issue_type"
        )
        finding = CheckFinding(kind="config", message=problem)
        return CheckResult(
            ok=False, message=f"{connected}, but {problem}", connected=True, findings=[finding]
        ), False
    if project:
        problem = await _create_problem(client, project, issue_type, user)
        if problem:
            finding = CheckFinding(kind="permission" if "not there" in problem else "config", message=problem)
            message = f"{connected}, but {problem}"
            return CheckResult(ok=False, message=message, connected=True, findings=[finding]), False
        connected += f"; tickets go to project {project}" + (f" as {issue_type}" if issue_type else "")
    found = await diagnose(client, plan, user) if plan is not None and plan.project else []
    findings = [CheckFinding(kind=f.kind, message=f.message) for f in found]
    if findings:
        connected += f", but {len(findings)} problem{'s' if len(findings) > 1 else ''} would fail alarms"
    return CheckResult(ok=not findings, message=connected, connected=True, findings=findings), False


async def diagnose(client: JiraClient, plan: CheckPlan, user: str) -> list[Finding]:
    """Permissions, the create screen and the workflow of the plan's project and issue type. A read
    Jira refuses becomes a finding of its own kind (the permissions, the screen or the workflow
    could not be read); one that fails in transit raises (the check reports Jira unreachable)."""
    found: list[Finding] = []
    try:
        found += permission_findings(
            await client.my_permissions(plan.project, PERMISSIONS), plan.project, user
        )
    except JiraRejected as exc:
        found.append(Finding("permission", f"the permissions of {user} could not be read ({exc})"))
    try:
        screen = await client.create_screen(plan.project, plan.issue_type)
        found += screen_findings(screen, plan) if screen is not None else []
    except JiraRejected as exc:
        found.append(Finding("screen", f"the create screen could not be read ({exc})"))
    try:
        statuses = await client.project_statuses(plan.project)
        found += workflow_findings(statuses, await client.resolutions(), plan)
    except JiraRejected as exc:
        found.append(Finding("workflow", f"the workflow's statuses could not be read ({exc})"))
    return found


def _auth(message: str) -> CheckFinding:
    return CheckFinding(kind="auth", message=message)


def _connection(message: str) -> CheckFinding:
    return CheckFinding(kind="connection", message=message)


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
    if credentials.mode in ("oauth_client_credentials", "oauth_3lo"):
        # the token endpoint gave the token, so it is the app's access to this site that is refused
        return (
            f"HTTP {error.status}: Jira refused a fresh OAuth access token ({error.message}): check"
            " that the app is installed on this site and the account may use it"
        )
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
