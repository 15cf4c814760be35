"""The caller's own page: who they are, what their role may do, their password and 2FA.

Changes go through the JSON API (``/api/v1/auth/password``, ``/api/v1/auth/totp/...``). While a
two-factor set-up is pending, ``/profile/totp.svg`` draws its secret as a QR code for the
authenticator app (only for the user themselves; gone once 2FA is on).
"""

from __future__ import annotations

import io
from typing import Annotated, Any

import pyotp
import segno
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from opsconductor.api.deps import Principal, Session, authenticated
from opsconductor.auth.passwords import MAX_LENGTH, MIN_LENGTH
from opsconductor.auth.roles import GRANTS, PERMISSIONS, Role
from opsconductor.auth.totp import STEP_SECONDS
from opsconductor.auth.users import get_user
from opsconductor.errors import NotFound
from opsconductor.web.pages.admin import PASSWORD_POLICY
from opsconductor.web.render import page

router = APIRouter(include_in_schema=False)
Caller = Annotated[Principal, Depends(authenticated)]


class NoPendingSetup(NotFound):
    """No two-factor set-up in progress (HTTP 404)."""


@router.get("/profile", response_class=HTMLResponse)
async def profile_page(request: Request, session: Session, caller: Caller) -> HTMLResponse:
    """Name, role and its permissions; password change; two-factor set-up."""
    user: dict[str, Any] | None = None
    if caller.kind == "user":
        row = await get_user(session, caller.id)
        user = {"full_name": row.full_name, "totp_enabled": bool(row.totp_enabled)}
    try:
        granted = sorted(GRANTS[Role(caller.role)])
    except ValueError:
        granted = []
    return page(
        request, "profile.html", caller, title="Your profile", user=user,
        permissions=[(name, PERMISSIONS[name]) for name in granted],
        policy=PASSWORD_POLICY, min_length=MIN_LENGTH, max_length=MAX_LENGTH,
        changed=request.query_params.get("password") == "changed",
    )  # fmt: skip


@router.get("/profile/totp.svg")
async def totp_qr(session: Session, caller: Caller) -> Response:
    """The pending two-factor secret as a QR code (SVG) of its otpauth URI."""
    if caller.kind != "user":
        raise NoPendingSetup("only a user has two-factor authentication")
    user = await get_user(session, caller.id)
    if user.totp_enabled or not user.totp_secret:
        raise NoPendingSetup("no two-factor set-up in progress")
    uri = pyotp.TOTP(user.totp_secret, interval=STEP_SECONDS).provisioning_uri(
        name=user.username, issuer_name="OpsConductor"
    )
    out = io.BytesIO()
    segno.make(uri, error="m").save(out, kind="svg", scale=4, border=2, light="#fff")
    return Response(
        out.getvalue(), media_type="image/svg+xml", headers={"cache-control": "no-store"}
    )
