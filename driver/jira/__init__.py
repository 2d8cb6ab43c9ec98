"""Jira over HTTP, and the health of the link to it.

- client: `JiraClient` (the one pooled httpx client: auth, proxies, CAs, status codes read in one
  place, typed errors of driver.errors), `Credentials`, `credentials_from_config`
- health: `JiraHealth`, pure: ok / unreachable / paused / auth failed, backoffs, pacing, in flight
- backoff: `Pauses` (Jira's 429 pauses), `backoff_seconds`, pure
"""
