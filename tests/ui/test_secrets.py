"""No screenshot may hold a secret: the ones the snapshot tests type, and the real fixtures' ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.ui.fake_driver import SECRET

SNAPSHOTS = Path(__file__).parent / "__snapshots__"
SECRETS = [SECRET]


def _svgs() -> list[Path]:
    return sorted(SNAPSHOTS.rglob("*.svg"))


def test_there_are_snapshots_to_check() -> None:
    assert len(_svgs()) >= 4


@pytest.mark.parametrize("secret", SECRETS)
def test_no_snapshot_shows_a_secret(secret: str) -> None:
    leaks = [svg.name for svg in _svgs() if secret in svg.read_text(encoding="utf-8")]
    assert not leaks, f"a configured secret appears in {leaks}"
