"""Which source is in force for each run-time setting at start: a value set at run time (the TUI,
the API) stays until the config file's own value for it changes; a file value changed since the last
start replaces it. The file's values are kept (settings row `config_file`, never a secret) for the
next start to compare with, and each start logs one line per setting saying which source won.
"""

from __future__ import annotations

import logging
from typing import Any

from driver.config import Config
from driver.jira.auth import credentials_from_config
from driver.model.creation_table import (
    TicketTable,
    with_target,
)
from driver.store import (
    S_AUTH,
    S_CONFIG_FILE,
    S_LOG,
    S_TICKET_LOCATION,
    S_TICKET_TABLE,
    S_UPDATE,
    Store,
)

log = logging.getLogger("driver.settings")


def file_values(config: Config) -> dict[str, Any]:
    """The config file's value of each run-time setting (never a secret: a changed password is
    seen through the user name or the mode only)."""
    credentials = credentials_from_config(config.jira)
    return {
        S_UPDATE: {
            "max_updates": config.update.max_updates,
            "interval_seconds": config.update.interval_seconds,
            "scope": config.update.scope,
        },
        S_LOG: {
            "max_entries": config.log.max_entries,
            "remove_older_than_days": config.log.remove_older_than_days,
        },
        S_AUTH: {"mode": credentials.mode, "username": credentials.username},
        S_TICKET_LOCATION: config.jira.ticket_location,
        S_TICKET_TABLE: {
            "project": config.ticket.project.strip(),
            "issue_type": config.ticket.issue_type.strip(),
        },
    }


SECTIONS = {
    S_UPDATE: "[update]",
    S_LOG: "[log]",
    S_AUTH: "[jira] credentials",
    S_TICKET_LOCATION: "[jira] ticket_location",
    S_TICKET_TABLE: "[ticket] project and issue_type",
}


def reconcile(config: Config, store: Store) -> None:
    """Which source wins for each run-time setting, decided once at start (a line each in the log):
    a value set at run time (TUI, API) stays until the config file's own value for it changes;
    a file value that changed since the last start replaces it. Then the file's values are kept
    for the next start to compare with."""
    now = file_values(config)
    before = store.setting(S_CONFIG_FILE)
    seen: dict[str, Any] = before if isinstance(before, dict) else {}
    with store.transaction():
        for key, value in now.items():
            where = SECTIONS[key]
            stored = store.setting(key)
            changed = key in seen and seen[key] != value
            if key == S_TICKET_TABLE:
                if stored is not None and changed:
                    table = with_target(
                        TicketTable.model_validate(stored), value["project"], value["issue_type"]
                    )
                    store.put_setting(key, table.model_dump(mode="json"))
                    log.info(
                        "%s: changed in the config file since the last start: the Ticket Creation"
                        " Table now sends project %s, issue type %s",
                        where,
                        value["project"],
                        value["issue_type"],
                    )
                elif stored is not None:
                    log.info(
                        "%s: the Ticket Creation Table's are in force (the config file's seed them only)",
                        where,
                    )
                continue
            if stored is None:
                # the file's value or a JIRA_DRIVER_ variable's: nothing set at run time overrides it
                log.info("%s: from the configuration (the file and the environment)", where)
            elif changed:
                store.put_setting(key, None)
                log.info(
                    "%s: changed in the config file since the last start: the file's value replaces"
                    " the one set at run time",
                    where,
                )
            else:
                log.info(
                    "%s: the value set at run time is in force (the config file's is unchanged since"
                    " the last start)",
                    where,
                )
        store.put_setting(S_CONFIG_FILE, now)
