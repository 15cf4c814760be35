"""Console pages: the alert list (filters, sorts, keyset pages, bulk actions) and one alert.

The list reads one page of ``alerts`` with a keyset cursor on its sort key and the id (never an
offset, never a count of the table): newest first walks the primary key (or one of the
``(status, …, id)`` indexes), the other sorts take the top 51 rows of the filtered table. An
alert is shown as silenced when a silence or window holds it (``suppressed_by``) or when an
active silence matches it now — a new silence holds an alert from its next finding on, but
the operator who just made it wants to see it took. The detail page reads bounded slices:
the newest 200 history rows, the newest 500 findings of the fingerprint in the chart window.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

import sqlalchemy as sa
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.ext.asyncio import AsyncSession

from opsconductor.alerts.queries import (
    AlertRow,
    FindingRow,
    HistoryRow,
    finding_events,
    get_alert,
    get_finding,
)
from opsconductor.alerts.suppression import Silence, labels_of, parse_silence
from opsconductor.api.deps import Principal, Session, authorize
from opsconductor.auth.roles import allowed
from opsconductor.errors import InputError
from opsconductor.ids import ulid_floor
from opsconductor.store.pagination import (
    decode_float_cursor,
    decode_id_cursor,
    encode_cursor,
    encode_id_cursor,
    row_as,
)
from opsconductor.store.tables import alert_history, alerts, findings, silences
from opsconductor.web.charts import Bucket, columns
from opsconductor.web.queries import SEVERITIES
from opsconductor.web.render import page, when

router = APIRouter(include_in_schema=False)
Reader = Annotated[Principal, Depends(authorize("alerts:read"))]

PAGE_SIZE = 50
STATUSES = ("firing", "resolved", "all")
SORTS = {
    "newest": "Newest first",
    "last_seen": "Last seen",
    "occurrences": "Most occurrences",
    "severity": "Most severe",
}
DURATIONS = ((3600, "1 hour"), (4 * 3600, "4 hours"), (86400, "1 day"), (7 * 86400, "1 week"))
HISTORY_SHOWN = 200
CHART_FINDINGS = 500
CHART_HOURS = 24
CHART_BUCKETS = 96
EVIDENCE_SHOWN = 50
SILENCES_CHECKED = 200

_RANK = sa.case({s: i for i, s in enumerate(SEVERITIES)}, value=alerts.c.severity, else_=9)


@dataclass(frozen=True, slots=True)
class ListQuery:
    """The list's filters and sort, as read from the query string (unknown values dropped)."""

    status: str = "firing"
    severity: str = ""
    domain: str = ""
    device: str = ""
    acknowledged: str = ""
    text: str = ""
    sort: str = "newest"

    @classmethod
    def of(cls, params: Any) -> ListQuery:
        """The query of a request's ``query_params``."""

        def pick(name: str, choices: tuple[str, ...], default: str) -> str:
            value = str(params.get(name, default)).strip().lower()
            return value if value in choices else default

        def text(name: str) -> str:
            return str(params.get(name, "")).strip()[:200]

        return cls(
            status=pick("status", STATUSES, "firing"),
            severity=pick("severity", ("", *SEVERITIES), ""),
            domain=text("domain"),
            device=text("device"),
            acknowledged=pick("acknowledged", ("", "yes", "no"), ""),
            text=text("q"),
            sort=pick("sort", tuple(SORTS), "newest"),
        )

    def params(self, **changes: str) -> dict[str, str]:
        """The non-default parameters of this query with ``changes`` applied."""
        values = {
            "status": self.status, "severity": self.severity, "domain": self.domain,
            "device": self.device, "acknowledged": self.acknowledged, "q": self.text,
            "sort": self.sort, **changes,
        }  # fmt: skip
        defaults = {"status": "firing", "sort": "newest"}
        return {k: v for k, v in values.items() if v and defaults.get(k) != v}

    def url(self, **changes: str) -> str:
        """``/alerts`` with this query (and ``changes``)."""
        query = urlencode(self.params(**changes))
        return "/alerts" + (f"?{query}" if query else "")

    def conditions(self) -> list[sa.ColumnElement[bool]]:
        """The WHERE conditions of this query."""
        c = alerts.c
        found: list[sa.ColumnElement[bool]] = []
        if self.status != "all":
            found.append(c.status == self.status)
        if self.severity:
            found.append(c.severity == self.severity)
        if self.domain:
            found.append(c.domain == self.domain)
        if self.device:
            found.append(sa.or_(c.device_id == self.device, c.host == self.device))
        if self.acknowledged:
            present = c.acknowledged_at.is_not(None)
            found.append(present if self.acknowledged == "yes" else sa.not_(present))
        if self.text:
            found.append(c.title.icontains(self.text, autoescape=True))
        return found

    @property
    def filtered(self) -> bool:
        """Whether anything narrows the list beyond the default."""
        return bool(self.params(sort="newest"))


def _sort_key(sort: str) -> sa.ColumnElement[Any] | None:
    return {
        "last_seen": alerts.c.last_seen,
        "occurrences": alerts.c.occurrences,
        "severity": _RANK,
    }.get(sort)


async def list_page(
    session: AsyncSession, query: ListQuery, cursor: str | None, limit: int = PAGE_SIZE
) -> tuple[list[AlertRow], str | None]:
    """One page of alerts in ``query``'s order and the cursor of the next (``InputError`` for a
    cursor that is not one of this sort)."""
    stmt = sa.select(alerts).where(*query.conditions()).limit(limit + 1)
    key = _sort_key(query.sort)
    if key is None:
        stmt = stmt.order_by(alerts.c.id.desc())
        if cursor:
            stmt = stmt.where(alerts.c.id < decode_id_cursor(cursor))
    else:
        ascending = query.sort == "severity"
        stmt = stmt.order_by(key.asc() if ascending else key.desc(), alerts.c.id.desc())
        if cursor:
            value, last_id = decode_float_cursor(cursor)
            beyond = key > value if ascending else key < value
            stmt = stmt.where(sa.or_(beyond, sa.and_(key == value, alerts.c.id < last_id)))
    rows = [row_as(AlertRow, row) for row in await session.execute(stmt)]
    if len(rows) <= limit:
        return rows, None
    del rows[limit:]
    last = rows[-1]
    if key is None:
        return rows, encode_id_cursor(last.id)
    value = {
        "last_seen": last.last_seen,
        "occurrences": float(last.occurrences),
        "severity": float(SEVERITIES.index(last.severity) if last.severity in SEVERITIES else 9),
    }[query.sort]
    return rows, encode_cursor((value, last.id))


async def active_silences(session: AsyncSession, now: float) -> list[Silence]:
    """Silences in force at ``now`` (the newest ``SILENCES_CHECKED``), ready to match."""
    c = silences.c
    stmt = (
        sa.select(silences)
        .where(c.ends_at > now, c.starts_at <= now)
        .order_by(c.id.desc())
        .limit(SILENCES_CHECKED)
    )
    found = []
    for row in await session.execute(stmt):
        try:
            found.append(parse_silence(dict(row._mapping)))
        except InputError:
            continue  # stored before a validation rule tightened: the engine skips it too
    return found


def row_labels(row: AlertRow) -> dict[str, str]:
    """The labels silences see for an alert row."""
    return labels_of(
        row.labels, row.device_id, row.host, row.rule_id, row.agent, row.domain, row.severity
    )


def held_by(row: AlertRow, held: list[Silence], now: float) -> str:
    """What holds the alert: its ``suppressed_by`` or an active silence that matches it now."""
    if row.suppressed_by:
        return row.suppressed_by
    labels = row_labels(row)
    for silence in held:
        if silence.active(now) and silence.matches(labels):
            return f"silence:{silence.id}"
    return ""


@router.get("/alerts", response_class=HTMLResponse)
async def alert_list(request: Request, session: Session, caller: Reader) -> HTMLResponse:
    """Alerts with filters, a sort and keyset pages; re-rendered live as alerts change."""
    query = ListQuery.of(request.query_params)
    cursor = request.query_params.get("cursor") or None
    rows, next_cursor = await list_page(session, query, cursor)
    now = time.time()
    held = await active_silences(session, now) if rows else []
    return page(
        request, "alerts.html", caller, title="Alerts", rows=rows, query=query,
        holders={row.id: held_by(row, held, now) for row in rows},
        next_url=query.url(cursor=next_cursor) if next_cursor else None,
        first_url=query.url() if cursor else None, statuses=STATUSES,
        severities=SEVERITIES, sorts=SORTS, durations=DURATIONS,
        matchers={row.id: exact_matchers(row) for row in rows},
    )  # fmt: skip


async def recent_history(session: AsyncSession, alert_id: str) -> list[HistoryRow]:
    """The newest ``HISTORY_SHOWN`` changes of the alert, oldest first."""
    c = alert_history.c
    stmt = (
        sa.select(alert_history)
        .where(c.alert_id == alert_id)
        .order_by(c.id.desc())
        .limit(HISTORY_SHOWN)
    )
    rows = [row_as(HistoryRow, row) for row in await session.execute(stmt)]
    return rows[::-1]


async def comments_of(session: AsyncSession, alert_id: str) -> list[HistoryRow]:
    """The alert's comments, newest first (at most 100)."""
    c = alert_history.c
    stmt = (
        sa.select(alert_history)
        .where(c.alert_id == alert_id, c.change == "commented")
        .order_by(c.id.desc())
        .limit(100)
    )
    return [row_as(HistoryRow, row) for row in await session.execute(stmt)]


async def occurrence_buckets(
    session: AsyncSession, alert: AlertRow, now: float
) -> tuple[list[Bucket], float]:
    """Findings of the alert's fingerprint per quarter hour over the ``CHART_HOURS`` hours up to
    its last sighting (or now), from its newest ``CHART_FINDINGS`` findings; and the window end."""
    end = min(now, alert.last_seen + 60) if alert.last_seen < now - CHART_HOURS * 3600 else now
    size = CHART_HOURS * 3600 // CHART_BUCKETS
    first = int((end - CHART_BUCKETS * size) // size) + 1
    c = findings.c
    stmt = (
        sa.select(c.detected_at)
        .where(c.fingerprint == alert.fingerprint, c.id >= ulid_floor(first * size))
        .order_by(c.id.desc())
        .limit(CHART_FINDINGS)
    )
    counts: dict[int, int] = {}
    for (detected_at,) in await session.execute(stmt):
        slot = int(detected_at // size)
        counts[slot] = counts.get(slot, 0) + 1
    buckets = [
        Bucket(when((first + i) * size)[5:16], float(counts.get(first + i, 0)))
        for i in range(CHART_BUCKETS)
    ]
    return buckets, end


@router.get("/alerts/{alert_id}", response_class=HTMLResponse)
async def alert_detail(
    request: Request, alert_id: str, session: Session, caller: Reader
) -> HTMLResponse:
    """One alert: its facts, the operator's actions, history, occurrences — and its latest
    finding and evidence lines when the caller's role may read findings and events."""
    alert = await get_alert(session, alert_id)
    if alert is None:
        raise HTTPException(404, f"no alert {alert_id!r}")
    now = time.time()
    may_findings = allowed(caller.role, "findings:read")
    may_events = allowed(caller.role, "events:read")
    latest: FindingRow | None = None
    if alert.last_finding_id and may_findings:
        latest = await get_finding(session, alert.last_finding_id)
    evidence = (
        (await finding_events(session, latest))[:EVIDENCE_SHOWN] if latest and may_events else []
    )
    buckets, chart_end = await occurrence_buckets(session, alert, now)
    held = held_by(alert, await active_silences(session, now), now)
    return page(
        request, "alert.html", caller, title=alert.title, alert=alert,
        history=await recent_history(session, alert_id), held=held,
        comments=await comments_of(session, alert_id), latest=latest, evidence=evidence,
        may_findings=may_findings, may_events=may_events,
        chart=columns(buckets, f"Findings per 15 min, {CHART_HOURS} h up to {when(chart_end)} UTC"),
        chart_total=int(sum(b.value for b in buckets)), chart_hours=CHART_HOURS,
        durations=DURATIONS, silence_matchers=exact_matchers(alert),
    )  # fmt: skip


def exact_matchers(alert: AlertRow) -> list[dict[str, str]]:
    """Matchers that select this alert's problem: its rule, device and labels."""
    found = {"rule_id": alert.rule_id, "device_id": alert.device_id, **alert.labels}
    return [{"label": k, "op": "=", "value": v} for k, v in found.items() if v]
