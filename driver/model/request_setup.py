"""The ticket configuration: what shapes every request the driver builds (pure, no I/O).

Three parts, changed at run time by the API and by what Jira tells at start-up, read by intake
(to parse commands) and by the engine (to build each request when it is sent):

- the Ticket Creation Table (driver.model.creation_table.TicketTable): the rows of a CREATE;
- the field catalog (driver.model.fields.FieldCatalog): Jira's fields, by id and display name;
- the request settings (driver.model.requests.RequestSettings): ticket location, user style
  (Cloud accountId or Data Center name), text format (plain or ADF), GUID stamp, protected fields.

One RequestSetup is shared by reference; its parts are immutable values replaced whole, so a reader
that took `config.table` keeps a consistent table while a PUT replaces it. Persisting a change is
the caller's job (driver.app.settings), so this module stays pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from driver.model.creation_table import TicketTable
from driver.model.eligible_create import EligibleOnCreate
from driver.model.endpoints import Endpoint
from driver.model.fields import FieldCatalog, FieldDef
from driver.model.lifecycle import LifecycleSettings
from driver.model.requests import RequestSettings
from driver.model.shaping import UserStyle, text_format_for


@dataclass
class RequestSetup:
    """The Ticket Creation Table, the field catalog and the request settings, as they stand now."""

    table: TicketTable = field(default_factory=TicketTable)
    catalog: FieldCatalog = field(default_factory=FieldCatalog.system)
    settings: RequestSettings = field(default_factory=RequestSettings)
    catalog_loaded: bool = False
    """True once Jira's own field list has been read (this run or a stored earlier one)."""
    lifecycle: LifecycleSettings = field(default_factory=LifecycleSettings)
    """What RESOLVE, REOPEN and a CREATE for a resolved ticket do ([lifecycle], [sync])."""
    flavour_known: bool = True
    """The user style is Jira's own: configured, or detected (False while `api_type = auto` and
    Jira has not answered yet, so user fields cannot be shaped for it)."""
    eligible: EligibleOnCreate = field(default_factory=EligibleOnCreate)
    """[eligible]: the open ticket a CREATE searches for and takes instead of creating (off: jql '')."""
    endpoints: Mapping[str, Endpoint] = field(default_factory=dict)
    """The custom API endpoints a CALL may use ([endpoint.NAME]), by name; fixed at start."""

    def set_location(self, location: str) -> None:
        """A new ticket location (path relative to the Jira URL); v3 switches text to ADF."""
        self.settings = replace(
            self.settings, ticket_location=location, text_format=text_format_for(location)
        )

    def set_user_style(self, style: UserStyle) -> None:
        """Shape user fields for this flavour of Jira (Cloud accountId, Data Center name)."""
        if self.settings.user_style != style:
            self.settings = replace(self.settings, user_style=style)
        self.flavour_known = True

    def use_table(self, table: TicketTable) -> None:
        """A new Ticket Creation Table (checked and persisted by the caller) for the next requests."""
        self.table = table

    def use_catalog(self, catalog: FieldCatalog) -> None:
        """A new field catalog (persisted by the caller), e.g. with a field added by hand."""
        self.catalog = catalog

    def with_field(self, definition: FieldDef) -> FieldCatalog:
        """Add a field to the catalog (Add Field); returns the new catalog."""
        self.catalog = self.catalog.with_field(definition)
        return self.catalog

    def merge_jira_fields(self, catalog: FieldCatalog) -> FieldCatalog:
        """Jira's field list replaces the catalog; custom fields added by hand stay known."""
        for definition in self.catalog:
            if definition.custom and catalog.get(definition.id) is None:
                catalog = catalog.with_field(definition)
        self.catalog = catalog
        self.catalog_loaded = True
        return catalog
