"""The console's pages, one module per area; each exposes ``router``."""

from __future__ import annotations

from fastapi import APIRouter

from opsconductor.web.pages import (
    admin,
    alerts,
    dashboard,
    devices,
    events,
    findings,
    profile,
    rules,
    silences,
)

ROUTERS: tuple[APIRouter, ...] = (
    dashboard.router,
    alerts.router,
    silences.router,
    findings.router,
    events.router,
    devices.router,
    rules.router,
    admin.router,
    profile.router,
)
