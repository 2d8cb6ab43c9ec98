"""Reading how a project is set up, for `jira-driver check` (driver.model.diagnosis judges it):
the account's permissions in it, an issue type's create screen, the workflow's statuses, Jira's
resolutions. driver.jira.client.JiraClient is a ProjectSetup; its requests go through the client's
one `_request` (the credential rule, the status codes).

Operations (Atlassian's specs): getMyPermissions (Cloud requires `permissions=`), getCreateIssueMetaIssueTypes
and getCreateIssueMetaIssueTypeId (per-project createmeta, docs/wire-facts.md §14), getAllStatuses
(`project/{key}/statuses`), getResolutions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import httpx

from driver.jira.http import body_of


class ProjectSetup:
    """Project metadata reads, on the client's `_request` (see JiraClient). Each returns Jira's JSON
    as it came; JiraRejected for a project or type this user cannot see."""

    api_root: str

    async def _request(
        self, method: str, path: str, *, json: Any = None, params: Mapping[str, Any] | None = None
    ) -> httpx.Response:
        raise NotImplementedError

    async def my_permissions(self, project: str, keys: Iterable[str]) -> Any:
        """GET mypermissions for `keys` in `project`: {"permissions": {KEY: {"havePermission"...}}}."""
        params = {"permissions": ",".join(keys), "projectKey": project}
        return body_of(await self._request("GET", f"{self.api_root}/mypermissions", params=params))

    async def create_screen(self, project: str, issue_type: str) -> Any:
        """The create screen's fields of `issue_type` (a name) in `project`, or None when the project
        offers no such type: Cloud {"fields": [...]}, Data Center {"values": [...]}."""
        listed = body_of(
            await self._request(
                "GET", f"{self.api_root}/issue/createmeta/{project}/issuetypes", params={"maxResults": "100"}
            )
        )
        items = listed.get("issueTypes", listed.get("values")) if isinstance(listed, dict) else None
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict) and str(item.get("name", "")).casefold() == issue_type.casefold():
                path = f"{self.api_root}/issue/createmeta/{project}/issuetypes/{item.get('id')}"
                return body_of(await self._request("GET", path, params={"maxResults": "200"}))
        return None

    async def project_statuses(self, project: str) -> Any:
        """GET project/{key}/statuses: per issue type, the statuses of its workflow."""
        return body_of(await self._request("GET", f"{self.api_root}/project/{project}/statuses"))

    async def resolutions(self) -> Any:
        """GET resolution: every resolution Jira has."""
        return body_of(await self._request("GET", f"{self.api_root}/resolution"))
