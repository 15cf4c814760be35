"""Two-factor authentication of the caller's own account: set up, confirm, turn off.

Setting up and turning off need the current password, so a stolen access token alone cannot
bind the account to someone else's authenticator or strip its second factor.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

import pyotp
from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from opsconductor.api.auth import LoginRefused, check_current_password, user_only
from opsconductor.api.deps import Context, Principal, Session, authenticated
from opsconductor.auth.totp import STEP_SECONDS, matching_step, spend_step
from opsconductor.auth.users import get_user, update_user

router = APIRouter(
    prefix="/auth/totp",
    tags=["auth"],
    responses={423: {"description": "Account locked after repeated wrong passwords."}},
)
Caller = Annotated[Principal, Depends(authenticated)]


class PasswordProof(BaseModel):
    """The caller's current password."""

    password: str = Field(min_length=1, max_length=256)


class TotpBody(BaseModel):
    """A one-time code from the authenticator app."""

    code: str = Field(pattern=r"^\d{6}$")


class TotpOff(PasswordProof, TotpBody):
    """The current password and a current code."""


@router.post("/setup", summary="Start two-factor set-up: a new secret")
async def totp_setup(
    body: PasswordProof, caller: Caller, context: Context, session: Session
) -> dict[str, Any]:
    """A new TOTP secret and its otpauth URI (for a QR code); active once confirmed."""
    user = await check_current_password(context, session, caller, body.password)
    if user.totp_enabled:
        raise LoginRefused(409, "two-factor authentication is already on; turn it off first")
    secret = pyotp.random_base32()
    await update_user(session, user.id, {"totp_secret": secret, "totp_last_step": None})
    await session.commit()
    uri = pyotp.TOTP(secret, interval=STEP_SECONDS).provisioning_uri(
        name=user.username, issuer_name="OpsConductor"
    )
    return {"secret": secret, "otpauth_uri": uri}


@router.post("/enable", summary="Confirm two-factor set-up with a code", status_code=204)
async def totp_enable(body: TotpBody, caller: Caller, session: Session) -> None:
    """Turn 2FA on once a code from the new secret checks out (that code is then spent)."""
    user = await get_user(session, user_only(caller))
    if not user.totp_secret:
        raise LoginRefused(422, "no two-factor set-up in progress; run set-up first")
    step = matching_step(user.totp_secret, body.code, time.time(), user.totp_last_step)
    if step is None or not await spend_step(session, user.id, step):
        raise LoginRefused(422, "code does not match; run set-up again if the secret was lost")
    await update_user(session, user.id, {"totp_enabled": True})
    await session.commit()


@router.post("/disable", summary="Turn two-factor authentication off", status_code=204)
async def totp_disable(body: TotpOff, caller: Caller, context: Context, session: Session) -> None:
    """Needs the current password and a current code."""
    user = await check_current_password(context, session, caller, body.password)
    if not user.totp_enabled or not user.totp_secret:
        raise LoginRefused(422, "two-factor authentication is off")
    step = matching_step(user.totp_secret, body.code, time.time(), user.totp_last_step)
    if step is None or not await spend_step(session, user.id, step):
        raise LoginRefused(422, "the code does not match")
    await update_user(session, user.id, {"totp_enabled": False, "totp_secret": None})
    await session.commit()
