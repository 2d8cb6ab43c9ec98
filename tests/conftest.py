"""Shared fixtures. Each family lives in tests/fixtures/ and is loaded here as a plugin."""

pytest_plugins = [
    "tests.fixtures.paths",
    "tests.fixtures.sim",
    "tests.fixtures.driver",
    "tests.fixtures.proxy",
    "tests.fixtures.postgres",
    "tests.fixtures.stores",
]
