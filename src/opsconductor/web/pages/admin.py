"""Console pages for administrators: users, API keys, the audit log and the system's status.

Each page reads the store on the server; its changes go through the JSON API (``/api/v1/users``,
``/api/v1/keys``, ``/api/v1/system/control/...``) from the page script, so the API's checks
and audit trail apply. An API key's secret is never rendered here: only the answer of the
``POST`` that creates it carries it, and ``static/pages/admin.js`` shows it once.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from opsconductor.api.deps import Context, Principal, Session, authorize
from opsconductor.api.status import system_status
from opsconductor.auth.keys import list_keys
from opsconductor.auth.keys import public as public_key
from opsconductor.auth.passwords import MAX_LENGTH, MIN_LENGTH
from opsconductor.auth.roles import Role
from opsconductor.auth.users import list_users
from opsconductor.auth.users import public as public_user
from opsconductor.stages import STAGES
from opsconductor.store.audit import AuditFilter, list_records
from opsconductor.web.render import page

router = APIRouter(include_in_schema=False)
UserReader = Annotated[Principal, Depends(authorize("users:read"))]
KeyReader = Annotated[Principal, Depends(authorize("keys:read"))]
Auditor = Annotated[Principal, Depends(authorize("audit:read"))]
SystemReader = Annotated[Principal, Depends(authorize("system:read"))]

SHOWN = 500
"""Users and keys listed on one page (an installation has a handful)."""
AUDIT_PAGE = 50
ROLES = tuple(role.value for role in Role)
PASSWORD_POLICY = (
    f"{MIN_LENGTH}–{MAX_LENGTH} characters, not containing the user name, not a common "
    "password and with at least 5 different characters."
)


@router.get("/admin/users", response_class=HTMLResponse)
async def users_page(request: Request, session: Session, caller: UserReader) -> HTMLResponse:
    """Every user with role, 2FA, state and last login; forms to create and change them."""
    rows = [public_user(row) for row in await list_users(session, None, SHOWN)]
    return page(
        request, "admin_users.html", caller, title="Users", users=rows, roles=ROLES,
        policy=PASSWORD_POLICY, min_length=MIN_LENGTH, max_length=MAX_LENGTH,
        new_roles=[r for r in ROLES if r != Role.SERVICE.value],
    )  # fmt: skip


@router.get("/admin/keys", response_class=HTMLResponse)
async def keys_page(request: Request, session: Session, caller: KeyReader) -> HTMLResponse:
    """API keys, newest first, never their secrets; a form to create one."""
    rows = [public_key(row) for row in await list_keys(session, None, SHOWN)]
    return page(request, "admin_keys.html", caller, title="API keys", keys=rows, roles=ROLES)


@router.get("/admin/audit", response_class=HTMLResponse)
async def audit_page(
    request: Request,
    session: Session,
    caller: Auditor,
    actor: str = "",
    action: str = "",
    outcome: str = "",
    cursor: str | None = None,
) -> HTMLResponse:
    """The audit log newest first, filtered by actor, action text and outcome, a page at a
    time (keyset: older than the last record shown)."""
    actor, action, outcome = actor.strip()[:64], action.strip()[:200], outcome.strip()[:40]
    flt = AuditFilter(actor or None, action or None, outcome or None)
    rows, next_cursor = await list_records(session, flt, cursor, AUDIT_PAGE)
    filters = {k: v for k, v in (("actor", actor), ("action", action), ("outcome", outcome)) if v}
    next_url = None
    if next_cursor:
        next_url = "/admin/audit?" + urlencode({**filters, "cursor": next_cursor})
    first_url = ("/admin/audit?" + urlencode(filters)) if cursor else None
    return page(
        request, "admin_audit.html", caller, title="Audit log",
        records=[dict(row._mapping) for row in rows], actor=actor, action=action,
        outcome=outcome, next_url=next_url, first_url=first_url,
    )  # fmt: skip


@router.get("/admin/system", response_class=HTMLResponse)
async def system_page(request: Request, context: Context, caller: SystemReader) -> HTMLResponse:
    """Deployment, reachability, versions, components and consumer lag; stage control for
    those who may."""
    status = await system_status(context, caller)
    lag: dict[str, Any] = status.get("lag") or {}
    return page(
        request, "admin_system.html", caller, title="System", system=status,
        lag=sorted(lag.items()), stages=STAGES, running=set(status["running"]),
    )  # fmt: skip
