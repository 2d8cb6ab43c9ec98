"""Run-time settings: read them, change them (each change through RuntimeSettings, valid or refused whole)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from driver.api.bodies import StrictJsonRoute
from driver.api.deps import DriverDep, SettingsDep, watch_database
from driver.api.views import settings_view
from driver.contract.schemas import (
    AuthUpdate,
    JiraSettingsUpdate,
    LogSettingsBody,
    Settings,
    UpdateSettingsBody,
)

router = APIRouter(route_class=StrictJsonRoute, tags=["settings"], dependencies=[Depends(watch_database)])


@router.get("/api/settings", response_model=Settings)
async def get_settings(driver: DriverDep) -> Settings:
    """The settings in force (never the secret)."""
    return settings_view(driver)


@router.put("/api/settings/update", response_model=Settings)
async def put_update(driver: DriverDep, settings: SettingsDep, body: UpdateSettingsBody) -> Settings:
    """The update limit."""
    settings.set_update(body)
    return settings_view(driver)


@router.put("/api/settings/log", response_model=Settings)
async def put_log(driver: DriverDep, settings: SettingsDep, body: LogSettingsBody) -> Settings:
    """Log retention, applied at once."""
    settings.set_log(body)
    return settings_view(driver)


@router.put("/api/settings/jira", response_model=Settings)
async def put_jira(driver: DriverDep, settings: SettingsDep, body: JiraSettingsUpdate) -> Settings:
    """The ticket location."""
    settings.set_ticket_location(body.ticket_location)
    return settings_view(driver)


@router.put("/api/settings/auth", response_model=Settings)
async def put_auth(driver: DriverDep, settings: SettingsDep, body: AuthUpdate) -> Settings:
    """The credentials (the secret is write-only)."""
    settings.set_auth(body.mode, body.username, body.secret)
    return settings_view(driver)
