"""Read models of findings and alerts: filtered listings (newest first by id) and single reads.

A finding's evidence is a list of event ids; ``finding_events`` joins them from ``events`` in
the evidence's order (events the retention job already deleted are simply absent). An
alert's ``history`` is every change kept in ``alert_history``, oldest first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from opsconductor.ids import ulid_floor
from opsconductor.messages import Event
from opsconductor.store.pagination import Page, newest_first, row_as
from opsconductor.store.tables import alert_history, alerts, events, findings

_EVIDENCE_CHUNK = 500


@dataclass(frozen=True, slots=True)
class FindingRow:
    """A stored finding (the ``Finding`` message plus the alert it landed on)."""

    id: str
    rule_id: str
    agent: str
    domain: str
    kind: str
    device_id: str
    host: str
    severity: str
    title: str
    summary: str
    fingerprint: str
    labels: dict[str, str]
    evidence: list[str]
    count: int
    window_seconds: float
    observed_at: float
    detected_at: float
    alert_id: str | None


@dataclass(frozen=True, slots=True)
class AlertRow:
    """A stored alert: one problem (fingerprint), its state and the operator's marks."""

    id: str
    fingerprint: str
    rule_id: str
    agent: str
    domain: str
    device_id: str
    host: str
    title: str
    summary: str
    labels: dict[str, str]
    status: str
    severity: str
    base_severity: str
    flapping: bool
    suppressed_by: str
    occurrences: int
    first_seen: float
    last_seen: float
    resolved_at: float | None
    transitions: list[float]
    last_notified_at: float | None
    acknowledged_by: str | None
    acknowledged_at: float | None
    assignee: str | None
    last_finding_id: str
    updated_at: float


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """One change of an alert: a decision of the engine or an operator's action."""

    id: str
    alert_id: str
    at: float
    change: str
    status: str
    severity: str
    actor: str
    detail: str
    finding_id: str | None


@dataclass(frozen=True, slots=True)
class FindingFilter:
    """Conditions of a finding listing; ``None`` means "any".

    ``since``/``until`` bound the time the finding's last evidence event was received (the
    time its id carries: a range of the id, no index of its own) — for a live pipeline that
    is the detection time within the pipeline's delay; ``severity`` admits any of the given
    levels.
    """

    device_id: str | None = None
    rule_id: str | None = None
    agent: str | None = None
    domain: str | None = None
    kind: str | None = None
    severity: tuple[str, ...] | None = None
    alert_id: str | None = None
    since: float | None = None
    until: float | None = None


@dataclass(frozen=True, slots=True)
class AlertFilter:
    """Conditions of an alert listing; ``None`` means "any".

    ``since``/``until`` keep alerts active at some moment of ``[since, until)``: last seen at
    or after ``since`` and first seen before ``until``. ``acknowledged``/``suppressed`` test
    whether the alert has an acknowledgement or a silence/maintenance window holding it.
    """

    status: tuple[str, ...] | None = None
    severity: tuple[str, ...] | None = None
    device_id: str | None = None
    rule_id: str | None = None
    agent: str | None = None
    domain: str | None = None
    acknowledged: bool | None = None
    suppressed: bool | None = None
    flapping: bool | None = None
    assignee: str | None = None
    since: float | None = None
    until: float | None = None


def _equal(pairs: Sequence[tuple[sa.ColumnElement[Any], Any]]) -> list[sa.ColumnElement[bool]]:
    return [column == value for column, value in pairs if value is not None]


def _finding_conditions(flt: FindingFilter) -> list[sa.ColumnElement[bool]]:
    c = findings.c
    found = _equal(
        [
            (c.device_id, flt.device_id),
            (c.rule_id, flt.rule_id),
            (c.agent, flt.agent),
            (c.domain, flt.domain),
            (c.kind, flt.kind),
            (c.alert_id, flt.alert_id),
        ]
    )
    if flt.severity:
        found.append(c.severity.in_(flt.severity))
    if flt.since is not None:
        found.append(c.id >= ulid_floor(flt.since))
    if flt.until is not None:
        found.append(c.id < ulid_floor(flt.until))
    return found


def _flag(present: sa.ColumnElement[bool], wanted: bool | None) -> list[sa.ColumnElement[bool]]:
    if wanted is None:
        return []
    return [present if wanted else sa.not_(present)]


def _alert_conditions(flt: AlertFilter) -> list[sa.ColumnElement[bool]]:
    c = alerts.c
    found = _equal(
        [
            (c.device_id, flt.device_id),
            (c.rule_id, flt.rule_id),
            (c.agent, flt.agent),
            (c.domain, flt.domain),
            (c.flapping, flt.flapping),
            (c.assignee, flt.assignee),
        ]
    )
    if flt.status:
        found.append(c.status.in_(flt.status))
    if flt.severity:
        found.append(c.severity.in_(flt.severity))
    found += _flag(c.acknowledged_at.is_not(None), flt.acknowledged)
    found += _flag(c.suppressed_by != "", flt.suppressed)
    if flt.since is not None:
        found.append(c.last_seen >= flt.since)
    if flt.until is not None:
        found.append(c.first_seen < flt.until)
    return found


async def list_findings(
    session: AsyncSession, flt: FindingFilter, *, cursor: str | None, limit: int
) -> Page[FindingRow]:
    """Findings matching ``flt``, newest first (bad cursor or limit: ``InputError``)."""
    return await newest_first(
        session, findings, FindingRow, _finding_conditions(flt), cursor, limit
    )


async def get_finding(session: AsyncSession, finding_id: str) -> FindingRow | None:
    """The finding with ``finding_id``, or ``None``."""
    row = (await session.execute(sa.select(findings).where(findings.c.id == finding_id))).first()
    return None if row is None else row_as(FindingRow, row)


async def finding_events(session: AsyncSession, finding: FindingRow) -> list[Event]:
    """The evidence events of ``finding`` still stored, in the order of its evidence."""
    wanted = list(dict.fromkeys(finding.evidence))
    found: dict[str, Event] = {}
    for start in range(0, len(wanted), _EVIDENCE_CHUNK):
        chunk = wanted[start : start + _EVIDENCE_CHUNK]
        result = await session.execute(sa.select(events).where(events.c.id.in_(chunk)))
        found.update((row[0], Event(*row)) for row in result)
    return [found[event_id] for event_id in wanted if event_id in found]


async def list_alerts(
    session: AsyncSession, flt: AlertFilter, *, cursor: str | None, limit: int
) -> Page[AlertRow]:
    """Alerts matching ``flt``, newest first (bad cursor or limit: ``InputError``)."""
    return await newest_first(session, alerts, AlertRow, _alert_conditions(flt), cursor, limit)


async def get_alert(session: AsyncSession, alert_id: str) -> AlertRow | None:
    """The alert with ``alert_id``, or ``None``."""
    row = (await session.execute(sa.select(alerts).where(alerts.c.id == alert_id))).first()
    return None if row is None else row_as(AlertRow, row)


async def alert_history_of(session: AsyncSession, alert_id: str) -> list[HistoryRow]:
    """Every change of the alert, oldest first."""
    stmt = (
        sa.select(alert_history)
        .where(alert_history.c.alert_id == alert_id)
        .order_by(alert_history.c.id)
    )
    return [row_as(HistoryRow, row) for row in await session.execute(stmt)]
