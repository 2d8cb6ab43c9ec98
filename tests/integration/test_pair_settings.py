"""What a pair's nodes share through PostgreSQL, and what they must not (issue 22): the run-time
settings one node changes are what the other sends with once it leads; credentials stay each
node's own; one person's OAuth consent cannot be shared; a database keeps its Jira."""

from __future__ import annotations

from pathlib import Path

import pytest

from driver.app.settings import RuntimeSettings, SettingsError
from driver.config import Config, DriverSection, HaSection, UpdateSection
from driver.config_jira import JiraSection
from driver.contract.schemas import LogSettings, UpdateSettings
from driver.errors import ConfigError
from driver.model.creation_table import TicketTable
from driver.service.process import remember_jira
from driver.store import S_UPDATE
from driver.store.postgres.store import PostgresStore


def config_for(dsn: str, url: str = "https://jira.example.com") -> Config:
    return Config(
        jira=JiraSection(url=url, username="u", password="p"),
        driver=DriverSection(database=dsn),
        ha=HaSection(lease_seconds=5),
    )


def test_a_standby_takes_the_settings_the_other_node_changed_when_it_reads_them_again(
    pg_database: str,
) -> None:
    config = config_for(pg_database)
    one, other = PostgresStore(pg_database), PostgresStore(pg_database)
    try:
        leader = RuntimeSettings.load(config, one)
        standby = RuntimeSettings.load(config, other)
        leader.set_update(UpdateSettings(max_updates=3, interval_seconds=60, scope="ticket"))
        leader.set_log(LogSettings(max_entries=500, remove_older_than_days=9))
        leader.set_ticket_location("rest/api/3/issue")
        table = leader.setup.table
        changed = TicketTable(rows=table.rows[:1], extras=table.extras, fields_position=table.fields_position)
        leader.set_table(changed)
        assert standby.update.max_updates != 3
        standby.reread()
        assert (standby.update.max_updates, standby.update.interval_seconds) == (3, 60)
        assert (standby.log.max_entries, standby.log.remove_older_than_days) == (500, 9)
        assert standby.ticket_location == "rest/api/3/issue"
        assert standby.setup.table == changed
    finally:
        one.close()
        other.close()


def test_credentials_set_at_run_time_are_refused_in_a_pair(pg_database: str) -> None:
    store = PostgresStore(pg_database)
    try:
        settings = RuntimeSettings.load(config_for(pg_database), store)
        with pytest.raises(SettingsError, match="each node's Jira credentials come from its own"):
            settings.set_auth("basic", "someone", "s3cret")
        assert settings.credentials.secret == "p"
    finally:
        store.close()


def test_one_persons_consent_cannot_be_shared_by_a_pair() -> None:
    config = Config(
        jira=JiraSection(
            url="https://example.atlassian.net",
            auth="oauth_3lo",
            client_id="id",
            client_secret="secret",
            redirect_uri="http://127.0.0.1:8765/callback",
            cloud_id="abc",
        ),
        driver=DriverSection(database="postgresql://driver@db/jd"),
    )
    with pytest.raises(ConfigError, match=r"\[jira\] auth = 'oauth_3lo': a pair"):
        config.check_for_the_driver()


def test_a_database_keeps_the_jira_of_its_first_driver(pg_database: str) -> None:
    store = PostgresStore(pg_database)
    try:
        remember_jira(store, config_for(pg_database, "https://jira.example.com/"))
        remember_jira(store, config_for(pg_database, "https://jira.example.com"))  # the same Jira
        with pytest.raises(ConfigError, match="belongs to the driver of https://jira.example.com:"):
            remember_jira(store, config_for(pg_database, "https://other.example.com"))
    finally:
        store.close()


def test_auth_login_says_a_pair_cannot_use_a_consent(tmp_path: Path) -> None:
    from tests.fixtures.cli import run_cli

    ini = tmp_path / "pair.ini"
    ini.write_text(
        "[jira]\nurl = https://example.atlassian.net\nauth = oauth_3lo\nclient_id = id\n"
        "[driver]\ndatabase = postgresql://driver@db.example.com/jd\n"
    )
    for action in ("login", "status"):
        result = run_cli(ini, "auth", action)
        assert result.returncode == 2, result.stderr
        assert "cannot use one person's consent (oauth_3lo)" in result.stderr


def test_a_setting_cleared_by_the_other_nodes_start_falls_back_to_the_config_file(
    pg_database: str,
) -> None:
    """A node that starts with a changed config file clears the value set at run time (the file's
    wins, driver.app.precedence): the running node must then use its file's value too, not keep
    the run-time one (helper-15's trial: the leader enforced a stale limit until restarted)."""
    config = Config(
        jira=JiraSection(url="https://jira.example.com", username="u", password="p"),
        driver=DriverSection(database=pg_database),
        update=UpdateSection(max_updates=9, interval_seconds=60),
    )
    store = PostgresStore(pg_database)
    try:
        running = RuntimeSettings.load(config, store)
        running.set_update(UpdateSettings(max_updates=3, interval_seconds=60, scope="ticket"))
        store.put_setting(S_UPDATE, None)  # what the other node's start did
        running.reread()
        assert (running.update.max_updates, running.update.scope) == (9, config.update.scope)
    finally:
        store.close()


def test_an_invalid_stored_setting_is_warned_of_once_however_often_it_is_read_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Both nodes of a pair read the settings again every renewal period: an invalid stored value
    is said once (at start), and again only when it changes (helper-14's review: every 3 s)."""
    from driver.store import Store

    store = Store(tmp_path / "s.db")
    try:
        store.put_setting(S_UPDATE, {"max_updates": -5})
        with caplog.at_level("WARNING", logger="driver.app.settings"):
            settings = RuntimeSettings.load(config_for(str(tmp_path / "s.db")), store)
            for _ in range(5):
                settings.reread()
            store.put_setting(S_UPDATE, {"max_updates": "many"})
            for _ in range(3):
                settings.reread()
        said = [
            r.getMessage() for r in caplog.records if "stored setting 'update' is invalid" in r.getMessage()
        ]
        assert len(said) == 2, said
        assert settings.update.max_updates == config_for("x").update.max_updates
    finally:
        store.close()
