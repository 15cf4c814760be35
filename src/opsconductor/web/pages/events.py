"""Console pages: the log viewer — filters, a bounded search, keyset pages and a live tail.

``events`` grows to 10,000,000 rows with two indexes: the primary key (a ULID minted on
receipt, so time ordered) and ``(device_id, id)``. A filter on anything else (a substring of
the message, a rare program) narrows a newest-first scan, which could walk the whole table
when matches are rare. So every request here is bounded twice:

* a **time window** below the upper bound (last 1 h / 24 h / 7 d / all, 24 h by default),
  turned into an id range with ``ulid_floor``;
* a **row budget**: at most ``SCAN_BUDGET`` rows of that range (newest first; of the device,
  when one is chosen, through its index) are examined per request.

When the budget runs out before a page is full, the page says how far back it searched and
offers "search older" with a cursor holding the id the scan stopped at; when the window is
exhausted it offers to continue beyond it. Nothing ever counts the table.

The live tail (``GET /events/tail``) answers the rows after the newest one shown, with the
same filters, read oldest first so none is skipped: at most ``TAIL_LIMIT`` a request, with
``more`` when that many were found (the page script asks again at once until it has caught
up), plus the matches of the last ``TAIL_OVERLAP`` seconds for batches committed late.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.util import ClauseAdapter

from opsconductor.api.deps import Principal, Session, authorize
from opsconductor.errors import InputError
from opsconductor.ids import ulid_floor, ulid_moment
from opsconductor.messages import Event
from opsconductor.severity import SEVERITIES, severity_code
from opsconductor.store.devices import get_device
from opsconductor.store.events import EventFilter, event_conditions
from opsconductor.store.pagination import decode_text_cursor, encode_cursor
from opsconductor.store.tables import events
from opsconductor.web.render import ENV, page

router = APIRouter(include_in_schema=False)
Reader = Annotated[Principal, Depends(authorize("events:read"))]

PAGE_SIZE = 100
SCAN_BUDGET = 20_000
"""Most rows of ``events`` one request examines."""
TAIL_LIMIT = 200
TAIL_OVERLAP = 5.0
"""Seconds the tail looks back below the newest row shown: ids are minted on receipt but
committed in batches, so a row slightly older than the newest shown may land a moment later
(the page skips the ids it already shows)."""
WINDOWS: dict[str, tuple[str, float | None]] = {
    "1h": ("last hour", 3600.0),
    "24h": ("last 24 hours", 86400.0),
    "7d": ("last 7 days", 7 * 86400.0),
    "all": ("all time", None),
}
DEFAULT_WINDOW = "24h"
_ULID = re.compile(r"[0-7][0-9A-HJKMNP-TV-Z]{25}")
"""A ULID: 26 characters of Crockford base32 holding 128 bits (so the first is at most 7)."""
_LAST_MOMENT = 253402300799.0
"""9999-12-31 23:59:59 UTC, the last moment a date can show."""

Text = Annotated[str | None, Query(max_length=200)]


@dataclass(frozen=True, slots=True)
class Filters:
    """The viewer's filters as given in the query string ('' for "any")."""

    device: str = ""
    severity: str = ""
    program: str = ""
    domain: str = ""
    source: str = ""
    q: str = ""
    window: str = DEFAULT_WINDOW

    def conditions(self) -> list[sa.ColumnElement[bool]]:
        """The conditions on a scanned row, besides the device (the scan's own range)."""
        return event_conditions(
            EventFilter(
                severity_max=severity_code(self.severity) if self.severity else None,
                program=self.program or None, domain=self.domain or None,
                source=self.source or None, text=self.q or None,
            )
        )  # fmt: skip

    def query(self, **extra: str) -> str:
        """The query string of these filters (empty ones left out) and ``extra``."""
        values = {
            "device": self.device, "severity": self.severity, "program": self.program,
            "domain": self.domain, "source": self.source, "q": self.q,
            "window": "" if self.window == DEFAULT_WINDOW else self.window, **extra,
        }  # fmt: skip
        return urlencode({k: v for k, v in values.items() if v})


@dataclass(frozen=True, slots=True)
class Scan:
    """One bounded search: the rows found and how far it looked."""

    rows: list[Event]
    low: str
    """The lowest id examined ('' when nothing was)."""
    exhausted: bool
    """Whether the whole range was examined (the budget did not run out)."""
    more: bool
    """Whether more matches than a page were found."""


def _check_id(value: str, what: str = "cursor") -> str:
    """``value`` if it is '' or an event id of a date, else ``InputError`` naming ``what``."""
    if value and not (_ULID.fullmatch(value) and ulid_moment(value) <= _LAST_MOMENT):
        raise InputError(f"invalid {what}: not a position in the log")
    return value


def _range(
    flt: Filters, low: str, high: str, *, ascending: bool = False
) -> sa.Select[tuple[Any, ...]]:
    c = events.c
    stmt = sa.select(events)
    if flt.device:
        stmt = stmt.where(c.device_id == flt.device)
    if low:
        stmt = stmt.where(c.id >= low)
    if high:
        stmt = stmt.where(c.id < high)
    return stmt.order_by(c.id.asc() if ascending else c.id.desc())


async def scan(session: AsyncSession, flt: Filters, low: str, high: str, limit: int) -> Scan:
    """Matches of ``flt`` among at most ``SCAN_BUDGET`` rows of ``[low, high)``, newest first.

    Without conditions beyond the device the range is read directly (a page costs a page);
    otherwise the budgeted slice is a subquery the conditions filter, and a second pass over
    its ids finds where it stopped when the page is not full.
    """
    conditions = flt.conditions()
    if not conditions:
        direct = _range(flt, low, high).limit(limit + 1)
        rows = [Event(*row) for row in await session.execute(direct)]
        more = len(rows) > limit
        return Scan(rows[:limit], rows[-1].id if rows else "", not more, more)
    budget = _range(flt, low, high).limit(SCAN_BUDGET).subquery("scanned")
    newest = budget.c.id.desc()
    found = sa.select(budget).where(*_on(budget, conditions)).order_by(newest).limit(limit + 1)
    rows = [Event(*row) for row in await session.execute(found)]
    if len(rows) > limit:
        return Scan(rows[:limit], rows[limit - 1].id, False, True)
    ids = _range(flt, low, high).with_only_columns(events.c.id).limit(SCAN_BUDGET).subquery()
    examined, lowest = (
        await session.execute(sa.select(sa.func.count(), sa.func.min(ids.c.id)))
    ).one()
    return Scan(rows, lowest or "", int(examined) < SCAN_BUDGET, False)


def _on(sub: sa.Subquery, conditions: list[sa.ColumnElement[bool]]) -> list[Any]:
    """``conditions`` written on ``events`` re-targeted to the subquery's columns."""
    adapter = ClauseAdapter(sub)
    return [adapter.traverse(condition) for condition in conditions]


def event_filters(
    device: Text = None, severity: Text = None, program: Text = None, domain: Text = None,
    source: Text = None, q: Text = None, window: Text = None,
) -> Filters:  # fmt: skip
    """The viewer's filters from the query string (a dependency of the page and the tail)."""
    chosen = window or DEFAULT_WINDOW
    if chosen not in WINDOWS:
        raise InputError(f"window: use one of {', '.join(WINDOWS)}")
    if severity:
        severity_code(severity)  # InputError for an unknown name
    return Filters(
        device=(device or "").strip(), severity=(severity or "").strip(),
        program=(program or "").strip(), domain=(domain or "").strip(),
        source=(source or "").strip(), q=q or "", window=chosen,
    )  # fmt: skip


@router.get("/events", response_class=HTMLResponse)
async def events_page(
    request: Request,
    session: Session,
    caller: Reader,
    flt: Annotated[Filters, Depends(event_filters)],
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> HTMLResponse:
    """Events newest first, filtered, searched within a window and a row budget."""
    now = time.time()
    span = WINDOWS[flt.window][1]
    if cursor:
        low, high = (_check_id(part) for part in decode_text_cursor(cursor))
        if not high:
            raise InputError("invalid cursor")
    else:
        low, high = (ulid_floor(now - span) if span else ""), ""
    found = await scan(session, flt, low, high, PAGE_SIZE)
    rows = found.rows
    older_url = beyond_url = ""
    if found.more:
        older_url = "/events?" + flt.query(cursor=encode_cursor((low, rows[-1].id)))
    elif not found.exhausted and found.low:
        older_url = "/events?" + flt.query(cursor=encode_cursor((low, found.low)))
    elif low:
        beyond_url = "/events?" + flt.query(window="all", cursor=encode_cursor(("", low)))
    searched_to = ulid_moment(found.low) if found.low and not found.more else None
    device_row = await get_device(session, flt.device) if flt.device else None
    return page(
        request, "events.html", caller, title="Events", rows=rows, flt=flt, windows=WINDOWS,
        severities=SEVERITIES, paged=bool(cursor), older_url=older_url, beyond_url=beyond_url,
        budget_spent=not found.exhausted and not found.more, budget=SCAN_BUDGET,
        window_label=WINDOWS[flt.window][0], low_time=ulid_moment(low) if low else None,
        high_time=ulid_moment(high) if high else now, searched_to=searched_to,
        newest=rows[0].id if rows and not cursor else ulid_floor(now - TAIL_OVERLAP),
        device_row=device_row, tail_query=flt.query(), first_url="/events?" + flt.query(),
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Tail:
    """One answer of the live tail."""

    rows: list[Event]
    """The matches after the position and of the look-back, newest first."""
    newest: str
    """The position to ask after next."""
    more: bool
    """Whether matches after ``newest`` may be waiting already (ask again at once)."""


async def _first(
    session: AsyncSession, flt: Filters, base: sa.Select[tuple[Any, ...]], ascending: bool,
    limit: int,
) -> tuple[list[Event], str]:  # fmt: skip
    """The first ``limit`` matches of ``flt`` in the ordered range ``base`` (``limit + 1`` when
    there are more) among at most ``SCAN_BUDGET`` of its rows; and the last id examined when
    the budget ran out before ``limit`` matches were found ('' otherwise)."""
    conditions = flt.conditions()
    if not conditions:
        return [Event(*row) for row in await session.execute(base.limit(limit + 1))], ""
    budget = base.limit(SCAN_BUDGET).subquery("scanned")
    order = budget.c.id.asc() if ascending else budget.c.id.desc()
    found = sa.select(budget).where(*_on(budget, conditions)).order_by(order).limit(limit + 1)
    rows = [Event(*row) for row in await session.execute(found)]
    if len(rows) > limit:
        return rows, ""
    ids = base.with_only_columns(events.c.id).limit(SCAN_BUDGET).subquery()
    last = sa.func.max(ids.c.id) if ascending else sa.func.min(ids.c.id)
    examined, stop = (await session.execute(sa.select(sa.func.count(), last))).one()
    return rows, (stop or "") if int(examined) >= SCAN_BUDGET else ""


async def tail(session: AsyncSession, flt: Filters, after: str, now: float) -> Tail:
    """The matches of ``flt`` after ``after``, oldest first and at most ``TAIL_LIMIT``; once
    those are all, the newest ``TAIL_LIMIT`` of the look-back too (after the ``TAIL_OVERLAP``
    seconds before ``now``, up to ``after``)."""
    c = events.c
    base = sa.select(events).where(c.id > after).order_by(c.id.asc())
    if flt.device:
        base = base.where(c.device_id == flt.device)
    fresh, stop = await _first(session, flt, base, True, TAIL_LIMIT)
    more = len(fresh) > TAIL_LIMIT or bool(stop)
    del fresh[TAIL_LIMIT:]
    floor = ulid_floor(now - TAIL_OVERLAP)
    late: list[Event] = []
    if floor < after and not more:  # while catching up, the look-back waits for the last ask
        back = sa.select(events).where(c.id > floor, c.id <= after).order_by(c.id.desc())
        if flt.device:
            back = back.where(c.device_id == flt.device)
        late = (await _first(session, flt, back, False, TAIL_LIMIT))[0][:TAIL_LIMIT]
    if more:
        newest = max(fresh[-1].id if fresh else after, stop)
    else:
        newest = max([after, floor, *(row.id for row in fresh)])
    rows = sorted({row.id: row for row in (*late, *fresh)}.values(), key=_id, reverse=True)
    return Tail(rows, newest, more)


def _id(row: Event) -> str:
    return row.id


@router.get("/events/tail")
async def events_tail(
    session: Session,
    _: Reader,
    after: Annotated[str, Query(min_length=26, max_length=26)],
    flt: Annotated[Filters, Depends(event_filters)],
) -> JSONResponse:
    """Rows after ``after`` matching the filters, at most ``TAIL_LIMIT`` read oldest first, and
    those of the last few seconds (late commits; the page skips the ids it shows):
    ``{"html": "<tr>…", "newest": id, "count": n, "more": bool}``, rows newest first; ``more``
    says the limit was reached — ask again after ``newest`` at once."""
    _check_id(after, "after")
    found = await tail(session, flt, after, time.time())
    html = ENV.get_template("events_rows.html").render(rows=found.rows, fresh=True)
    return JSONResponse(
        {"html": html, "newest": found.newest, "count": len(found.rows), "more": found.more},
        headers={"cache-control": "no-store"},
    )
