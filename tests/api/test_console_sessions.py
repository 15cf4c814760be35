"""Console sessions over HTTP: the login form, the cookie, CSRF, origins, logout, limits, and
what a browser gets where it may not go. Both databases."""

from __future__ import annotations

import time

import httpx
import sqlalchemy as sa
from tests.api.conftest import Api
from tests.conftest import ADMIN_PASSWORD

from opsconductor.api.security import SESSION_COOKIE, gatekeeper
from opsconductor.auth.secrets import digest
from opsconductor.store.tables import audit_log, web_sessions

ORIGIN = {"Origin": "http://api"}
HTML = {"Accept": "text/html,application/xhtml+xml"}


def _browser(api: Api) -> httpx.AsyncClient:
    """A client without the admin's bearer token: it has only what the login form gives."""
    return httpx.AsyncClient(transport=api.client._transport, base_url="http://api")


async def _log_in(client: httpx.AsyncClient, username: str = "admin",
                  password: str = ADMIN_PASSWORD, **extra: str) -> httpx.Response:  # fmt: skip
    form = {"username": username, "password": password, "next": "/alerts", **extra}
    return await client.post("/login", data=form, headers={**ORIGIN, **HTML})


def _csrf_of(page: str) -> str:
    marker = '<meta name="csrf-token" content="'
    return page.split(marker, 1)[1].split('"', 1)[0]


async def test_the_login_form_opens_a_session_the_api_accepts(api: Api) -> None:
    async with _browser(api) as browser:
        answer = await _log_in(browser)
        assert answer.status_code == 303 and answer.headers["location"] == "/alerts"
        cookie = answer.headers["set-cookie"]
        assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
        secret = browser.cookies[SESSION_COOKIE]
        me = await browser.get("/api/v1/auth/me")
        assert me.status_code == 200 and me.json()["username"] == "admin"
    async with api.sessions() as session:
        stored = (await session.execute(sa.select(web_sessions.c.id))).scalars().all()
        actions = (await session.execute(sa.select(audit_log.c.action))).scalars().all()
    assert stored == [digest(secret)], "only the digest of the cookie is stored"
    assert "POST /login" in actions


async def test_a_change_through_the_cookie_needs_the_csrf_token_and_this_origin(api: Api) -> None:
    async with _browser(api) as browser:
        await _log_in(browser)
        device = {"name": "edge-1", "address": "192.0.2.1"}
        refused = await browser.post("/api/v1/devices", json=device)
        assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
        page = await browser.get("/", headers=HTML)
        token = _csrf_of(page.text)
        assert token
        wrong = await browser.post("/api/v1/devices", json=device,
                                   headers={"X-CSRF-Token": token + "x"})  # fmt: skip
        assert wrong.status_code == 403
        elsewhere = {"X-CSRF-Token": token, "Origin": "http://evil"}
        foreign = await browser.post("/api/v1/devices", json=device, headers=elsewhere)
        assert foreign.status_code == 403
        made = await browser.post("/api/v1/devices", json=device,
                                  headers={"X-CSRF-Token": token, **ORIGIN})  # fmt: skip
        assert made.status_code == 201, made.text


async def test_refused_logins_show_the_form_again_and_set_no_cookie(api: Api) -> None:
    async with _browser(api) as browser:
        wrong = await _log_in(browser, password="not the password at all")
        assert wrong.status_code == 401 and "Wrong user name or password" in wrong.text
        assert SESSION_COOKIE not in browser.cookies
        form = {"username": "admin", "password": ADMIN_PASSWORD}
        foreign = await browser.post("/login", data=form, headers={"Origin": "null"})
        assert foreign.status_code == 403 and SESSION_COOKIE not in browser.cookies


async def test_only_paths_on_this_server_are_followed_after_login(api: Api) -> None:
    async with _browser(api) as browser:
        answer = await _log_in(browser, next="//evil.example/x")
        assert answer.headers["location"] == "/"


async def test_logout_ends_the_session(api: Api) -> None:
    async with _browser(api) as browser:
        await _log_in(browser)
        page = await browser.get("/", headers=HTML)
        stale = await browser.post("/logout", data={"csrf": "nope"}, headers=ORIGIN)
        assert stale.status_code == 403
        out = await browser.post("/logout", data={"csrf": _csrf_of(page.text)}, headers=ORIGIN)
        assert out.status_code == 303 and out.headers["location"] == "/login"
        assert SESSION_COOKIE not in browser.cookies
    async with api.sessions() as session:
        assert (await session.scalar(sa.select(sa.func.count()).select_from(web_sessions))) == 0


async def test_an_idle_session_ends(api: Api) -> None:
    async with _browser(api) as browser:
        await _log_in(browser)
        gate = await gatekeeper(api.context)
        idle = time.time() - gate.session_limits.idle - 1
        async with api.sessions() as session:
            await session.execute(sa.update(web_sessions).values(seen_at=idle))
            await session.commit()
        gate._sessions.clear()
        answer = await browser.get("/api/v1/auth/me")
        assert answer.status_code == 401


async def test_a_browser_without_a_session_is_sent_to_the_login_form(api: Api) -> None:
    async with _browser(api) as browser:
        page = await browser.get("/alerts?status=firing", headers=HTML)
        assert page.status_code == 303
        assert page.headers["location"] == "/login?next=%2Falerts%3Fstatus%3Dfiring"
        machine = await browser.get("/alerts")
        assert machine.status_code == 401 and machine.json()["error"] == "unauthorized"


async def test_a_role_without_the_permission_gets_a_403_page(api: Api) -> None:
    await api.token_for("viewer", "watcher")
    async with _browser(api) as browser:
        await _log_in(browser, username="watcher")
        page = await browser.get("/admin/users", headers=HTML)
        assert page.status_code == 403 and "Not allowed" in page.text
        assert 'href="/admin/users"' not in (await browser.get("/", headers=HTML)).text
