"""A new database's batched stamp search: one search, each hit matched back to its own GUID only.

A small unit test with a fake Jira port (the integration tests use the simulator over HTTP).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from driver.contract.schemas import LogStatus, LogType
from driver.errors import JiraUnavailable, StampAmbiguous
from driver.model.answers import FoundIssue
from driver.model.commands import Action
from driver.model.jobs import Job, JobPayload
from driver.model.requests import RequestSettings
from driver.model.stamps import stamp_label
from driver.sending.delivery import Delivery
from driver.sending.work import Work, WorkKind
from driver.store import Store


class SearchOnly:
    """Answers every search with the hits it was given, and counts the searches."""

    def __init__(self, hits: list[FoundIssue], error: Exception | None = None) -> None:
        self.hits = hits
        self.error = error
        self.queries: list[str] = []

    async def search_page(
        self, jql: str, fields: Sequence[str], cursor: str | None = None, limit: int = 50
    ) -> tuple[list[FoundIssue], str | None]:
        raise AssertionError("not used")

    async def search_by_stamp(self, jql: str, fields: Sequence[str] = ("labels",)) -> list[FoundIssue]:
        self.queries.append(jql)
        if self.error is not None:
            raise self.error
        return self.hits


def _probe(log_id: int, guid: str) -> Work:
    job = Job(
        log_id,
        LogType.AUTOMATIC,
        Action.CREATE,
        guid,
        datetime.now(UTC),
        LogStatus.PENDING,
        0,
        JobPayload(text=f"{guid}|CREATE|summary;s|"),
    )
    return Work(WorkKind.PROBE, [job], guid, probe_for=Action.CREATE, batched=True)


def _run(tmp_path: Path, port: Any, works: list[Work]) -> list[Any]:
    store = Store(tmp_path / "driver.db")
    try:
        return asyncio.run(Delivery(port, store).probe_batch(works, RequestSettings()))
    finally:
        store.close()


def test_one_search_and_each_hit_goes_to_its_own_guid_only(tmp_path: Path) -> None:
    hits = [
        FoundIssue("2", "OPS-2", "", {"labels": ["x", stamp_label("B")]}),
        FoundIssue("9", "OPS-9", "", {}),  # no stamp field in the answer: proves nothing for anyone
        FoundIssue("1", "OPS-1", "", {"labels": [stamp_label("A")]}),
        FoundIssue("3", "OPS-3", "", {"labels": [stamp_label("D")]}),
        FoundIssue("4", "OPS-4", "", {"labels": [stamp_label("D")]}),
    ]
    port = SearchOnly(hits)
    works = [_probe(1, "A"), _probe(2, "B"), _probe(3, "C"), _probe(4, "D")]
    a, b, c, d = _run(tmp_path, port, works)
    assert len(port.queries) == 1
    assert port.queries[0].startswith("labels in (")
    assert (a.found.key, b.found.key, c.found, c.error) == ("OPS-1", "OPS-2", None, None)
    assert isinstance(d.error, StampAmbiguous)
    assert d.found is None


def test_a_failed_search_fails_every_probe_of_the_batch_alike(tmp_path: Path) -> None:
    error = JiraUnavailable("HTTP 503")
    outcomes = _run(tmp_path, SearchOnly([], error), [_probe(1, "A"), _probe(2, "B")])
    assert [o.error for o in outcomes] == [error, error]
    assert [o.found for o in outcomes] == [None, None]
