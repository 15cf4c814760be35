"""Read API: events and dead letters, with filters and cursor pagination."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec
from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from opsconductor.api.deps import Principal, Session, authorize
from opsconductor.errors import InputError
from opsconductor.severity import facility_name, severity_code, severity_name
from opsconductor.store import EventFilter, list_dead_letters, list_events

router = APIRouter(tags=["events"])

Limit = Annotated[int, Query(ge=1, le=1000, description="Items per page.")]
Cursor = Annotated[str | None, Query(description="`next_cursor` of the previous page.")]


class PageOut(BaseModel):
    """A page of items and the cursor of the next page (null on the last)."""

    items: list[dict[str, Any]]
    next_cursor: str | None


_LATEST_MOMENT = 253402300799.0  # 9999-12-31T23:59:59Z


def parse_moment(value: str | None, name: str) -> float | None:
    """Epoch seconds from ISO 8601 (a time without zone is UTC) or from epoch seconds."""
    if value is None or value == "":
        return None
    try:
        moment = float(value)
    except ValueError:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as exc:
            raise InputError(f"{name}: expected ISO 8601 or epoch seconds, got {value!r}") from exc
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        moment = parsed.timestamp()
    if not 0 <= moment <= _LATEST_MOMENT:  # also refuses nan and inf
        raise InputError(f"{name}: {value!r} is not a time between 1970 and 9999")
    return moment


def _as_dict(row: Any) -> dict[str, Any]:
    if isinstance(row, msgspec.Struct):
        item = msgspec.structs.asdict(row)
        item.pop("v", None)
        return item
    if dataclasses.is_dataclass(row) and not isinstance(row, type):
        return dataclasses.asdict(row)
    if isinstance(row, BaseModel):
        return row.model_dump()
    return dict(row._mapping) if hasattr(row, "_mapping") else dict(row)


def event_out(row: Any) -> dict[str, Any]:
    """An event row as the API shows it: the severity name beside its code."""
    item = _as_dict(row)
    item["severity_name"] = severity_name(item.get("severity"))
    item["facility_name"] = facility_name(item.get("facility"))
    return item


@router.get("/events", response_model=PageOut, summary="List events, newest first")
async def get_events(
    session: Session,
    _: Annotated[Principal, Depends(authorize("events:read"))],
    device: Annotated[str | None, Query(description="Device id.")] = None,
    domain: Annotated[str | None, Query(description="wifi, security, health, wan, system…")] = None,
    severity: Annotated[
        str | None, Query(description="This severity or worse (name or 0-7).")
    ] = None,
    program: Annotated[str | None, Query()] = None,
    source: Annotated[str | None, Query(description="syslog-udp, syslog-tcp, http…")] = None,
    since: Annotated[
        str | None, Query(description="Received at or after (ISO 8601 or epoch seconds).")
    ] = None,
    until: Annotated[
        str | None, Query(description="Received before (ISO 8601 or epoch seconds).")
    ] = None,
    stated_since: Annotated[
        str | None, Query(description="The record's own time at or after this.")
    ] = None,
    stated_until: Annotated[
        str | None, Query(description="The record's own time before this.")
    ] = None,
    q: Annotated[str | None, Query(max_length=200, description="Text in the message.")] = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> PageOut:
    """Events matching every given filter, newest received first."""
    flt = EventFilter(
        device_id=device,
        domain=domain,
        severity_max=severity_code(severity) if severity else None,
        program=program,
        since=parse_moment(since, "since"),
        until=parse_moment(until, "until"),
        text=q or None,
        source=source,
        stated_since=parse_moment(stated_since, "stated_since"),
        stated_until=parse_moment(stated_until, "stated_until"),
    )
    page = await list_events(session, flt, cursor=cursor, limit=limit)
    return PageOut(items=[event_out(row) for row in page.items], next_cursor=page.next_cursor)


@router.get("/deadletters", response_model=PageOut, summary="List rejected records")
async def get_dead_letters(
    session: Session,
    _: Annotated[Principal, Depends(authorize("deadletters:read"))],
    source: Annotated[str | None, Query()] = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> PageOut:
    """Records that were rejected, with the reason; the raw bytes are shown escaped."""
    page = await list_dead_letters(session, source=source, cursor=cursor, limit=limit)
    items = []
    for row in page.items:
        item = _as_dict(row)
        data = item.pop("data", b"")
        item["data"] = data.decode("utf-8", "backslashreplace") if isinstance(data, bytes) else data
        items.append(item)
    return PageOut(items=items, next_cursor=page.next_cursor)
