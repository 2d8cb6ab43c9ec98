"""The schema's steps of rounds 1 and 2 (0001 to 0010): the log and queue, tickets by GUID and their
life, the journals, the database's identity. Never edit an applied step; add new ones at the end of
driver.store.migrations.round_three."""

from __future__ import annotations

import secrets

from driver.store.migrations import Schema, backfill, step


@step("0001_initial")
def initial(db: Schema) -> None:
    """Log (also the queue), tickets by GUID, settings, daily statistics."""
    # AUTOINCREMENT: retention deletes old rows, and a reused id would confuse the TUI and shell
    # users who refer to log rows by id.
    db.execute(
        """
        CREATE TABLE log (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            type TEXT NOT NULL,
            action TEXT NOT NULL,
            guid TEXT NOT NULL,
            time TEXT NOT NULL,
            status TEXT NOT NULL,
            ticket_id TEXT,
            ticket_key TEXT,
            ticket_url TEXT,
            error TEXT NOT NULL DEFAULT '',
            attempts INTEGER NOT NULL DEFAULT 0,
            duration_ms REAL,
            note TEXT NOT NULL DEFAULT '',
            payload TEXT NOT NULL,
            request TEXT,
            response TEXT,
            next_attempt_at REAL,
            settled_at TEXT,
            merged_into INTEGER
        )
        """
    )
    # The queue is the unsettled rows; a partial index keeps finding them cheap however long the
    # log grows.
    db.execute("CREATE INDEX log_open ON log (guid, id) WHERE status IN ('Pending', 'Deferred')")
    db.execute("CREATE INDEX log_status ON log (status, id)")
    db.execute("CREATE INDEX log_guid ON log (guid, id)")
    db.execute("CREATE INDEX log_time ON log (time)")
    db.execute(
        """
        CREATE TABLE tickets (
            guid TEXT PRIMARY KEY,
            ticket_id TEXT,
            ticket_key TEXT,
            ticket_url TEXT,
            state TEXT NOT NULL,
            create_log_id INTEGER,
            intent_at TEXT,
            probes INTEGER NOT NULL DEFAULT 0
        )
        """
    )
    db.execute("CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.execute(
        """
        CREATE TABLE stats_days (
            day TEXT PRIMARY KEY,
            created INTEGER NOT NULL DEFAULT 0,
            updated INTEGER NOT NULL DEFAULT 0
        )
        """
    )
    db.execute("CREATE TABLE stats_totals (counter TEXT PRIMARY KEY, value INTEGER NOT NULL DEFAULT 0)")
    db.execute("INSERT INTO stats_totals (counter, value) VALUES ('create', 0), ('update', 0)")


@step("0002_log_settled_at")
def log_settled_at(db: Schema) -> None:
    """Find recently settled rows without scanning the log (the update limit's window at start)."""
    db.execute("CREATE INDEX log_settled ON log (settled_at) WHERE settled_at IS NOT NULL")


@step("0003_comment_sends")
def comment_sends(db: Schema) -> None:
    """The comment journal: which comment of which log row is being sent, or was, and its Jira id.

    A comment POST is not idempotent. Its intent is journaled ('sending') before it goes out and
    marked 'sent' with Jira's comment id after the 201, so a comment whose answer was lost (or
    whose process was killed) is looked up on the ticket instead of being posted twice.
    """
    db.execute(
        """
        CREATE TABLE comment_sends (
            log_id INTEGER NOT NULL,
            idx INTEGER NOT NULL,
            ticket_key TEXT NOT NULL,
            state TEXT NOT NULL,
            comment_id TEXT,
            intent_at TEXT NOT NULL,
            PRIMARY KEY (log_id, idx)
        )
        """
    )
    db.execute("CREATE INDEX comment_sends_ticket ON comment_sends (ticket_key)")
    db.execute("CREATE INDEX comment_sends_intent ON comment_sends (intent_at)")


@step("0004_identity")
def identity(db: Schema) -> None:
    """The database's own random id (one row), also kept beside it in `<database>.id`.

    A start compares the two, so a database deleted, emptied or replaced by another file while the
    driver was stopped is noticed instead of being taken for a first start (driver.store.database_file).
    `replaces` holds the id of the database this one took over from (`run --init`): creates for
    GUIDs it does not know then search Jira for their stamp first.
    """
    db.execute(
        """
        CREATE TABLE identity (
            id TEXT NOT NULL,
            created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
            replaces TEXT
        )
        """
    )
    db.execute("INSERT INTO identity (id) VALUES (?)", (secrets.token_hex(16),))


@step("0005_idempotency")
def idempotency(db: Schema) -> None:
    """Idempotency keys of accepted batches: a repeated key answers as the first time, queues nothing.

    `body` is a digest of the request it came with (the same key with another body is refused);
    `answer` the accepted rows as JSON. Kept IDEMPOTENCY_KEEP (a day), pruned with retention.
    """
    db.execute(
        """
        CREATE TABLE idempotency (
            key TEXT PRIMARY KEY,
            body TEXT NOT NULL,
            answer TEXT NOT NULL,
            created_at TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX idempotency_created ON idempotency (created_at)")


@step("0006_lifecycle")
def lifecycle(db: Schema) -> None:
    """The ticket's whole life: what Jira says of it, the GUID's tickets over time, transitions, webhooks.

    tickets       gains the ticket's generation (1 for the GUID's first ticket; each new ticket for
                  the GUID takes the next, and its stamp carries it, so stamps stay unique per
                  ticket), its project and type (the transition cache's key), and the last known
                  Jira state (status, category, resolution, assignee, who changed it last and
                  whether that was the driver's own account, who resolved it, deleted).
    ticket_history every ticket a GUID has had, by generation: when it was made and how it ended
                  (superseded by a new ticket, deleted in Jira).
    transition_sends the transition journal: the intent, committed before the POST; an entry found
                  when its row comes round again means the outcome is unknown, and the attempt's
                  marker on the ticket settles it (driver.sending.delivery, 0007).
    webhook_deliveries the X-Atlassian-Webhook-Identifier of each webhook handled, so Jira's
                  retries change nothing (kept a week).
    """
    for column in (
        "generation INTEGER NOT NULL DEFAULT 1",
        "project TEXT",
        "issuetype TEXT",
        "jira_status TEXT",
        "status_category TEXT",
        "resolution TEXT",
        "assignee TEXT",
        "changed_by TEXT",
        "changed_by_driver INTEGER",
        "resolved_at TEXT",
        "resolved_by_driver INTEGER",
        "deleted_at TEXT",
        "jira_updated TEXT",
        "synced_at TEXT",
        "created_at TEXT",
    ):
        db.execute(f"ALTER TABLE tickets ADD COLUMN {column}")
    db.execute("CREATE INDEX tickets_key ON tickets (ticket_key)")
    db.execute(
        """
        CREATE TABLE ticket_history (
            guid TEXT NOT NULL,
            generation INTEGER NOT NULL,
            ticket_id TEXT,
            ticket_key TEXT,
            ticket_url TEXT,
            created_at TEXT,
            ended_at TEXT,
            ended TEXT,
            PRIMARY KEY (guid, generation)
        )
        """
    )
    db.execute("CREATE INDEX ticket_history_key ON ticket_history (ticket_key)")
    backfill(
        db,
        """
        INSERT INTO ticket_history (guid, generation, ticket_id, ticket_key, ticket_url)
        SELECT guid, 1, ticket_id, ticket_key, ticket_url FROM tickets WHERE state = 'created'
        """,
    )
    db.execute(
        """
        CREATE TABLE transition_sends (
            log_id INTEGER PRIMARY KEY,
            ticket_key TEXT NOT NULL,
            transition_id TEXT NOT NULL,
            target TEXT NOT NULL,
            intent_at TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE TABLE webhook_deliveries (identifier TEXT PRIMARY KEY, received_at TEXT NOT NULL)")
    db.execute("CREATE INDEX webhook_deliveries_received ON webhook_deliveries (received_at)")
    db.execute("INSERT OR IGNORE INTO stats_totals (counter, value) VALUES ('webhook_ignored', 0)")


@step("0007_transition_attempt")
def m0007_transition_attempt(db: Schema) -> None:
    """transition_sends.attempt: a random id per POST, sent with the transition as an issue property
    (driver.model.transitions.MARKER_PROPERTY) and read back to settle that very attempt when its outcome
    is unknown. An entry journaled before this column ('') has no evidence: it is sent again unless
    the ticket is already where it leads."""
    db.execute("ALTER TABLE transition_sends ADD COLUMN attempt TEXT NOT NULL DEFAULT ''")


@step("0008_identity_birth")
def identity_birth(db: Schema) -> None:
    """identity gains born_at (ISO-8601 UTC): when the driver first started on this database, or
    found it without its id marker, or took it over with `run --init` (driver.store.database_file.settle).

    NULL for a database made before this migration: its birth is unknown and long past, so it is not
    new (no probe window, a lost database, docs/operations.md).
    """
    db.execute("ALTER TABLE identity ADD COLUMN born_at TEXT")


@step("0009_request_kind")
def request_kind(db: Schema) -> None:
    """log gains request_kind (driver.model.jobs.RequestKind): what the row's request was, written
    with it, so the update limit counts requests by a typed column instead of a JSON path.

    Rows settled in the last week (the longest update-limit interval) get theirs from the request
    as it was written before: a `transition` part, an `edit` part, a `target` with nothing sent.
    Older rows keep NULL: no window reaches them.
    """
    db.execute("ALTER TABLE log ADD COLUMN request_kind TEXT")
    backfill(
        db,
        "UPDATE log SET request_kind = CASE"
        " WHEN json_type(request, '$.transition') IS NOT NULL THEN 'transition'"
        " WHEN json_type(request, '$.edit') IS NOT NULL THEN 'update'"
        " WHEN json_type(request, '$.target') IS NOT NULL THEN 'planned'"
        " WHEN action = 'CREATE' THEN 'create'"
        " ELSE NULL END"
        " WHERE request IS NOT NULL AND settled_at >= strftime('%Y-%m-%dT%H:%M:%f', 'now', '-7 days')",
    )


@step("0010_driver_values")
def driver_values(db: Schema) -> None:
    """tickets gains driver_values (JSON: field id -> the values the driver set last), so an UPDATE
    of labels or components adds and removes only what the driver itself set
    (driver.model.multi_values). NULL for tickets made before: nothing is removed from them until
    the driver sets values again."""
    db.execute("ALTER TABLE tickets ADD COLUMN driver_values TEXT")
