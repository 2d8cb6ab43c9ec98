"""Run-time settings: what an operator may change while the driver runs, in one place.

The settings are the update limit, log retention, the ticket location, the Jira credentials, the
Ticket Creation Table and the field catalog. Each has a value in the config file (or a seed) and
may have one stored in the database's `settings` table by an earlier PUT; the stored one wins.

RuntimeSettings.load reads them at start-up; a stored value that is no longer valid (e.g. an
interval_seconds of 1e11 kept by an older version) is reported in one log line and the config
file's value is used instead, so a bad value never keeps the driver from starting. `attach` then
connects the live objects it pushes changes to (the Jira client and the engine, with its limiter
and ticket configuration).

Every change goes the same way, so that it is applied only when all of it is valid:

    validate  -> SettingsError / ShapeError / QueryError, nothing stored or applied
    persist   -> one transaction; sqlite3.OperationalError (locked, busy, full) leaves the old
                 value stored and in force
    push      -> limiter.configure + engine.wake, jira.set_credentials + engine.credentials_changed,
                 jira.set_ticket_location + setup.set_location, setup.table, setup.catalog

All calls happen on the event loop thread, like the store's.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from driver.app.precedence import reconcile
from driver.config import Config
from driver.config_jira import location_problem
from driver.contract.schemas import AddField, AuthMode, LogSettings, TicketRowBody, UpdateSettings
from driver.errors import ConfigError, DriverError, QueryError
from driver.jira.auth import Credentials, credentials_from_config
from driver.model.creation_table import (
    Mode,
    TicketRow,
    TicketTable,
    add_row,
    query_to_table,
    seed_table,
    table_to_query,
    unknown_fields,
)
from driver.model.fields import FieldCatalog, FieldDef, FieldType
from driver.model.request_setup import RequestSetup
from driver.sending.limiter import UpdateLimiter
from driver.store import (
    S_AUTH,
    S_CATALOG,
    S_LOG,
    S_TICKET_LOCATION,
    S_TICKET_TABLE,
    S_UPDATE,
    Store,
)
from driver.store.secret_file import read_secret, secret_path, write_secret

log = logging.getLogger("driver.settings")

_Model = TypeVar("_Model", bound=BaseModel)


class SettingsError(DriverError):
    """A change refused whole (nothing stored or applied); the message is one line for people."""

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        self.details = details
        super().__init__(message)


class JiraTarget(Protocol):
    """What a settings change needs of the Jira client."""

    def set_credentials(self, credentials: Credentials) -> None: ...
    def set_ticket_location(self, ticket_location: str) -> None: ...


class EngineTarget(Protocol):
    """What a settings change needs of the sending engine."""

    limiter: UpdateLimiter

    def wake(self, deferred: bool = False) -> None: ...
    def credentials_changed(self) -> None: ...


class StoredAuth(BaseModel):
    """The `auth` setting as stored by PUT /api/settings/auth."""

    model_config = ConfigDict(extra="ignore")

    mode: AuthMode
    username: str = ""
    secret: str = ""
    """Only in databases of older versions: moved to driver.store.secret_file at the next start."""


def normal_location(text: str) -> str:
    """A ticket location without surrounding blanks and slashes; SettingsError when nothing is left."""
    location = text.strip().strip("/")
    if not location:
        raise SettingsError("ticket_location: expected a path such as rest/api/latest/issue")
    problem = location_problem(location)
    if problem:
        raise SettingsError(f"ticket_location: {problem}")
    return location


def _first_problem(exc: ValidationError) -> str:
    """Where and what, never the value (a stored secret must not reach the log)."""
    errors = exc.errors(include_input=False, include_url=False)
    if not errors:
        return "invalid"
    first = errors[0]
    message = str(first.get("msg", "invalid")).removeprefix("Value error, ")
    where = ".".join(str(part) for part in first.get("loc", ()))
    return f"{where}: {message}" if where else message


def _from_config(model: type[_Model], section: str, values: dict[str, Any]) -> _Model:
    """A settings model from config values; ConfigError (exit 2) when the file's value is out of bounds."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        key = str(first["loc"][0]) if first.get("loc") else "*"
        raise ConfigError(section, key, values.get(key), str(first.get("msg", "invalid"))) from None


def _stored(
    store: Store, key: str, model: type[_Model], fallback: _Model, warned: dict[str, Any] | None = None
) -> _Model:
    """The stored value of `key` when valid, else `fallback`, with a warning, once per invalid
    value when `warned` (key -> the invalid value last warned of) is given: a pair's nodes read
    the settings again every renewal period."""
    raw = store.setting(key)
    if raw is None:
        return fallback
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        if warned is None or warned.get(key) != raw:
            log.warning(
                "stored setting %r is invalid (%s): using the config file's value", key, _first_problem(exc)
            )
        if warned is not None:
            warned[key] = raw
        return fallback


@dataclass
class _Loaded:
    update: UpdateSettings
    log: LogSettings
    credentials: Credentials
    location: str
    table: TicketTable
    catalog: FieldCatalog
    catalog_loaded: bool
    warned: dict[str, Any]
    """Invalid stored values warned of, by key (`_stored`)."""


def _file_update(config: Config) -> UpdateSettings:
    return _from_config(
        UpdateSettings,
        "update",
        {
            "max_updates": config.update.max_updates,
            "interval_seconds": config.update.interval_seconds,
            "scope": config.update.scope,
        },
    )


def _file_log(config: Config) -> LogSettings:
    return _from_config(
        LogSettings,
        "log",
        {
            "max_entries": config.log.max_entries,
            "remove_older_than_days": config.log.remove_older_than_days,
        },
    )


def _load(config: Config, store: Store) -> _Loaded:
    reconcile(config, store)
    warned: dict[str, Any] = {}
    update = _stored(store, S_UPDATE, UpdateSettings, _file_update(config), warned)
    log_settings = _stored(store, S_LOG, LogSettings, _file_log(config), warned)
    credentials = credentials_from_config(config.jira)
    raw_auth = store.setting(S_AUTH)
    if raw_auth is not None:
        try:
            auth = StoredAuth.model_validate(raw_auth)
            if auth.secret:
                # An older version kept the secret in the database: move it out (secret_file).
                write_secret(store.path, auth.secret)
                store.forget_secret_setting(
                    S_AUTH, StoredAuth(mode=auth.mode, username=auth.username).model_dump()
                )
                log.info("moved the stored Jira secret out of the database into %s", secret_path(store.path))
                secret = auth.secret
            else:
                found = read_secret(store.path)
                if found is None and auth.mode != "none":
                    log.warning(
                        "the Jira secret set at run time is missing (%s): set the credentials again",
                        secret_path(store.path),
                    )
                secret = found or ""
            credentials = Credentials(auth.mode, auth.username, secret)
        except ValidationError as exc:
            log.warning(
                "stored setting 'auth' is invalid (%s): using the config file's credentials",
                _first_problem(exc),
            )
        except (OSError, ValueError) as exc:
            log.warning("cannot read the stored Jira secret (%s): using the config file's credentials", exc)
    location = config.jira.ticket_location
    raw_location = store.setting(S_TICKET_LOCATION)
    if raw_location is not None:
        try:
            location = normal_location(raw_location if isinstance(raw_location, str) else "")
        except SettingsError:
            log.warning("stored setting 'ticket_location' is invalid: using the config file's value")
    seed = seed_table(config.ticket.project, config.ticket.issue_type)
    table = _stored(store, S_TICKET_TABLE, TicketTable, seed, warned)
    if store.setting(S_TICKET_TABLE) is None:
        store.put_setting(S_TICKET_TABLE, table.model_dump(mode="json"))
    catalog = FieldCatalog.system()
    raw_catalog = store.setting(S_CATALOG)
    catalog_loaded = False
    if raw_catalog:
        try:
            catalog = FieldCatalog.from_list(raw_catalog)
            catalog_loaded = True
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("stored setting 'catalog' is invalid (%s): using the system fields", exc)
    return _Loaded(update, log_settings, credentials, location, table, catalog, catalog_loaded, warned)


class RuntimeSettings:
    """The settings in force, loaded from the store and the config, changed only through here."""

    def __init__(
        self,
        store: Store,
        update: UpdateSettings,
        log_settings: LogSettings,
        credentials: Credentials,
        setup: RequestSetup,
    ) -> None:
        self.store = store
        self._update = update
        self._log = log_settings
        self._credentials = credentials
        self.setup = setup
        """Shared with the engine and intake; its parts are replaced whole by the setters below."""
        self._jira: JiraTarget | None = None
        self._engine: EngineTarget | None = None
        self._config: Config | None = None
        """The config file's values (`load`): what `reread` falls back on where none is stored."""
        self._warned: dict[str, Any] = {}
        """Invalid stored values already warned of, by key: `reread` says each once."""

    @classmethod
    def load(cls, config: Config, store: Store) -> RuntimeSettings:
        """The settings of this start: stored values where valid, else the config file's.

        Raises ConfigError when a config file value itself is out of the API's bounds.
        """
        loaded = _load(config, store)
        setup = RequestSetup(
            table=loaded.table,
            catalog=loaded.catalog,
            settings=config.request_settings(),
            catalog_loaded=loaded.catalog_loaded,
            # auto: Jira says which it is when it first answers (driver.app.metadata.detect)
            flavour_known=config.jira.api_type.value in ("cloud", "datacenter"),
            lifecycle=config.lifecycle_settings(),
            endpoints=config.endpoint_map(),
            eligible=config.eligible_on_create(),
        )
        setup.set_location(loaded.location)
        settings = cls(store, loaded.update, loaded.log, loaded.credentials, setup)
        settings._config = config
        settings._warned = loaded.warned
        return settings

    def limiter(self) -> UpdateLimiter:
        """A limiter set to the update settings in force (for the engine being built)."""
        update = self._update
        return UpdateLimiter(update.max_updates, update.interval_seconds, update.scope)

    def attach(self, jira: JiraTarget, engine: EngineTarget) -> None:
        """Push changes to these from now on; the client gets the ticket location in force now."""
        self._jira = jira
        self._engine = engine
        jira.set_ticket_location(self.ticket_location)

    # --- what is in force -----------------------------------------------------------------------

    @property
    def update(self) -> UpdateSettings:
        return self._update

    @property
    def log(self) -> LogSettings:
        return self._log

    @property
    def credentials(self) -> Credentials:
        return self._credentials

    @property
    def ticket_location(self) -> str:
        return self.setup.settings.ticket_location

    @property
    def max_entries(self) -> int:
        """The log's row limit, applied at every intake (0: none)."""
        return self._log.max_entries

    # --- changes --------------------------------------------------------------------------------

    def reread(self) -> None:
        """Take what the store holds now, which a pair's other node may have changed: the update
        limit, retention, ticket location, Ticket Creation Table and field catalog (an invalid stored
        value keeps the one in force; none stored: the config file's). Credentials stay this node's
        own."""
        store, config = self.store, self._config
        # no stored value: the config file's is in force (another node's start may have found the
        # file changed and cleared the one set at run time: driver.app.precedence)
        warned = self._warned
        update = _stored(
            store, S_UPDATE, UpdateSettings, _file_update(config) if config else self._update, warned
        )
        if update != self._update:
            self._use_update(update)
        self._log = _stored(store, S_LOG, LogSettings, _file_log(config) if config else self._log, warned)
        raw_location = store.setting(S_TICKET_LOCATION)
        if raw_location is None and config is not None:
            raw_location = config.jira.ticket_location
        if isinstance(raw_location, str) and raw_location != self.ticket_location:
            with contextlib.suppress(SettingsError):  # an invalid stored path: the one in force stays
                self._use_location(normal_location(raw_location))
        table = _stored(store, S_TICKET_TABLE, TicketTable, self.setup.table, warned)
        if table != self.setup.table:
            self.setup.use_table(table)
        raw_catalog = store.setting(S_CATALOG)
        if raw_catalog and raw_catalog != self.setup.catalog.to_list():
            try:
                self.setup.use_catalog(FieldCatalog.from_list(raw_catalog))
            except (ValueError, KeyError, TypeError) as exc:
                if warned.get(S_CATALOG) != raw_catalog:
                    log.warning("stored setting 'catalog' is invalid (%s): keeping the one in force", exc)
                warned[S_CATALOG] = raw_catalog

    def set_update(self, update: UpdateSettings) -> None:
        """A new update limit; sending looks at the queue again at once."""
        update = UpdateSettings.model_validate(update.model_dump())
        self.store.put_setting(S_UPDATE, update.model_dump(mode="json"))
        self._use_update(update)

    def _use_update(self, update: UpdateSettings) -> None:
        """Put an update limit in force; sending looks at the queue again at once."""
        self._update = update
        if self._engine is not None:
            self._engine.limiter.configure(update.max_updates, update.interval_seconds, update.scope)
            self._engine.wake(deferred=True)

    def set_log(self, settings: LogSettings) -> int:
        """New retention, applied at once to the log; returns how many rows it removed."""
        settings = LogSettings.model_validate(settings.model_dump())
        with self.store.transaction():
            self.store.put_setting(S_LOG, settings.model_dump(mode="json"))
            removed = self.store.trim(settings.max_entries)
            removed += self.store.remove_older_than(settings.remove_older_than_days)
        self._log = settings
        return removed

    def set_ticket_location(self, text: str) -> None:
        """A new issue path; the client and the request builder follow (v3 switches to ADF)."""
        location = normal_location(text)
        self.store.put_setting(S_TICKET_LOCATION, location)
        self._use_location(location)

    def _use_location(self, location: str) -> None:
        """Put an issue path in force in the client and the request builder."""
        if self._jira is not None:
            self._jira.set_ticket_location(location)
        self.setup.set_location(location)

    def set_auth(self, mode: AuthMode, username: str, secret: str) -> None:
        """New credentials; sending resumes after a 401. An empty secret with the same mode keeps
        the stored one (it is write-only, so a form that only changes the user name sends none)."""
        if self.store.shared:
            raise SettingsError(
                "in a pair (a PostgreSQL database) each node's Jira credentials come from its own"
                " config file or environment: change them there and restart the node"
            )
        if not secret and mode == self._credentials.mode:
            secret = self._credentials.secret
        credentials = Credentials(mode, username if mode == "basic" else "", secret)
        # The secret goes beside the database (0600), never into it (driver.store.secret_file).
        write_secret(self.store.path, credentials.secret)
        stored = StoredAuth(mode=credentials.mode, username=credentials.username)
        self.store.put_setting(S_AUTH, stored.model_dump(mode="json", exclude={"secret"}))
        self._credentials = credentials
        if self._jira is not None:
            self._jira.set_credentials(credentials)
        if self._engine is not None:
            self._engine.credentials_changed()

    def set_table(self, table: TicketTable) -> None:
        """Use and persist a new Ticket Creation Table (already checked by the caller)."""
        self.store.put_setting(S_TICKET_TABLE, table.model_dump(mode="json"))
        self.setup.use_table(table)

    def set_rows(self, rows: Sequence[TicketRowBody]) -> None:
        """Replace the table's rows, each value canonicalised; SettingsError or ShapeError."""
        settings = self.setup.settings
        current = self.setup.table
        try:
            given = [
                TicketRow(
                    field=r.field, name=r.name, type=FieldType(r.type), value=r.value, mode=Mode(r.mode)
                )
                for r in rows
            ]
            table = TicketTable(
                rows=tuple(given), extras=current.extras, fields_position=current.fields_position
            )
        except (ValueError, ValidationError) as exc:
            reason = _first_problem(exc) if isinstance(exc, ValidationError) else str(exc)
            raise SettingsError(f"invalid row: {reason}") from None
        canon = TicketTable(extras=table.extras, fields_position=table.fields_position)
        for row in table.rows:
            canon = add_row(
                canon, row.field_def(), row.value, row.mode, settings.user_style, settings.text_format
            )
        table_to_query(canon, settings.user_style, settings.text_format)
        self.set_table(canon)

    def set_query(self, query_text: str) -> None:
        """Replace the table by a Create Query typed as JSON; QueryError names line and column."""
        settings = self.setup.settings
        table = query_to_table(
            query_text, self.setup.table, self.setup.catalog, settings.user_style, settings.text_format
        )
        if unknown := unknown_fields(table, self.setup.table, self.setup.catalog):
            raise QueryError(
                f"fields.{unknown[0]}: no such field in the catalog (Add Field adds a custom one)"
            )
        self.set_table(table)

    def add_field(self, body: AddField) -> None:
        """Add Field: a row for a catalog field, or for a custom field given with its type.

        A custom field the catalog did not know joins it. SettingsError or ShapeError.
        """
        setup = self.setup
        settings = setup.settings
        known = setup.catalog.get(body.id)
        if body.type:
            try:
                kind = FieldType(body.type)
            except ValueError:
                allowed = ", ".join(t.value for t in FieldType)
                raise SettingsError(f"unknown field type {body.type!r} (known: {allowed})") from None
        elif known is not None:
            kind = known.type
        else:
            raise SettingsError(f"field {body.id!r} is not in the catalog: give its type")
        if not body.id.strip():
            raise SettingsError("id: expected a field id such as priority or customfield_10100")
        name = body.name or (known.name if known else body.id)
        definition = FieldDef(body.id, name, kind)
        table = add_row(
            setup.table, definition, body.value, Mode(body.mode), settings.user_style, settings.text_format
        )
        catalog = setup.catalog
        new_field = definition.custom and known is None
        if new_field:
            catalog = catalog.with_field(definition)
        with self.store.transaction():
            if new_field:
                self.store.put_setting(S_CATALOG, catalog.to_list())
            self.store.put_setting(S_TICKET_TABLE, table.model_dump(mode="json"))
        setup.use_catalog(catalog)
        setup.use_table(table)
