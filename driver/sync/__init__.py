"""Hearing back from Jira: what people change on the driver's tickets.

- rules: webhook bodies and signatures, what a change does to a ticket record, the poll's JQL and
  cursor (pure)
- service: `Sync`, webhook deliveries and polls through one handler into the store
- polling: `Poller`, the searches every `poll_seconds`, their pages and the stored cursor
"""
