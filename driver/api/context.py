"""What the API serves from: the driver's parts, built and wired by driver.service.process.build."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from driver.app.settings import RuntimeSettings
from driver.config import Config
from driver.contract.schemas import LogSettings, UpdateSettings
from driver.jira.client import Credentials, JiraClient
from driver.sending.engine import Engine
from driver.store import Store
from driver.sync.service import Sync


@dataclass
class DriverContext:
    """Everything the API serves from; built by driver.service.process.build.

    `settings` is the one place run-time settings are read from and changed through
    (driver.app.settings); `accepting` turns False at shut-down (intake then answers 503).
    `db_problem` is why the API's last write failed ('' once one succeeds; driver.api.deps
    watch_database), shown by /api/status beside the engine's own. `sync` hears back from Jira
    (driver.sync.service: POST /api/jira/webhook, polling); None only where no service built one.
    """

    config: Config
    store: Store
    engine: Engine
    jira: JiraClient
    settings: RuntimeSettings
    started_at: datetime
    accepting: bool = True
    db_problem: str = ""
    sync: Sync | None = None

    # Read-only views kept for older callers (tests, fixtures); change them through `settings`.
    @property
    def update_settings(self) -> UpdateSettings:
        return self.settings.update

    @property
    def log_settings(self) -> LogSettings:
        return self.settings.log

    @property
    def credentials(self) -> Credentials:
        return self.settings.credentials
