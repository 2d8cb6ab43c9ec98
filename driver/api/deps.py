"""Dependencies of the routes: the Driver and its peers, the API token check, the shut-down gate.

Every dependency is `async def`: FastAPI runs a plain `def` one on a worker thread, which costs a
thread hop per dependency per request (it halved intake) and would break the rule that only the
event loop's thread touches the store.
"""

from __future__ import annotations

import hmac
import sqlite3
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPBearer

from driver.api.errors import NotLeader, ShuttingDown, Unauthorized
from driver.app.driver import Driver
from driver.app.settings import RuntimeSettings
from driver.store import Store

# Declares the bearer scheme in the OpenAPI schema; the check itself is require_token's, so a
# refusal is the driver's 401 ErrorBody rather than FastAPI's 403.
bearer = HTTPBearer(auto_error=False, description="The [driver] api_token, when one is set")


async def _driver(request: Request) -> Driver:
    """The Driver create_app was given."""
    driver: Driver = request.app.state.driver
    return driver


DriverDep = Annotated[Driver, Depends(_driver)]


async def _store(driver: DriverDep) -> Store:
    return driver.store


async def _settings(driver: DriverDep) -> RuntimeSettings:
    return driver.settings


StoreDep = Annotated[Store, Depends(_store)]
SettingsDep = Annotated[RuntimeSettings, Depends(_settings)]


async def require_token(request: Request, driver: DriverDep, _: Annotated[object, Security(bearer)]) -> None:
    """Unauthorized unless the request carries `Authorization: Bearer <api_token>` (when one is set).

    Compared in constant time, so the answer's timing does not tell how much of a guess was right.
    """
    token = driver.config.driver.api_token.get_secret_value()
    if not token:
        return
    header = request.headers.get("Authorization", "")
    scheme, _sep, value = header.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip().encode(), token.encode()):
        raise Unauthorized()


async def require_accepting(driver: DriverDep) -> None:
    """ShuttingDown (503) once the driver takes no new commands."""
    if not driver.accepting:
        raise ShuttingDown()


async def require_leader(driver: DriverDep) -> None:
    """NotLeader (503) on a pair's standby: only the leader talks to Jira (driver.app.pair)."""
    pair = driver.pair.status() if driver.pair is not None else None
    if pair is not None and pair.role != "leader":
        raise NotLeader(pair.leader)


async def watch_database(request: Request, driver: DriverDep) -> AsyncIterator[None]:
    """For routes that write: a write the database refuses sets driver.db_problem, one it takes clears it.

    /api/status shows it beside the engine's own, so an idle engine does not hide a locked database.
    """
    try:
        yield
    except sqlite3.OperationalError as exc:
        driver.db_problem = str(exc)
        raise
    if request.method != "GET":
        driver.db_problem = ""
