"""Findings and alerts API: filtered listings, single reads, and the operator's actions.

An action (acknowledge, unacknowledge, resolve, comment, assign) is applied by
``alerts.service`` in the request's transaction; after the commit its ``AlertChange`` is
published on ``alerts.<change>`` and the alert is returned with its history.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Body, Depends, HTTPException, Query
from sqlalchemy.ext.asyncio import AsyncSession

from opsconductor.alerts import queries, service
from opsconductor.api.context import AppContext
from opsconductor.api.deps import Context, Principal, Session, authorize
from opsconductor.api.events import Cursor, Limit, event_out, parse_moment
from opsconductor.api.publish import publish_alert_change
from opsconductor.api.schemas_alerts import (
    AlertDetail,
    AlertOut,
    AlertPage,
    AssignIn,
    CommentIn,
    FindingDetail,
    FindingOut,
    FindingPage,
    HistoryOut,
    ResolveIn,
)
from opsconductor.errors import InputError
from opsconductor.messages import AlertChange

router = APIRouter(tags=["alerts"])

FindingsReader = Annotated[Principal, Depends(authorize("findings:read"))]
Reader = Annotated[Principal, Depends(authorize("alerts:read"))]
Writer = Annotated[Principal, Depends(authorize("alerts:write"))]
Action = Callable[[float], Awaitable[AlertChange | None]]

LEVELS = ("critical", "major", "minor", "warning", "info")
STATUSES = ("firing", "resolved")
FINDING_KINDS = ("problem", "clear")

Text = Annotated[str | None, Query()]
Since = Annotated[str | None, Query(description="ISO 8601 or epoch seconds.")]
Flag = Annotated[bool | None, Query()]


def _choices(value: str | None, allowed: tuple[str, ...], name: str) -> tuple[str, ...] | None:
    """A comma-separated list of ``allowed`` values; ``InputError`` names anything else."""
    if not value:
        return None
    chosen = tuple(part.strip().lower() for part in value.split(",") if part.strip())
    unknown = [part for part in chosen if part not in allowed]
    if unknown:
        raise InputError(f"{name}: unknown {', '.join(unknown)}; use {', '.join(allowed)}")
    return chosen or None


@router.get("/findings", response_model=FindingPage, summary="List findings, newest first")
async def list_findings(
    session: Session,
    _: FindingsReader,
    device: Text = None,
    rule: Text = None,
    agent: Text = None,
    domain: Text = None,
    kind: Annotated[str | None, Query(description="problem or clear")] = None,
    severity: Annotated[str | None, Query(description="Levels, comma-separated.")] = None,
    alert: Annotated[str | None, Query(description="Findings of this alert.")] = None,
    since: Since = None,
    until: Since = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> FindingPage:
    """Findings matching every given filter; ``since``/``until`` bound when the finding's last
    evidence event was received (for a live pipeline: its detection time, within the delay)."""
    kinds = _choices(kind, FINDING_KINDS, "kind")
    flt = queries.FindingFilter(
        device_id=device,
        rule_id=rule,
        agent=agent,
        domain=domain,
        kind=kinds[0] if kinds and len(kinds) == 1 else None,
        severity=_choices(severity, LEVELS, "severity"),
        alert_id=alert,
        since=parse_moment(since, "since"),
        until=parse_moment(until, "until"),
    )
    page = await queries.list_findings(session, flt, cursor=cursor, limit=limit)
    return FindingPage(items=[FindingOut.of(r) for r in page.items], next_cursor=page.next_cursor)


@router.get("/findings/{finding_id}", response_model=FindingDetail, summary="Read a finding")
async def get_finding(finding_id: str, session: Session, _: FindingsReader) -> FindingDetail:
    """The finding and its evidence events (those retention has not deleted yet)."""
    row = await queries.get_finding(session, finding_id)
    if row is None:
        raise HTTPException(404, f"no finding {finding_id!r}")
    evidence = await queries.finding_events(session, row)
    return FindingDetail(
        **FindingOut.of(row).model_dump(), events=[event_out(event) for event in evidence]
    )


@router.get("/alerts", response_model=AlertPage, summary="List alerts, newest first")
async def list_alerts(
    session: Session,
    _: Reader,
    status: Annotated[str | None, Query(description="firing, resolved (comma-separated).")] = None,
    severity: Annotated[str | None, Query(description="Levels, comma-separated.")] = None,
    device: Text = None,
    rule: Text = None,
    agent: Text = None,
    domain: Text = None,
    acknowledged: Flag = None,
    suppressed: Flag = None,
    flapping: Flag = None,
    assignee: Text = None,
    since: Annotated[str | None, Query(description="Last seen at or after this.")] = None,
    until: Annotated[str | None, Query(description="First seen before this.")] = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> AlertPage:
    """Alerts matching every given filter; ``since``/``until`` keep those active in between."""
    flt = queries.AlertFilter(
        status=_choices(status, STATUSES, "status"),
        severity=_choices(severity, LEVELS, "severity"),
        device_id=device,
        rule_id=rule,
        agent=agent,
        domain=domain,
        acknowledged=acknowledged,
        suppressed=suppressed,
        flapping=flapping,
        assignee=assignee,
        since=parse_moment(since, "since"),
        until=parse_moment(until, "until"),
    )
    page = await queries.list_alerts(session, flt, cursor=cursor, limit=limit)
    return AlertPage(items=[AlertOut.of(r) for r in page.items], next_cursor=page.next_cursor)


async def _detail(session: AsyncSession, alert_id: str) -> AlertDetail:
    row = await queries.get_alert(session, alert_id)
    if row is None:
        raise HTTPException(404, f"no alert {alert_id!r}")
    history = await queries.alert_history_of(session, alert_id)
    return AlertDetail(
        **AlertOut.of(row).model_dump(), history=[HistoryOut.of(entry) for entry in history]
    )


@router.get("/alerts/{alert_id}", response_model=AlertDetail, summary="Read an alert")
async def get_alert(alert_id: str, session: Session, _: Reader) -> AlertDetail:
    """The alert and every change it went through, oldest first."""
    return await _detail(session, alert_id)


async def _act(
    session: AsyncSession, context: AppContext, alert_id: str, action: Action
) -> AlertDetail:
    """Apply ``action`` to a known alert, commit, publish its change, answer the alert."""
    async with context.alert_lock or contextlib.nullcontext():
        if await queries.get_alert(session, alert_id) is None:
            raise HTTPException(404, f"no alert {alert_id!r}")
        change = await action(time.time())
        if change is None:
            raise HTTPException(404, f"no alert {alert_id!r}")
        detail = await _detail(session, alert_id)
        await session.commit()
    await publish_alert_change(context, change)
    return detail


@router.post("/alerts/{alert_id}/acknowledge", response_model=AlertDetail)
async def acknowledge(
    alert_id: str, session: Session, context: Context, who: Writer
) -> AlertDetail:
    """Mark the alert as seen and being handled by the caller."""
    return await _act(
        session,
        context,
        alert_id,
        lambda now: service.acknowledge(session, alert_id, who.name, now),
    )


@router.post("/alerts/{alert_id}/unacknowledge", response_model=AlertDetail)
async def unacknowledge(
    alert_id: str, session: Session, context: Context, who: Writer
) -> AlertDetail:
    """Take the acknowledgement back."""
    return await _act(
        session,
        context,
        alert_id,
        lambda now: service.unacknowledge(session, alert_id, who.name, now),
    )


@router.post("/alerts/{alert_id}/resolve", response_model=AlertDetail)
async def resolve(
    alert_id: str,
    session: Session,
    context: Context,
    who: Writer,
    body: Annotated[ResolveIn | None, Body()] = None,
) -> AlertDetail:
    """Resolve the alert by hand (optionally with a comment); its next problem reopens it."""
    text = body.comment if body else ""
    return await _act(
        session,
        context,
        alert_id,
        lambda now: service.resolve(session, alert_id, who.name, now, comment=text),
    )


@router.post("/alerts/{alert_id}/comments", response_model=AlertDetail)
async def add_comment(
    alert_id: str, body: CommentIn, session: Session, context: Context, who: Writer
) -> AlertDetail:
    """Add a comment to the alert's history."""
    return await _act(
        session,
        context,
        alert_id,
        lambda now: service.comment(session, alert_id, who.name, body.text, now),
    )


@router.post("/alerts/{alert_id}/assign", response_model=AlertDetail)
async def assign(
    alert_id: str, body: AssignIn, session: Session, context: Context, who: Writer
) -> AlertDetail:
    """Give the alert to someone (an empty assignee unassigns it)."""
    return await _act(
        session,
        context,
        alert_id,
        lambda now: service.assign(session, alert_id, who.name, body.assignee, now),
    )
