"""Console pages: devices — the inventory list, one device's page, and its forms."""

from __future__ import annotations

import time
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from opsconductor.alerts import queries as alert_queries
from opsconductor.api.deps import Principal, Session, authorize
from opsconductor.auth.roles import allowed
from opsconductor.errors import NotFound
from opsconductor.inventory.repository import DeviceFilter, facet_counts, find_devices
from opsconductor.store.devices import DeviceRow, get_device
from opsconductor.store.events import EventFilter, list_events
from opsconductor.web import queries
from opsconductor.web.charts import sparkline
from opsconductor.web.render import page

router = APIRouter(include_in_schema=False)
Reader = Annotated[Principal, Depends(authorize("devices:read"))]
Writer = Annotated[Principal, Depends(authorize("devices:write"))]
Text = Annotated[str | None, Query(max_length=200)]

PAGE_SIZE = 50
DAY = 86400.0


@router.get("/devices", response_class=HTMLResponse)
async def devices_page(
    request: Request,
    session: Session,
    caller: Reader,
    q: Text = None,
    site: Text = None,
    group: Text = None,
    tag: Text = None,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
) -> HTMLResponse:
    """Devices by name, narrowed by text (name, address, hostname), site, group or tag."""
    chosen = {
        "q": (q or "").strip(), "site": site or "", "group": group or "", "tag": tag or "",
    }  # fmt: skip
    flt = DeviceFilter(
        text=chosen["q"] or None, site=chosen["site"] or None,
        group=chosen["group"] or None, tag=chosen["tag"] or None,
    )  # fmt: skip
    found = await find_devices(session, flt, cursor=cursor, limit=PAGE_SIZE)
    query = {k: v for k, v in chosen.items() if v}
    next_url = (
        "/devices?" + urlencode({**query, "cursor": found.next_cursor})
        if found.next_cursor
        else None
    )
    return page(
        request, "devices.html", caller, title="Devices", rows=found.items, chosen=chosen,
        next_url=next_url, first_url=("/devices?" + urlencode(query)) if cursor else None,
        sites=await facet_counts(session, "site"), groups=await facet_counts(session, "groups"),
        tags=await facet_counts(session, "tags"),
    )  # fmt: skip


@router.get("/devices/new", response_class=HTMLResponse)
async def new_device_page(request: Request, caller: Writer) -> HTMLResponse:
    """The form adding a device before it sends anything."""
    return page(request, "device_form.html", caller, title="Add a device", device=None)


async def _device(session: Session, device_id: str) -> DeviceRow:
    row = await get_device(session, device_id)
    if row is None:
        raise NotFound(f"no device {device_id!r}")
    return row


@router.get("/devices/{device_id}/edit", response_class=HTMLResponse)
async def edit_device_page(
    device_id: str, request: Request, session: Session, caller: Writer
) -> HTMLResponse:
    """The form changing a device's name, site, groups, tags and description."""
    row = await _device(session, device_id)
    return page(request, "device_form.html", caller, title=f"Edit {row.name}", device=row)


@router.get("/devices/{device_id}", response_class=HTMLResponse)
async def device_page(
    device_id: str, request: Request, session: Session, caller: Reader
) -> HTMLResponse:
    """One device: its facts, its event rate over the last day, its recent events, open
    alerts and recent findings (each shown to roles allowed to read it)."""
    row = await _device(session, device_id)
    role = caller.role
    may_events = allowed(role, "events:read")
    rate = (
        await queries.event_rate(session, DAY, 48, device_id=device_id)
        if may_events
        else queries.EventRate([])
    )
    recent = (
        (await list_events(session, EventFilter(device_id=device_id), cursor=None, limit=20)).items
        if may_events
        else []
    )
    alerts = []
    if allowed(role, "alerts:read"):
        flt = alert_queries.AlertFilter(status=("firing",), device_id=device_id)
        alerts = (await alert_queries.list_alerts(session, flt, cursor=None, limit=20)).items
    findings = []
    if allowed(role, "findings:read"):
        fflt = alert_queries.FindingFilter(device_id=device_id)
        findings = (await alert_queries.list_findings(session, fflt, cursor=None, limit=10)).items
    return page(
        request, "device.html", caller, title=row.name, d=row, rows=recent, alerts=alerts,
        findings=findings, may_events=may_events,
        spark=sparkline([b.value for b in rate.buckets], "Events per 30 min, last 24 h", 480, 60),
        day_total=rate.total, day_partial_since=rate.partial_since, generated=time.time(),
    )  # fmt: skip
