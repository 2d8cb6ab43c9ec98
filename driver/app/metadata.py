"""What the driver learns from Jira itself: its flavour (Cloud or Data Center) and its field list.

Both shape requests: user fields are `{"accountId"}` on Cloud and `{"name"}` on Data Center, and
custom fields are named in commands by their display name. They are asked for at start-up and,
while Jira does not answer, again with a backoff (driver.service.process). A 401 is final for the
credentials it was answered to (JiraHealth.auth_failed): nothing is asked until they change.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Literal, Protocol

from driver.errors import JiraError
from driver.jira.health import JiraHealth
from driver.model.fields import FieldCatalog
from driver.model.request_setup import RequestSetup
from driver.store import S_CATALOG, Store

log = logging.getLogger("driver.metadata")


class MetadataPort(Protocol):
    """What this module needs of the Jira client."""

    async def detect_api_type(self) -> Literal["cloud", "datacenter", "unknown"]: ...
    async def get_fields(self) -> list[dict[str, Any]]: ...


class CredentialsRefused(JiraError):
    """Jira refused these credentials before: no request is sent until they change."""


async def detect(jira: MetadataPort, setup: RequestSetup, health: JiraHealth, now: datetime) -> bool:
    """Settle the flavour (api_type auto), and with it how user fields are shaped. A failure is
    Jira's health's to judge (JiraHealth.observe, at `now` on the engine's timer).

    False if Jira did not answer (or refused these credentials before: then nothing is asked).
    """
    if health.auth_failed:
        return False
    try:
        flavor = await jira.detect_api_type()
    except JiraError as exc:
        if news := health.observe(exc, now).news:
            log.warning("%s", news)
        log.warning("cannot ask Jira for its deployment type yet: %s", exc)
        return False
    if flavor in ("cloud", "datacenter"):
        setup.set_user_style(flavor)
    return True


async def refresh_catalog(
    jira: MetadataPort, setup: RequestSetup, store: Store, health: JiraHealth, now: datetime
) -> FieldCatalog:
    """Load Jira's field list into the catalog and the store. Telling Jira's health that Jira
    answered is the caller's (Driver.refresh_catalog, through the engine: once, with its log line).

    Raises CredentialsRefused without asking after a 401, and JiraError when Jira fails.
    """
    if health.auth_failed:
        raise CredentialsRefused("Jira refused the credentials: the field list is not asked for")
    try:
        items = await jira.get_fields()
    except JiraError as exc:
        if news := health.observe(exc, now).news:
            log.warning("%s", news)
        raise
    catalog = setup.merge_jira_fields(FieldCatalog.system().with_jira_fields(items))
    store.put_setting(S_CATALOG, catalog.to_list())
    return catalog
