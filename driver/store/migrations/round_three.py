"""The schema's steps of round 3 (0011 on): the Responses and Alarms tables, the call journal, alert
notices, statistics offsets, forgotten GUIDs. New steps go at the end of this module."""

from __future__ import annotations

from driver.store.migrations import Schema, backfill, step


@step("0011_responses")
def responses(db: Schema) -> None:
    """The Responses table (driver.model.responses.HeardResponse): every answer heard from Jira,
    the log row it served; kept like the log (driver.store.responses)."""
    db.execute(
        """
        CREATE TABLE responses (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            at TEXT NOT NULL,
            kind TEXT NOT NULL,
            method TEXT NOT NULL,
            path TEXT NOT NULL,
            status INTEGER,
            duration_ms REAL NOT NULL,
            retry_after TEXT,
            rate_limit_reason TEXT,
            request_id TEXT,
            body TEXT NOT NULL DEFAULT '',
            error TEXT NOT NULL DEFAULT '',
            log_id INTEGER
        )
        """
    )
    db.execute("CREATE INDEX responses_log ON responses(log_id) WHERE log_id IS NOT NULL")


@step("0012_alarms")
def alarms(db: Schema) -> None:
    """The Alarms table's own part (driver.store.alarms): per GUID, what its automation last said.
    Written at intake; filled here from the log's automatic rows and the ticket records (a GUID
    whose rows retention removed keeps its ticket's create row, or 0)."""
    db.execute(
        """
        CREATE TABLE alarms (
            guid TEXT PRIMARY KEY,
            first_at TEXT NOT NULL,
            last_log_id INTEGER NOT NULL,
            last_action TEXT NOT NULL,
            last_at TEXT NOT NULL,
            summary TEXT
        )
        """
    )
    db.execute("CREATE INDEX alarms_last ON alarms (last_log_id)")
    backfill(
        db,
        "INSERT INTO alarms (guid, first_at, last_log_id, last_action, last_at)"
        " SELECT l.guid, (SELECT min(time) FROM log f WHERE f.guid = l.guid), l.id, l.action, l.time"
        " FROM log l WHERE l.id IN (SELECT max(id) FROM log WHERE type = 'Automatic' GROUP BY guid)",
    )
    backfill(
        db,
        "INSERT OR IGNORE INTO alarms (guid, first_at, last_log_id, last_action, last_at)"
        " SELECT guid, coalesce(created_at, intent_at, ''), coalesce(create_log_id, 0), 'CREATE',"
        " coalesce(created_at, intent_at, '') FROM tickets",
    )


@step("0013_call_sends")
def call_sends(db: Schema) -> None:
    """The call journal (driver.store.journals): a CALL of an endpoint not marked idempotent is
    written here before its request, so one whose answer was lost is Failed, never sent again."""
    db.execute(
        "CREATE TABLE call_sends (log_id INTEGER PRIMARY KEY, guid TEXT NOT NULL, intent_at TEXT NOT NULL)"
    )


@step("0014_alert_notices")
def alert_notices(db: Schema) -> None:
    """What the driver last did for each alert's GUID (driver.store.alert_notices): a notification
    sent again unchanged, by a retry or another Alertmanager peer, makes no command."""
    db.execute(
        "CREATE TABLE alert_notices (guid TEXT PRIMARY KEY, state TEXT NOT NULL, digest TEXT NOT NULL,"
        " at TEXT NOT NULL)"
    )


@step("0015_statistics_offsets")
def statistics_offsets(db: Schema) -> None:
    """Totals of creates and updates as their days' sums plus an offset only a reset moves (one
    write a ticket, where there were two), set so that each total reads as the old table held it."""
    db.execute("CREATE TABLE stats_offsets (counter TEXT PRIMARY KEY, value INTEGER NOT NULL)")
    db.execute(
        "INSERT INTO stats_offsets (counter, value) SELECT c, coalesce((SELECT value FROM stats_totals"
        " WHERE counter = c), 0) - (SELECT coalesce(sum(CASE c WHEN 'create' THEN created ELSE updated"
        " END), 0) FROM stats_days) FROM (SELECT 'create' AS c UNION ALL SELECT 'update') AS counters"
    )
    db.execute("DELETE FROM stats_totals WHERE counter IN ('create', 'update')")


@step("0016_forgotten_guids")
def forgotten_guids(db: Schema) -> None:
    """What is kept of a GUID forgotten after `[ticket] forget_after_days` without a command
    (driver.store.forgetting): the highest generation of a ticket it had, so a ticket made for it
    later takes the next and never an old stamp, and that ticket's key, to name in a refusal, and the day
    it was forgotten. About 40 bytes a GUID, where its ticket record, history and Alarms row take
    about 580."""
    db.execute(
        """
        CREATE TABLE forgotten_guids (
            guid TEXT PRIMARY KEY,
            generation INTEGER NOT NULL,
            ticket_key TEXT,
            forgotten_on TEXT NOT NULL
        ) WITHOUT ROWID
        """
    )
