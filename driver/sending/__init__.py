"""A command's way from its committed row to Jira and back to its row.

- queues: `GuidQueues`, per-GUID order and which GUIDs are ready, timed or busy (pure)
- planning: `plan_next`, what a GUID's next rows send or why they wait (pure)
- limiter: `UpdateLimiter`, the update limit of [update] (pure)
- delivery: `Delivery`, the requests of one unit of work, each exactly once (HTTP, SQLite)
- verdicts, exactly_once: what an outcome means; the rules under an unknown answer (pure)
- recording: `Recorder`, a verdict written in one transaction, then memory (SQLite)
- known_tickets: `KnownTickets`, the engine's memory of each GUID's ticket and the GUIDs in doubt
- retries: `Retries`, when a row goes again and what Jira's health learns from a failure
- work: `Work`, `Outcome`, `After`: the values the stages hand on
- engine: `Engine`, the worker pool that runs the above
"""
