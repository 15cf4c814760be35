"""Console pages: silences and maintenance windows, with forms that post to the JSON API.

Active and pending silences are listed in full (up to 200), expired ones newest first (50);
maintenance windows show whether they are open now and, within two weeks, when they next
change — one schedule evaluation per window.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from opsconductor.alerts import crud
from opsconductor.alerts.schedule import DAY_NAMES
from opsconductor.alerts.suppression import parse_window
from opsconductor.api.deps import Principal, Session, authorize
from opsconductor.errors import InputError
from opsconductor.web.pages.alerts import DURATIONS
from opsconductor.web.render import page

router = APIRouter(include_in_schema=False)
Reader = Annotated[Principal, Depends(authorize("silences:read"))]

OPS = ("=", "!=", "=~", "!~")
LABELS = ("device_id", "host", "rule_id", "agent", "domain", "severity")


@dataclass(frozen=True, slots=True)
class WindowView:
    """A maintenance window as the page shows it."""

    row: crud.WindowRow
    open_now: bool
    next_change: float | None
    valid: bool


def window_view(row: crud.WindowRow, now: float) -> WindowView:
    """Whether the window is open at ``now`` and when it next opens or closes."""
    try:
        window = parse_window(dataclasses.asdict(row))
    except InputError:
        return WindowView(row, False, None, False)
    change = window.schedule.next_change_after(now) if row.enabled else None
    return WindowView(row, window.open_at(now), change, True)


@router.get("/silences", response_class=HTMLResponse)
async def silences_page(request: Request, session: Session, caller: Reader) -> HTMLResponse:
    """Silences (active, pending, recently expired) and maintenance windows."""
    now = time.time()
    active = await crud.list_silences(session, now=now, state="active", cursor=None, limit=200)
    pending = await crud.list_silences(session, now=now, state="pending", cursor=None, limit=200)
    expired = await crud.list_silences(session, now=now, state="expired", cursor=None, limit=50)
    windows = await crud.list_windows(session, cursor=None, limit=200)
    return page(
        request, "silences.html", caller, title="Silences", current=active.items + pending.items,
        expired=expired.items, windows=[window_view(row, now) for row in windows.items],
        durations=DURATIONS, ops=OPS, labels=LABELS, days=DAY_NAMES,
    )  # fmt: skip
