"""The dashboard: what is firing, how busy the network is, what is noisy, what is healthy."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from opsconductor.api.deps import Context, Principal, Session, authorize
from opsconductor.api.status import components
from opsconductor.auth.roles import allowed
from opsconductor.web import queries
from opsconductor.web.charts import bars, columns
from opsconductor.web.render import page

router = APIRouter(include_in_schema=False)
Reader = Annotated[Principal, Depends(authorize("alerts:read"))]

HOUR = 3600.0


@router.get("/", response_class=HTMLResponse)
async def dashboard(
    request: Request, session: Session, context: Context, caller: Reader
) -> HTMLResponse:
    """Open alerts by severity and domain, the last hour's event rate, noisy devices,
    recent findings and component health; re-rendered live as alerts and findings change."""
    counts = await queries.open_alert_counts(session)
    domains = sorted({domain for _, domain in counts})
    by_severity = {
        s: sum(n for (sev, _), n in counts.items() if sev == s) for s in queries.SEVERITIES
    }
    may_events = allowed(caller.role, "events:read")
    rate = await queries.event_rate(session, HOUR, 60) if may_events else queries.EventRate([])
    noisy = await queries.noisiest_devices(session, HOUR) if may_events else []
    recent = await queries.recent_findings(session) if allowed(caller.role, "findings:read") else []
    health = components(context, time.time()) if allowed(caller.role, "system:read") else []
    return page(
        request, "dashboard.html", caller, title="Dashboard", counts=counts, domains=domains,
        by_severity=by_severity, severities=queries.SEVERITIES, total=sum(counts.values()),
        rate_chart=columns(rate.buckets, "Events per minute, last hour", "/min"),
        events_last_hour=rate.total, rate_partial_since=rate.partial_since,
        noisy=bars([(host or device, n) for device, host, n in noisy], "Noisiest devices"),
        recent=recent, health=health,
    )  # fmt: skip
