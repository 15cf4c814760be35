"""Findings and alerts API: filtered listings, single reads, and the operator's actions.

An action (acknowledge, unacknowledge, resolve, comment, assign) is applied by
``alerts.service`` in the request's transaction; after the commit its ``AlertChange`` is
published on ``alerts.<change>`` and the alert is returned with its history.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Body, Depends, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field
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
from opsconductor.bus import subjects
from opsconductor.errors import InputError
from opsconductor.ids import new_ulid
from opsconductor.messages import AlertChange, AlertChangeBatch
from opsconductor.severity import ALERT_LEVELS_WORST_FIRST
from opsconductor.store.tables import alerts as alerts_table

router = APIRouter(tags=["alerts"])

FindingsReader = Annotated[Principal, Depends(authorize("findings:read"))]
Reader = Annotated[Principal, Depends(authorize("alerts:read"))]
Writer = Annotated[Principal, Depends(authorize("alerts:write"))]
Action = Callable[[float], Awaitable[AlertChange | None]]

LEVELS = ALERT_LEVELS_WORST_FIRST
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


BULK_MAX = 500
"""Most alerts one bulk action may name."""


class BulkIn(BaseModel):
    """One action applied to many alerts: each id is answered on its own."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    ids: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        min_length=1, max_length=BULK_MAX, description="Alert ids (at most 500)."
    )
    action: Literal["acknowledge", "unacknowledge", "resolve"]
    comment: str = Field(
        "", max_length=10_000, description="Kept with a resolve; a comment entry otherwise."
    )


class BulkResult(BaseModel):
    """What became of one alert of a bulk action."""

    id: str
    ok: bool
    error: str | None = None
    detail: str = ""
    status: str | None = None
    acknowledged_by: str | None = None


class BulkOut(BaseModel):
    """Per-id results, in the order of the request (duplicates answered once)."""

    results: list[BulkResult]
    done: int
    failed: int


async def _bulk_one(
    session: AsyncSession, body: BulkIn, alert_id: str, actor: str, now: float
) -> list[AlertChange | None]:
    if body.action == "acknowledge":
        changes = [await service.acknowledge(session, alert_id, actor, now)]
    elif body.action == "unacknowledge":
        changes = [await service.unacknowledge(session, alert_id, actor, now)]
    else:
        return [await service.resolve(session, alert_id, actor, now, comment=body.comment)]
    if body.comment:
        later = now + 0.001  # a history row of its own millisecond: listed after the action
        changes.append(await service.comment(session, alert_id, actor, body.comment, later))
    return changes


async def _publish_grouped(context: AppContext, changes: list[AlertChange]) -> None:
    """Publish ``changes`` one batch per kind (at most 100 a batch), as the alert engine does."""
    kinds: dict[str, list[AlertChange]] = {}
    for change in changes:
        kinds.setdefault(change.change, []).append(change)
    for kind, group in kinds.items():
        for start in range(0, len(group), 100):
            batch = AlertChangeBatch(id=new_ulid(), changes=group[start : start + 100])
            await context.bus.publish(subjects.alerts(kind), batch, msg_id=batch.id)


@router.post("/alerts/bulk", response_model=BulkOut, summary="Act on many alerts at once")
async def bulk(body: BulkIn, session: Session, context: Context, who: Writer) -> BulkOut:
    """Acknowledge, unacknowledge or resolve up to 500 alerts in one transaction. Each id gets
    its own result (``not_found`` for an unknown one); every change is published after the
    commit, grouped by kind."""
    wanted = list(dict.fromkeys(body.ids))
    results: dict[str, BulkResult] = {}
    published: list[AlertChange] = []
    async with context.alert_lock or contextlib.nullcontext():
        known_stmt = sa.select(alerts_table.c.id).where(alerts_table.c.id.in_(wanted))
        known = set((await session.execute(known_stmt)).scalars())
        now = time.time()
        for alert_id in wanted:
            if alert_id not in known:
                results[alert_id] = BulkResult(
                    id=alert_id, ok=False, error="not_found", detail=f"no alert {alert_id!r}"
                )
                continue
            changes = [c for c in await _bulk_one(session, body, alert_id, who.name, now) if c]
            published += changes
            results[alert_id] = BulkResult(id=alert_id, ok=bool(changes))
        stmt = sa.select(
            alerts_table.c.id, alerts_table.c.status, alerts_table.c.acknowledged_by
        ).where(alerts_table.c.id.in_(known))
        for row in await session.execute(stmt):
            results[row.id].status = row.status
            results[row.id].acknowledged_by = row.acknowledged_by
        await session.commit()
    await _publish_grouped(context, published)
    answered = [results[alert_id] for alert_id in wanted]
    done = sum(result.ok for result in answered)
    return BulkOut(results=answered, done=done, failed=len(answered) - done)
