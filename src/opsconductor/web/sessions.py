"""The console's login and logout: a form, a session cookie, a CSRF token per session.

Logging in runs the same checks as ``POST /api/v1/auth/login`` (lockout, per-address limit,
2FA, IP allowlist) and is audited the same way; success opens a web session (``auth.sessions``)
and sets its secret as an HttpOnly, SameSite=Lax cookie. Both forms are refused from another
origin, so a third-party page can neither log a browser in nor out.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from opsconductor.api.deps import Context, Session, client_address, same_origin
from opsconductor.api.security import SESSION_COOKIE, authenticate_session, gatekeeper
from opsconductor.auth.login import Attempt, LoginOutcome, attempt_login
from opsconductor.auth.secrets import same
from opsconductor.auth.sessions import close_session, open_session
from opsconductor.errors import Unauthorized
from opsconductor.web.render import page

router = APIRouter(include_in_schema=False)

_REFUSALS: dict[LoginOutcome, tuple[int, str]] = {
    LoginOutcome.BAD_CREDENTIALS: (401, "Wrong user name or password."),
    LoginOutcome.DISABLED: (401, "Wrong user name or password."),
    LoginOutcome.TOTP_REQUIRED: (401, "This account uses two-factor authentication: "
                                      "enter the 6-digit code from your authenticator app."),
    LoginOutcome.TOTP_INVALID: (401, "That one-time code is wrong or already used."),
    LoginOutcome.LOCKED: (423, "This account is locked after repeated failures. "
                               "Try again later or ask an administrator."),
    LoginOutcome.SOURCE_BLOCKED: (429, "Too many failed logins from this address. "
                                       "Wait a few minutes and try again."),
}  # fmt: skip


_ASK_CODE = (LoginOutcome.TOTP_REQUIRED, LoginOutcome.TOTP_INVALID)


def safe_next(value: str | None) -> str:
    """Where to go after logging in: a path on this server, never another site."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def _form_value(form: Any, name: str, limit: int) -> str:
    value = form.get(name)
    return value[:limit] if isinstance(value, str) else ""


@router.get("/login")
async def login_page(request: Request, context: Context) -> Response:
    """The login form (or straight on, for a browser already logged in)."""
    target = safe_next(request.query_params.get("next"))
    secret = request.cookies.get(SESSION_COOKIE)
    if secret:
        try:
            await authenticate_session(context, secret)
            return RedirectResponse(target, status_code=303)
        except Unauthorized:
            pass
    return page(request, "login.html", None, title="Log in", next=target, error="", username="")


@router.post("/login")
async def login(request: Request, context: Context, session: Session) -> Response:
    """Check the form's credentials; open a session and go on, or show the form again."""
    form = await request.form()
    username = _form_value(form, "username", 64)
    target = safe_next(_form_value(form, "next", 2000))
    if not same_origin(request):
        return _again(request, 403, "Log in from this server's own login page.", username, target)
    code = _form_value(form, "totp", 6).strip() or None
    attempt = Attempt(username, _form_value(form, "password", 256), client_address(request), code)
    gate = await gatekeeper(context)
    outcome, user = await attempt_login(session, attempt, gate.login, time.time())
    request.state.audit = {"actor": username, "outcome": outcome.value}
    if outcome is LoginOutcome.OK and user and not gate.allowed_from(user.role, attempt.source):
        await session.commit()
        return _again(request, 403, "Your role may not log in from this address.", username, target)
    if outcome is not LoginOutcome.OK:
        await session.commit()
        status, message = _REFUSALS[outcome]
        return _again(request, status, message, username, target, outcome)
    assert user is not None
    client = (attempt.source, request.headers.get("user-agent", ""))
    opened = await open_session(session, user.id, time.time(), gate.session_limits, client)
    await session.commit()
    answer = RedirectResponse(target, status_code=303)
    answer.set_cookie(
        SESSION_COOKIE, opened.secret, max_age=int(gate.session_limits.lifetime), path="/",
        httponly=True, samesite="lax",
        secure=context.settings.secure_cookies or request.url.scheme == "https",
    )  # fmt: skip
    return answer


def _again(
    request: Request, status: int, message: str, username: str, target: str,
    outcome: LoginOutcome | None = None,
) -> Response:  # fmt: skip
    return page(
        request, "login.html", None, status=status, title="Log in", next=target, error=message,
        username=username, ask_code=outcome in _ASK_CODE,
    )  # fmt: skip


@router.post("/logout")
async def logout(request: Request, context: Context, session: Session) -> Response:
    """End the browser's session (the form carries its CSRF token) and show the login form."""
    secret = request.cookies.get(SESSION_COOKIE, "")
    answer = RedirectResponse("/login", status_code=303)
    answer.delete_cookie(SESSION_COOKIE, path="/")
    if not secret:
        return answer
    try:
        web = await authenticate_session(context, secret)
    except Unauthorized:
        return answer
    form = await request.form()
    if not same(_form_value(form, "csrf", 100), web.csrf) or not same_origin(request):
        stale = "The logout form was stale. Reload the page and try again."
        return page(
            request, "error.html", web.principal, status=403, title="Refused", message=stale
        )
    request.state.principal = web.principal
    await close_session(session, secret)
    await session.commit()
    (await gatekeeper(context)).forget_session(secret)
    return answer
