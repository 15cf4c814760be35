"""Login, token refresh, logout, the caller's own account, and two-factor set-up.

Every login attempt is recorded in the audit log (by the audit middleware) with the name
tried, the source address and the outcome; the password never is.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from opsconductor.api.context import AppContext
from opsconductor.api.deps import (
    Context,
    Principal,
    Session,
    authenticated,
    client_address,
    credentials_of,
)
from opsconductor.api.security import SESSION_COOKIE, Gatekeeper, gatekeeper
from opsconductor.auth import refresh as refresh_tokens
from opsconductor.auth.login import Attempt, LoginOutcome, attempt_login, count_failure
from opsconductor.auth.sessions import close_user_sessions, open_session
from opsconductor.auth.users import get_user, public, set_password
from opsconductor.errors import Forbidden, InputError, Unauthorized

router = APIRouter(prefix="/auth", tags=["auth"])
Caller = Annotated[Principal, Depends(authenticated)]


class LoginBody(BaseModel):
    """Credentials of a login."""

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)
    totp: str | None = Field(None, pattern=r"^\d{6}$", description="one-time code, if 2FA is on")


class RefreshBody(BaseModel):
    """A refresh token to spend (or to revoke, on logout)."""

    refresh_token: str = Field(min_length=1, max_length=200)


class PasswordBody(BaseModel):
    """A password change: the current one and the new one."""

    current_password: str = Field(min_length=1, max_length=256)
    new_password: str = Field(min_length=1, max_length=256)


class LoginRefused(InputError):
    """A login that did not succeed, with its HTTP status and extra fields."""

    def __init__(self, status: int, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status_code = status
        self.extra = extra


_REFUSALS: dict[LoginOutcome, tuple[int, str]] = {
    LoginOutcome.BAD_CREDENTIALS: (401, "invalid username or password"),
    LoginOutcome.DISABLED: (401, "invalid username or password"),
    LoginOutcome.TOTP_INVALID: (401, "invalid one-time code"),
    LoginOutcome.TOTP_REQUIRED: (401, "one-time code required"),
    LoginOutcome.LOCKED: (423, "account locked after repeated failures; try again later"),
    LoginOutcome.SOURCE_BLOCKED: (429, "too many failed logins from this address"),
}


async def _tokens(
    gate: Gatekeeper, session: Session, user: Any, family: str | None
) -> dict[str, Any]:
    now = time.time()
    refresh = await refresh_tokens.issue_refresh(
        session, user.id, family, now, gate.refresh_lifetime
    )
    return _token_answer(gate, user, refresh, now)


def _token_answer(gate: Gatekeeper, user: Any, refresh: str, now: float) -> dict[str, Any]:
    """A new access token for ``user`` beside ``refresh``, as login and refresh answer."""
    access, expires = gate.issuer.issue(user.id, user.username, user.role, now)
    return {
        "access_token": access, "token_type": "bearer", "expires_at": expires,
        "expires_in": round(gate.issuer.lifetime), "refresh_token": refresh,
        "refresh_expires_at": now + gate.refresh_lifetime, "user": public(user),
    }  # fmt: skip


@router.post(
    "/login",
    summary="Log in: an access token and a refresh token",
    responses={
        401: {"description": "Wrong credentials or one-time code."},
        423: {"description": "Account locked after repeated failures."},
        429: {"description": "Too many failed logins from this address; see retry_after."},
    },
)
async def login(
    body: LoginBody, request: Request, context: Context, session: Session
) -> dict[str, Any]:
    """Check the credentials (and the one-time code when 2FA is on)."""
    gate = await gatekeeper(context)
    now = time.time()
    source = client_address(request)
    attempt = Attempt(body.username, body.password, source, body.totp)
    outcome, user = await attempt_login(session, attempt, gate.login, now)
    request.state.audit = {"actor": body.username, "outcome": outcome.value}
    if user is not None and outcome is LoginOutcome.OK and not gate.allowed_from(user.role, source):
        raise Forbidden(f"role {user.role} may not log in from this address")
    if outcome is not LoginOutcome.OK:
        await session.commit()
        status, detail = _REFUSALS[outcome]
        extra: dict[str, Any] = (
            {"totp_required": True} if outcome is LoginOutcome.TOTP_REQUIRED else {}
        )
        if outcome is LoginOutcome.SOURCE_BLOCKED:
            extra["retry_after"] = round(gate.login.guard.retry_after(source, now))
        raise LoginRefused(status, detail, **extra)
    tokens = await _tokens(gate, session, user, None)
    await session.commit()
    return tokens


@router.post(
    "/refresh",
    summary="Trade a refresh token for new tokens",
    responses={401: {"description": "A spent, revoked or unknown refresh token."}},
)
async def refresh(
    body: RefreshBody, request: Request, context: Context, session: Session
) -> dict[str, Any]:
    """Rotate: the token is spent, a new pair is returned. A reused token revokes its login."""
    request.state.audit = {"outcome": "refused"}  # replaced once the token holds
    gate = await gatekeeper(context)
    now = time.time()
    try:
        row, new_refresh = await refresh_tokens.rotate(
            session, body.refresh_token, now, gate.refresh_lifetime
        )
    except InputError:
        await session.commit()  # a detected reuse must stay revoked
        raise
    user = await get_user(session, row.user_id)
    request.state.audit = {"actor": user.username, "outcome": "ok"}
    if user.disabled:
        await refresh_tokens.revoke_family(session, row.family, now)
        await session.commit()
        raise Unauthorized("user disabled")
    if not gate.allowed_from(user.role, client_address(request)):
        await session.rollback()  # the token is not spent by a refusal
        raise Forbidden(f"role {user.role} may not call from this address")
    await session.commit()
    return _token_answer(gate, user, new_refresh, now)


@router.post("/logout", summary="End this login: revoke its refresh tokens", status_code=204)
async def logout(body: RefreshBody, caller: Caller, session: Session) -> None:
    """Revoke the refresh token's whole family (the access token expires on its own). A token
    of another user's login is left alone."""
    owned = await refresh_tokens.family_of(session, body.refresh_token)
    if owned is not None and owned[1] == caller.id:
        await refresh_tokens.revoke_family(session, owned[0], time.time())
        await session.commit()


@router.get("/me", summary="Who am I")
async def me(caller: Caller, session: Session) -> dict[str, Any]:
    """The caller: a user's account, or an API key's name and role."""
    if caller.kind != "user":
        return {"kind": caller.kind, "name": caller.name, "role": caller.role, "id": caller.id}
    return {"kind": "user", **public(await get_user(session, caller.id))}


def user_only(caller: Principal) -> str:
    """The caller's user id; 400 for an API key (it has no password or second factor)."""
    if caller.kind != "user":
        raise InputError("only a user can do this, not an API key")
    return caller.id


async def check_current_password(
    context: AppContext, session: AsyncSession, caller: Principal, password: str
) -> Any:
    """The caller's user row if ``password`` is theirs; else a counted failure and 403."""
    gate = await gatekeeper(context)
    user = await get_user(session, user_only(caller))
    if user.locked_until is not None and user.locked_until > time.time():
        raise LoginRefused(423, "account locked after repeated failures; try again later")
    if not await gate.login.hashing.verify(user.password_hash, password):
        await count_failure(session, user.id, gate.login.policy, time.time())
        await session.commit()
        raise Forbidden("current password is wrong")
    return user


@router.post(
    "/password",
    summary="Change my password",
    status_code=204,
    responses={423: {"description": "Account locked after repeated wrong passwords."}},
)
async def change_password(
    body: PasswordBody,
    caller: Caller,
    context: Context,
    session: Session,
    request: Request,
    response: Response,
) -> None:
    """Needs the current password; ends every other login of this user (refresh tokens and
    console sessions). Called from the console, the caller's own session is replaced by a new
    one (a new cookie and CSRF token: reload the page). A wrong current password counts
    towards the account's lockout."""
    user = await check_current_password(context, session, caller, body.current_password)
    gate = await gatekeeper(context)
    now = time.time()
    await set_password(session, user, body.new_password, now)
    await refresh_tokens.revoke_user(session, user.id, now)
    await close_user_sessions(session, user.id)
    renewed = None
    if credentials_of(request) is None and request.cookies.get(SESSION_COOKIE):
        client = (client_address(request), request.headers.get("user-agent", ""))
        renewed = await open_session(session, user.id, now, gate.session_limits, client)
    await session.commit()
    gate.forget(user.id)
    if renewed is not None:
        response.set_cookie(
            SESSION_COOKIE, renewed.secret, max_age=int(gate.session_limits.lifetime), path="/",
            httponly=True, samesite="lax",
            secure=context.settings.secure_cookies or request.url.scheme == "https",
        )  # fmt: skip
