"""Silences and maintenance windows API.

Bodies are validated by ``alerts.suppression`` (the same checks the alert engine applies when
it loads them). A silence is expired, never deleted (``DELETE`` ends it now); a maintenance
window is deleted. Every change commits, then publishes ``control.reload.suppression``.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Response

from opsconductor.alerts import crud
from opsconductor.alerts.suppression import parse_silence, parse_window
from opsconductor.api.deps import Context, Principal, Session, authorize
from opsconductor.api.events import Cursor, Limit, parse_moment
from opsconductor.api.publish import publish_reload
from opsconductor.api.schemas_alerts import (
    SilenceIn,
    SilenceOut,
    SilencePage,
    WindowIn,
    WindowOut,
    WindowPage,
)
from opsconductor.errors import InputError

router = APIRouter(tags=["suppression"])

Reader = Annotated[Principal, Depends(authorize("silences:read"))]
Writer = Annotated[Principal, Depends(authorize("silences:write"))]


def _silence_out(row: crud.SilenceRow, now: float) -> SilenceOut:
    return SilenceOut(**dataclasses.asdict(row), state=row.state(now))


def _moment(value: float | str, name: str) -> float:
    """A time the body must hold: an empty one is refused like any other it cannot read."""
    moment = parse_moment(str(value), name)
    if moment is None:
        raise InputError(f"{name}: expected ISO 8601 or epoch seconds, got {value!r}")
    return moment


def _silence_values(body: SilenceIn, now: float) -> crud.SilenceValues:
    """The validated, normalized values of a silence that has not ended yet."""
    starts_at = now if body.starts_at is None else _moment(body.starts_at, "starts_at")
    ends_at = _moment(body.ends_at, "ends_at")
    silence = parse_silence({"matchers": body.matchers, "starts_at": starts_at, "ends_at": ends_at})
    if silence.ends_at <= now:
        raise InputError("ends_at is in the past: the silence would never hold anything")
    matchers = [matcher.to_document() for matcher in silence.matchers]
    return crud.SilenceValues(matchers, silence.starts_at, silence.ends_at, body.comment)


def _silence_missing(silence_id: str) -> HTTPException:
    return HTTPException(404, f"no silence {silence_id!r}")


@router.get("/silences", response_model=SilencePage, summary="List silences, newest first")
async def list_silences(
    session: Session,
    _: Reader,
    state: Annotated[Literal["active", "pending", "expired"] | None, Query()] = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> SilencePage:
    """Silences, only those in ``state`` now when given."""
    now = time.time()
    page = await crud.list_silences(session, now=now, state=state, cursor=cursor, limit=limit)
    items = [_silence_out(row, now) for row in page.items]
    return SilencePage(items=items, next_cursor=page.next_cursor)


@router.get("/silences/{silence_id}", response_model=SilenceOut, summary="Read a silence")
async def get_silence(silence_id: str, session: Session, _: Reader) -> SilenceOut:
    """The silence with this id."""
    row = await crud.get_silence(session, silence_id)
    if row is None:
        raise _silence_missing(silence_id)
    return _silence_out(row, time.time())


@router.post("/silences", response_model=SilenceOut, status_code=201, summary="Add a silence")
async def create_silence(
    body: SilenceIn, session: Session, context: Context, who: Writer
) -> SilenceOut:
    """Hold back the alerts the matchers select, from ``starts_at`` (default now) to ``ends_at``."""
    now = time.time()
    row = await crud.create_silence(session, _silence_values(body, now), author=who.name, now=now)
    await session.commit()
    await publish_reload(context, "suppression", {"silence_id": row.id})
    return _silence_out(row, now)


@router.put("/silences/{silence_id}", response_model=SilenceOut, summary="Change a silence")
async def replace_silence(
    silence_id: str, body: SilenceIn, session: Session, context: Context, _: Writer
) -> SilenceOut:
    """Replace the matchers, times and comment of a silence (its author stays)."""
    now = time.time()
    row = await crud.update_silence(session, silence_id, _silence_values(body, now), now=now)
    if row is None:
        raise _silence_missing(silence_id)
    await session.commit()
    await publish_reload(context, "suppression", {"silence_id": silence_id})
    return _silence_out(row, now)


@router.delete("/silences/{silence_id}", response_model=SilenceOut, summary="Expire a silence")
async def expire_silence(
    silence_id: str, session: Session, context: Context, _: Writer
) -> SilenceOut:
    """End the silence now (it is kept, expired); the alerts it held are released."""
    now = time.time()
    row, changed = await crud.expire_silence(session, silence_id, now=now)
    if row is None:
        raise _silence_missing(silence_id)
    if changed:
        await session.commit()
        await publish_reload(context, "suppression", {"silence_id": silence_id})
    return _silence_out(row, now)


def _window_out(row: crud.WindowRow, now: float) -> WindowOut:
    try:
        open_now = parse_window(dataclasses.asdict(row)).open_at(now)
    except InputError:
        open_now = False  # stored before a validation rule tightened: the engine skips it too
    return WindowOut(**dataclasses.asdict(row), open_now=open_now)


def _window_values(body: WindowIn) -> crud.WindowValues:
    """The validated, normalized values of a maintenance window."""
    scope = {key: sorted(set(values)) for key, values in body.scope.items()}
    parse_window({"name": body.name, "scope": scope, "schedule": body.schedule})
    return crud.WindowValues(body.name, scope, body.schedule, body.enabled, body.comment)


def _window_missing(window_id: str) -> HTTPException:
    return HTTPException(404, f"no maintenance window {window_id!r}")


@router.get("/maintenance-windows", response_model=WindowPage, summary="List maintenance windows")
async def list_windows(
    session: Session,
    _: Reader,
    enabled: Annotated[bool | None, Query()] = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> WindowPage:
    """Maintenance windows newest first, only enabled (or disabled) ones when asked."""
    now = time.time()
    page = await crud.list_windows(session, enabled=enabled, cursor=cursor, limit=limit)
    items = [_window_out(row, now) for row in page.items]
    return WindowPage(items=items, next_cursor=page.next_cursor)


@router.get("/maintenance-windows/{window_id}", response_model=WindowOut)
async def get_window(window_id: str, session: Session, _: Reader) -> WindowOut:
    """The maintenance window with this id."""
    row = await crud.get_window(session, window_id)
    if row is None:
        raise _window_missing(window_id)
    return _window_out(row, time.time())


@router.post("/maintenance-windows", response_model=WindowOut, status_code=201)
async def create_window(
    body: WindowIn, session: Session, context: Context, who: Writer
) -> WindowOut:
    """Add a recurring maintenance window: alerts of its devices are held while it is open."""
    now = time.time()
    row = await crud.create_window(session, _window_values(body), author=who.name, now=now)
    await session.commit()
    await publish_reload(context, "suppression", {"window_id": row.id})
    return _window_out(row, now)


@router.put("/maintenance-windows/{window_id}", response_model=WindowOut)
async def replace_window(
    window_id: str, body: WindowIn, session: Session, context: Context, _: Writer
) -> WindowOut:
    """Replace a maintenance window's name, scope, schedule, switch and comment."""
    now = time.time()
    row = await crud.update_window(session, window_id, _window_values(body), now=now)
    if row is None:
        raise _window_missing(window_id)
    await session.commit()
    await publish_reload(context, "suppression", {"window_id": window_id})
    return _window_out(row, now)


@router.delete("/maintenance-windows/{window_id}", status_code=204)
async def delete_window(window_id: str, session: Session, context: Context, _: Writer) -> Response:
    """Delete a maintenance window; the alerts it held are released."""
    if not await crud.delete_window(session, window_id):
        raise _window_missing(window_id)
    await session.commit()
    await publish_reload(context, "suppression", {"window_id": window_id})
    return Response(status_code=204)
