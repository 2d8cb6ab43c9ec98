"""Jira over HTTP, and the health of the link to it.

- client: `JiraClient` (the one pooled httpx client: proxies, CAs, status codes read in one place,
  typed errors of driver.errors)
- auth: `Credentials`, `credentials_from_config`, the auth flows (secrets masked in reprs)
- http: Retry-After and rate headers, bodies, transport failures in plain words
- check: `check`, GET myself and serverInfo with a plain answer
- health: `JiraHealth`, pure: ok / unreachable / paused / auth failed, backoffs, pacing, in flight
- backoff: `Pauses` (Jira's 429 pauses), `backoff_seconds`, pure
"""
