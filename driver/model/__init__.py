"""The ticket model, pure (no I/O, no clock read): what a command is, what it sends, and the rules
of a ticket's life. Every other part builds on it; it imports only driver.errors and
driver.contract.schemas.

Modules and their public names:
- commands: `parse_command`, `Command`, `ResolvedCommand`, `Action` (the Advanced grammar)
- fields, shaping: `FieldCatalog`, `FieldDef`; value shapes per field type and Jira flavour
- creation_table: `TicketTable` (the Ticket Creation Table) and the Create Query both ways
- requests: `RequestSettings`, `plan_requests`, `merge_updates`, `make_safe`
- stamps: a GUID's stamp on its ticket and the JQL that finds it (`stamp_jql`, `stamps_jql`)
- limits: Jira's limits on field values
- request_setup: `RequestSetup` (table, catalog, settings and lifecycle as they stand now)
- dry_run: what a command would send, without sending it
- jobs: `Job`, `JobPayload`, `NewEntry`, `TicketRecord`, `HistoryEntry`
- lifecycle, transitions: `LifecycleSettings`, `Course`; `Target`, choosing a transition
- answers: Jira's answers, typed (docs/wire-facts.md)
- alarm_state, ticket_view: an alarm's state from its rows; a GUID's ticket as the API shows it
- statistics: day buckets and resets
"""
