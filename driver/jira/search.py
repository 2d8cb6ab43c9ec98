"""Searching Jira (JQL, paged) and reading an issue's whole changelog: the part of the REST client
that pages through results (docs/wire-facts.md §5). driver.jira.client.JiraClient is an IssueSearch;
its requests go through the client's one `_request` (the credential rule, the status codes)."""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator, Mapping, Sequence
from typing import Any, Literal

import httpx

from driver.jira.http import body_of
from driver.model.answers import FoundIssue


class BadCursor(ValueError):
    """A page cursor this driver did not give (the caller's input, not Jira's answer)."""


_DC_CURSOR = re.compile(r"@[0-9]{1,9}")
"""A Data Center page's cursor: `@<startAt>` (ASCII digits: str.isdigit takes '²' too)."""

ApiFlavor = Literal["cloud", "datacenter", "unknown"]


class IssueSearch:
    """JQL searches and changelog pages, on the client's `_request` (see JiraClient)."""

    api_prefix: str
    ticket_location: str

    async def _request(
        self, method: str, path: str, *, json: Any = None, params: Mapping[str, Any] | None = None
    ) -> httpx.Response:
        raise NotImplementedError

    async def detect_api_type(self) -> ApiFlavor:
        raise NotImplementedError

    def browse_url(self, key: str) -> str:
        raise NotImplementedError

    async def search_by_stamp(
        self, jql: str, fields: Sequence[str] = ("labels",), max_pages: int = 10
    ) -> list[FoundIssue]:
        """Issues matching a (bounded) JQL, e.g. the GUID stamp, with `fields`; Cloud or DC endpoint.

        Every page up to `max_pages` is read: a phrase search (custom-field stamp) can match
        many longer texts before the exact one, so the first page is not enough.
        """
        return await self.search(jql, fields, max_pages)

    async def search(
        self,
        jql: str,
        fields: Sequence[str] = ("labels",),
        max_pages: int = 10,
        expand: Sequence[str] = (),
    ) -> list[FoundIssue]:
        """Issues matching a bounded JQL, with `fields` (`key` always), every page up to `max_pages`
        (`search_pages` gathered). Raises the JiraError of the first page that fails."""
        found: list[FoundIssue] = []
        async for page in self.search_pages(jql, fields, expand):
            found.extend(page)
            max_pages -= 1
            if max_pages <= 0:
                break
        return found

    async def search_pages(
        self, jql: str, fields: Sequence[str] = ("labels",), expand: Sequence[str] = ()
    ) -> AsyncGenerator[list[FoundIssue], None]:
        """The pages of a bounded JQL's result, 100 issues at most each, one request per page as the
        caller asks for the next, until the last.

        Cloud: POST {api}/3/search/jql, paged by nextPageToken; Data Center: POST {api}/2/search,
        paged by startAt (docs/wire-facts.md §5). `expand` (e.g. changelog) is a comma-separated string on
        Cloud's SearchAndReconcileRequestBean and a list on DC's SearchRequestBean (the specs).
        Raises the JiraError of a page that fails.
        """
        flavor = await self.detect_api_type()
        wanted = ["key", *(f for f in fields if f != "key")]
        payload: dict[str, Any] = {"jql": jql, "fields": wanted, "maxResults": 100}
        if expand:
            payload["expand"] = ",".join(expand) if flavor == "cloud" else list(expand)
        while True:
            if flavor == "cloud":
                response = await self._request("POST", f"{self.api_prefix}/3/search/jql", json=payload)
            else:
                response = await self._request("POST", f"{self.api_prefix}/2/search", json=payload)
            data = body_of(response)
            if not isinstance(data, dict):
                return
            issues = [i for i in data.get("issues") or [] if isinstance(i, dict) and "key" in i]
            page: list[FoundIssue] = []
            for item in issues:
                key = str(item["key"])
                values = item.get("fields")
                changelog = item.get("changelog")
                page.append(
                    FoundIssue(
                        str(item.get("id", "")),
                        key,
                        self.browse_url(key),
                        dict(values) if isinstance(values, dict) else {},
                        dict(changelog) if isinstance(changelog, dict) else {},
                    )
                )
            yield page
            if flavor == "cloud":
                token = data.get("nextPageToken")
                if not issues or not token or data.get("isLast") is True:
                    return
                payload["nextPageToken"] = token
            else:
                start = int(data.get("startAt") or 0) + len(issues)
                if not issues or start >= int(data.get("total") or 0):
                    return
                payload["startAt"] = start

    async def search_page(
        self, jql: str, fields: Sequence[str], cursor: str | None = None, limit: int = 50
    ) -> tuple[list[FoundIssue], str | None]:
        """One page of a JQL's result, for a person paging through it, and the cursor of the next
        (None on the last). Cloud: the page's nextPageToken; Data Center: `@<startAt>` (the
        cursor is opaque to callers). Raises the JiraError of the request, BadCursor for a
        Data Center cursor that is not of that form."""
        flavor = await self.detect_api_type()
        payload: dict[str, Any] = {"jql": jql, "fields": ["key", *fields], "maxResults": limit}
        if flavor == "cloud":
            if cursor:
                payload["nextPageToken"] = cursor
            data = body_of(await self._request("POST", f"{self.api_prefix}/3/search/jql", json=payload))
        else:
            start = 0
            if cursor:
                if not _DC_CURSOR.fullmatch(cursor):
                    raise BadCursor(f"cursor {cursor[:40]!r} is not one this driver gave (next_cursor)")
                start = int(cursor[1:])
            payload["startAt"] = start
            data = body_of(await self._request("POST", f"{self.api_prefix}/2/search", json=payload))
        if not isinstance(data, dict):
            return [], None
        issues = [i for i in data.get("issues") or [] if isinstance(i, dict) and "key" in i]
        page = [
            FoundIssue(
                str(i.get("id", "")),
                str(i["key"]),
                self.browse_url(str(i["key"])),
                dict(i["fields"]) if isinstance(i.get("fields"), dict) else {},
                {},
            )
            for i in issues
        ]
        if flavor == "cloud":
            token = data.get("nextPageToken")
            last = not issues or not token or data.get("isLast") is True
            return page, None if last else str(token)
        after = int(data.get("startAt") or 0) + len(issues)
        return page, None if not issues or after >= int(data.get("total") or 0) else f"@{after}"

    async def changelog(self, issue: str, page_size: int = 100, max_pages: int = 50) -> list[dict[str, Any]]:
        """Every history of an issue, oldest first (`{author, created, items}` each), for when a
        search's `expand=changelog` was cut short (Cloud's enhanced search keeps the newest 40:
        docs/wire-facts.md §5). Cloud: getChangeLogs pages (`startAt`, `isLast`); Data Center, which
        has no such resource and does not cut the issue's own changelog: getIssue with
        expand=changelog. At most `max_pages` pages."""
        path = f"{self.ticket_location}/{issue}"
        if await self.detect_api_type() != "cloud":
            body = body_of(
                await self._request("GET", path, params={"fields": "updated", "expand": "changelog"})
            )
            changelog = body.get("changelog") if isinstance(body, dict) else None
            found = changelog.get("histories") if isinstance(changelog, dict) else None
            return [h for h in found if isinstance(h, dict)] if isinstance(found, list) else []
        histories: list[dict[str, Any]] = []
        for page in range(max_pages):
            params = {"startAt": str(page * page_size), "maxResults": str(page_size)}
            body = body_of(await self._request("GET", f"{path}/changelog", params=params))
            values = body.get("values") if isinstance(body, dict) else None
            if not isinstance(values, list) or not values:
                break
            histories.extend(h for h in values if isinstance(h, dict))
            if body.get("isLast") is True:
                break
        return histories
