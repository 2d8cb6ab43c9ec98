"""A log of 100,000 rows through the real API: keyset pages, filters and counts, never the whole log."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.big_log import ROWS, seed_settled_log
from tests.fixtures.driver import DriverProcess

FAILED_EVERY = 1000


@pytest.fixture(scope="module")
def seeded_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("big-log") / "template.db"
    seed_settled_log(path, ROWS, FAILED_EVERY)
    return path


@pytest.fixture
def big_driver(
    driver_factory: Callable[..., DriverProcess], sim: Any, tmp_path: Path, seeded_template: Path
) -> DriverProcess:
    seeded = tmp_path / "seeded.db"
    shutil.copyfile(seeded_template, seeded)
    return driver_factory(
        sim.url,
        api_token="t",
        ini={"driver": {"database": str(seeded)}, "log": {"max_entries": "0", "remove_older_than_days": "0"}},
    )


def test_pages_walk_the_whole_log_newest_first_without_gaps(big_driver: DriverProcess) -> None:
    seen: list[int] = []
    before: int | None = None
    with big_driver.client() as api:
        while True:
            params: dict[str, Any] = {"limit": 1000}
            if before is not None:
                params["before_id"] = before
            page = api.get("/api/log", params=params).json()
            assert page["total"] == ROWS
            # a page is a page: the API never answers with more than it was asked for
            assert len(page["rows"]) <= 1000
            seen.extend(row["id"] for row in page["rows"])
            before = page["next_before_id"]
            if before is None:
                break
    assert seen == list(range(ROWS, 0, -1))


def test_filters_count_and_page_the_matching_rows_only(big_driver: DriverProcess) -> None:
    with big_driver.client() as api:
        failed = api.get("/api/log", params={"status": "Failed", "limit": 50}).json()
        assert failed["total"] == ROWS // FAILED_EVERY
        assert [row["id"] for row in failed["rows"]] == list(
            range(ROWS, ROWS - 50 * FAILED_EVERY, -FAILED_EVERY)
        )
        assert failed["next_before_id"] == ROWS - 49 * FAILED_EVERY

        text = api.get("/api/log", params={"q": "row 5000 is broken"}).json()
        assert [row["id"] for row in text["rows"]] == [5000]
        assert text["total"] == 1

        one_guid = api.get("/api/log", params={"guid": "alarm/7", "limit": 1000}).json()
        assert one_guid["total"] == ROWS // 5000
        assert {row["guid"] for row in one_guid["rows"]} == {"alarm/7"}
