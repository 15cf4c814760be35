"""The audit trail of the API: every change request is recorded once it is answered, and
admins read the log and check its hash chain.

Recorded: every ``POST``, ``PUT``, ``PATCH`` and ``DELETE`` under ``/api/`` and the
console's ``/login`` and ``/logout`` — who (the
principal ``authorize`` admitted, or ``anonymous``; anonymous ones up to
``ANONYMOUS_PER_MINUTE``), the route and the path, the client
address and the status code. Not recorded: ``POST /api/v1/logs``, which feeds data into the
pipeline rather than changing the system (its volume is the pipeline's). A record that cannot
be written is logged as an error and counted; the request's own answer stands.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from sqlalchemy.exc import IntegrityError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from opsconductor.api.deps import Principal, Session, authorize
from opsconductor.api.events import Cursor, Limit
from opsconductor.auth.users import USERNAME
from opsconductor.store.audit import (
    AuditEntry,
    AuditFilter,
    append_audit,
    list_records,
    verify_chain,
)
from opsconductor.store.pagination import check_limit

log = logging.getLogger(__name__)

_ATTEMPTS = 3
ANONYMOUS_PER_MINUTE = 600
"""Change requests without credentials (all refused) recorded per minute and process; past
that they are counted (``opsc_audit_anonymous_skipped``), so a flood cannot grow the log or
hold its writer. Logins and refreshes are always recorded."""
MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
NOT_AUDITED = frozenset({"/api/v1/logs"})
"""Data intake, not a change of the system."""
CONSOLE_AUDITED = frozenset({"/login", "/logout"})
"""The console's own change requests (the rest of its changes go through ``/api/``)."""

router = APIRouter(tags=["audit"])
Auditor = Annotated[Principal, Depends(authorize("audit:read"))]


class AuditMiddleware:
    """Records each change request in the audit log after it has been answered."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._lock = asyncio.Lock()  # one writer at a time in this process (SQLite)
        self._anonymous = _Allowance(ANONYMOUS_PER_MINUTE, 60.0)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if (
            scope["type"] != "http"
            or scope["method"] not in MUTATING
            or not (path.startswith("/api/") or path in CONSOLE_AUDITED)
            or path in NOT_AUDITED
        ):
            await self.app(scope, receive, send)
            return
        status = 500

        async def answer(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, answer)
        finally:
            await self._record(scope, status)

    async def _record(self, scope: Scope, status: int) -> None:
        context = scope["app"].state.context
        if context.sessions is None:
            return
        state = scope.get("state", {})
        principal = state.get("principal")
        told = dict(state.get("audit", {}))  # a route's own account: login names, outcomes
        if principal is None and not told and not self._anonymous.take(time.monotonic()):
            context.metrics.audit_skipped.inc()  # a flood without credentials: counted
            return
        client = scope.get("client") or ("", 0)
        tried = told.pop("actor", None)
        if tried is not None and not USERNAME.match(str(tried)):
            tried = "<not a user name>"  # never store a password typed into the name field
        entry = AuditEntry(
            at=time.time(),
            actor=str(tried or (principal.name if principal else "anonymous")),
            role=principal.role if principal else "",
            action=f"{scope['method']} {_route_of(scope)}",
            target=scope["path"],
            source=str(client[0]),
            outcome=str(status),
            detail=told,
        )
        for attempt in range(_ATTEMPTS):
            try:
                async with self._lock, context.sessions() as session:
                    await append_audit(session, entry)
                    await session.commit()
                return
            except IntegrityError:  # another process took the same position: go again
                if attempt + 1 < _ATTEMPTS:
                    continue
                log.exception("audit record of %s %s could not be written", entry.action, status)
            except Exception:
                log.exception("audit record of %s %s could not be written", entry.action, status)
                return


class _Allowance:
    """At most ``count`` takes per ``period`` seconds (a fixed window)."""

    def __init__(self, count: int, period: float) -> None:
        self.count = count
        self.period = period
        self._window = 0.0
        self._taken = 0

    def take(self, now: float) -> bool:
        """Whether one more fits in the current window (and take it)."""
        if now - self._window >= self.period:
            self._window, self._taken = now, 0
        if self._taken >= self.count:
            return False
        self._taken += 1
        return True


def _route_of(scope: Scope) -> str:
    """The route template (``/api/v1/rules/{rule_id}``), or the path if none matched."""
    template = getattr(scope.get("route"), "path", None)
    if template is None:
        return str(scope["path"])
    if template.startswith("/api/") or template in CONSOLE_AUDITED:
        return str(template)
    return f"/api/v1{template}"


def _record_out(row: Any) -> dict[str, Any]:
    return dict(row._mapping)


@router.get("/audit", summary="Read the audit log")
async def list_audit(
    session: Session,
    _: Auditor,
    actor: str | None = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> dict[str, Any]:
    """Audit records newest first (optionally of one actor), with a cursor."""
    check_limit(limit)
    rows, next_cursor = await list_records(session, AuditFilter(actor=actor), cursor, limit)
    return {"items": [_record_out(row) for row in rows], "next_cursor": next_cursor}


@router.get("/audit/verify", summary="Check the audit log's hash chain")
async def verify_audit(session: Session, _: Auditor) -> dict[str, Any]:
    """Walk the whole chain: ``intact`` with the record count, or the first fault."""
    result = await verify_chain(session)
    return {"intact": result.intact, "records": result.records, "fault": result.fault}
