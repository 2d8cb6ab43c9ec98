"""The simulator's state, shared by every route and middleware layer through one typed object.

Routes receive it as a FastAPI dependency (`state: State`); the middleware layers are given it when the
app is built. `create_app` puts it in `app.state.sim`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from jira_sim.clock import Clock
from jira_sim.data import Catalog, Store
from jira_sim.faults import Faults, RateLimits
from jira_sim.journal import Journal
from jira_sim.jql import JqlField
from jira_sim.oauth import OAuthState
from jira_sim.permissions import ProjectRules
from jira_sim.search import build_fields, lookup
from jira_sim.settings import Limits, SimSettings
from jira_sim.webhooks import Webhooks


@dataclass
class SimState:
    """Everything that changes while the simulator runs; /_sim/reset puts it back (the clock excepted)."""

    settings: SimSettings
    clock: Clock
    catalog: Catalog
    store: Store
    journal: Journal
    faults: Faults
    limits: Limits
    rate: RateLimits
    jql: Callable[[str], JqlField | None]
    """The JQL field of a (lower-case) name, over `store`."""
    webhooks: Webhooks
    """Admin webhooks and their deliveries."""
    generation: int = 0
    """Bumped by every reset; a request from an earlier generation no longer belongs to anyone."""
    failed_logins: dict[str, int] = field(default_factory=dict)
    """Failed logins by user name (Data Center locks an account behind a CAPTCHA after a few)."""
    archived: set[str] = field(default_factory=set)
    """Keys of archived projects: their issues refuse changes (jira_sim.routes.common.issue_of)."""
    oauth: OAuthState = field(default_factory=OAuthState)
    """OAuth clients, tokens, codes and grants (jira_sim.oauth)."""
    rules: ProjectRules = field(default_factory=ProjectRules)
    """Permissions denied and create screens set by /_sim/permissions and /_sim/screens."""

    @classmethod
    def start(cls, settings: SimSettings, clock: Clock) -> SimState:
        """Fresh state for one simulator process: no issues, the settings' faults and limits armed."""
        catalog = Catalog(settings)
        store = Store(clock)
        return cls(
            settings=settings,
            clock=clock,
            catalog=catalog,
            store=store,
            journal=Journal(settings.journal_size),
            faults=Faults(settings.faults, settings.limits.latency_ms),
            limits=settings.limits,
            rate=RateLimits(settings.limits),
            jql=lookup(build_fields(catalog, store, clock)),
            webhooks=Webhooks(clock, settings.webhooks),
            oauth=OAuthState(clients=settings.oauth_clients, cloud=settings.flavor == "cloud"),
        )

    @property
    def cloud(self) -> bool:
        """Whether this is the Jira Cloud flavour (else Data Center)."""
        return self.settings.flavor == "cloud"

    def reset(self) -> None:
        """Clear issues, journal, faults and webhooks (the command line's come back) and disown deliveries
        under way; limits go back to the command line's. Time does not go back."""
        self.generation += 1
        self.failed_logins.clear()
        self.archived.clear()
        self.oauth.reset()
        self.rules.reset()
        self.webhooks.reset()
        self.store.reset()
        self.journal.reset()
        self.faults = Faults(self.settings.faults, self.settings.limits.latency_ms)
        self.limits = self.settings.limits
        self.rate.configure(self.limits)


def sim_state(request: Request) -> SimState:
    """The state of the app serving `request` (a FastAPI dependency)."""
    state: SimState = request.app.state.sim
    return state


State = Annotated[SimState, Depends(sim_state)]
"""A route parameter annotated `state: State` receives the simulator's state."""
