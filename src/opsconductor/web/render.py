"""Rendering console pages: the Jinja2 environment, the navigation a role sees, and filters.

Every page is rendered on the server with autoescaping on; the base template carries the
caller's CSRF token (``<meta name="csrf-token">``) for the page script's changes through the
JSON API. A navigation entry (and so a page) is shown only to roles holding its permission.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from opsconductor import __version__
from opsconductor.api.security import Principal
from opsconductor.auth.roles import allowed

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"


@dataclass(frozen=True, slots=True)
class NavEntry:
    """One link of the console's navigation and the permission that shows it."""

    path: str
    label: str
    permission: str
    section: str = "main"


NAVIGATION: tuple[NavEntry, ...] = (
    NavEntry("/", "Dashboard", "alerts:read"),
    NavEntry("/alerts", "Alerts", "alerts:read"),
    NavEntry("/findings", "Findings", "findings:read"),
    NavEntry("/events", "Events", "events:read"),
    NavEntry("/devices", "Devices", "devices:read"),
    NavEntry("/rules", "Agents & rules", "rules:read"),
    NavEntry("/silences", "Silences", "silences:read"),
    NavEntry("/admin/users", "Users", "users:read", "admin"),
    NavEntry("/admin/keys", "API keys", "keys:read", "admin"),
    NavEntry("/admin/audit", "Audit log", "audit:read", "admin"),
    NavEntry("/admin/system", "System", "system:read", "admin"),
)


def _moment(value: float) -> datetime | None:
    """``value`` as a UTC datetime; ``None`` for a time no calendar holds (a device can state
    year 9999, or a NaN)."""
    try:
        return datetime.fromtimestamp(value, UTC)
    except (ValueError, OverflowError, OSError):
        return None


def when(value: float | None) -> str:
    """An epoch time as ``YYYY-MM-DD HH:MM:SS`` UTC ('' for none, the number if no date)."""
    if value is None:
        return ""
    moment = _moment(value)
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else f"{value!r} (not a date)"


def iso(value: float | None) -> str:
    """An epoch time as ISO 8601 UTC (for ``<time datetime>``; '' when it is no date)."""
    if value is None:
        return ""
    moment = _moment(value)
    return moment.isoformat(timespec="seconds") if moment else ""


def ago(value: float | None, now: float | None = None) -> str:
    """How long ago an epoch time was, in words a person reads at a glance."""
    if value is None:
        return "never"
    seconds = (now if now is not None else time.time()) - value
    if math.isnan(seconds) or abs(seconds) > 1e12:  # beyond any calendar
        return when(value)
    if seconds < 0:
        return "in " + _span(-seconds)
    return "just now" if seconds < 5 else _span(seconds) + " ago"


def _span(seconds: float) -> str:
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            return f"{int(seconds // size)} {unit}"
    return f"{int(seconds)} s"


def number(value: int | float | None) -> str:
    """A count with thousands separators."""
    return "" if value is None else f"{value:,}"


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(("html", "svg")),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(when=when, iso=iso, ago=ago, number=number)
    env.globals.update(version=__version__, allowed=allowed)
    return env


ENV = _environment()


def page(
    request: Request, template: str, caller: Principal | None, status: int = 200, **values: Any
) -> HTMLResponse:
    """Render ``template`` for ``caller`` with the navigation their role may see."""
    role = caller.role if caller is not None else ""
    navigation = [entry for entry in NAVIGATION if caller and allowed(role, entry.permission)]
    values.setdefault("title", "OpsConductor")
    html = ENV.get_template(template).render(
        request=request,
        path=request.url.path,
        caller=caller,
        can=lambda permission: bool(caller) and allowed(role, permission),
        navigation=navigation,
        csrf=getattr(request.state, "csrf", ""),
        now=time.time(),
        **values,
    )
    return HTMLResponse(html, status_code=status, headers={"cache-control": "no-store"})
