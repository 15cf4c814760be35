"""The admin pages and the profile in a real browser: API keys (the secret shown once), users,
the audit log, the system page, what viewers and operators do not see, password and 2FA."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pyotp
from tests.web.conftest import DESKTOP, Console, Watched, shoot

ADMIN_PAGES = ("/admin/users", "/admin/keys", "/admin/audit")


def _nav_labels(page: Any) -> list[str]:
    return [text.strip() for text in page.locator("#nav-list a").all_inner_texts()]


def _as_page_of(page: Any, console: Console, path: str) -> httpx.Response:
    """``GET path`` as a browser would ask for a page, with ``page``'s session cookie."""
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    return httpx.get(f"{console.url}{path}", cookies=cookies, headers={"Accept": "text/html"})


def test_an_api_key_secret_is_shown_once_and_works(console: Console, login: Any) -> None:
    page = login("admin")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto("/admin/keys")
    form = page.locator("#new-key")
    form.get_by_label("Name").fill("ci-pipeline")
    form.get_by_label("Role").select_option("service")
    form.get_by_label("Expires after (days)").fill("30")
    form.get_by_role("button", name="Create key").click()
    box = page.locator("#new-secret")
    box.wait_for(state="visible")
    secret = box.locator("[data-secret]").inner_text().strip()
    assert secret.startswith("opsc_")
    assert "not shown again" in box.inner_text()
    page.locator("#keys tr[data-key='ci-pipeline']").wait_for()
    box.get_by_role("button", name="Copy").click()
    page.get_by_text("Copied to the clipboard").wait_for()
    shoot(page, "admin-keys")

    me = httpx.get(f"{console.url}/api/v1/auth/me", headers={"X-API-Key": secret})
    assert me.status_code == 200, me.text
    assert me.json()["name"] == "key:ci-pipeline" and me.json()["role"] == "service"

    page.reload()
    assert secret not in page.content()
    assert page.locator("#new-secret").is_hidden()
    row = page.locator("#keys tr[data-key='ci-pipeline']")
    assert secret[:12] in row.inner_text() or "service" in row.inner_text()

    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Revoke").click()
    page.locator("#keys tr[data-key='ci-pipeline']", has_text="revoked").wait_for()
    refused = httpx.get(f"{console.url}/api/v1/auth/me", headers={"X-API-Key": secret})
    assert refused.status_code == 401


def test_viewers_and_operators_see_no_admin_pages(console: Console, login: Any) -> None:
    for role in ("viewer", "operator"):
        page = login(role)
        labels = _nav_labels(page)
        for hidden in ("Users", "API keys", "Audit log"):
            assert hidden not in labels, (role, labels)
        assert "System" in labels  # both roles read the system's status
        page.goto("/admin/system")
        assert page.get_by_role("heading", name="System", exact=True).is_visible()
        assert page.locator("[data-action*='/system/control/']").count() == 0
        assert "needs the admin role" in page.inner_text("main")
        for path in ADMIN_PAGES:
            answer = _as_page_of(page, console, path)
            assert answer.status_code == 403, (role, path, answer.status_code)
            assert "Not allowed" in answer.text
            assert "data-api=" not in answer.text and "Revoke" not in answer.text


def test_admin_creates_a_user_and_changes_its_role(console: Console, login: Any) -> None:
    page = login("admin")
    page.goto("/admin/users")
    form = page.locator("#new-user")
    assert "at least 5 different characters" in form.inner_text()
    form.get_by_label("User name").fill("carol")
    form.get_by_label("Full name").fill("Carol Network")
    form.get_by_label("Role").select_option("viewer")
    form.get_by_label("Password", exact=True).fill("Network-Secret-Pass-9")
    form.get_by_role("button", name="Create user").click()
    row = page.locator("#users tr[data-user='carol']")
    row.wait_for()
    assert "Carol Network" in row.inner_text()
    row.get_by_label("Role of carol").select_option("operator")
    with page.expect_navigation():
        row.get_by_role("button", name="Change role").click()
    page.locator("#users tr[data-user='carol'] select[name=role] option[value=operator]").wait_for(
        state="attached"
    )
    users = console.api.get("/api/v1/users").json()["items"]
    carol = next(u for u in users if u["username"] == "carol")
    assert carol["role"] == "operator"
    assert page.locator("#users tr[data-user='carol'] select[name=role]").input_value() == (
        "operator"
    )
    shoot(page, "admin-users")


def test_a_service_user_is_shown_with_its_role(console: Console, login: Any) -> None:
    body = {"username": "feeder1", "password": "Feeder-Pass-Word-77", "role": "service"}
    console.api.post("/api/v1/users", json=body).raise_for_status()
    page = login("admin")
    page.goto("/admin/users")
    select = page.locator("#users tr[data-user='feeder1'] select[name=role]")
    assert select.input_value() == "service"
    options = select.locator("option").evaluate_all("o => o.map((x) => x.value)")
    assert sorted(options) == ["admin", "operator", "service", "viewer"]


def test_audit_log_filters_and_verifies_its_chain(console: Console, login: Any) -> None:
    page = login("admin")
    page.goto("/admin/audit")
    page.get_by_role("button", name="Verify hash chain").click()
    verdict = page.locator("#verify-result")
    verdict.wait_for(state="visible")
    assert re.search(r"intact: [\d,]+ records", verdict.inner_text())
    page.get_by_label("Actor").fill("admin")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**/admin/audit?actor=admin*")
    rows = page.locator("main tbody tr")
    assert rows.count() > 0
    actors = {text.strip() for text in page.locator("tbody th").all_inner_texts()}
    assert actors == {"admin"}, actors
    shoot(page, "admin-audit")


def test_system_page_shows_components_and_control_for_admins(console: Console, login: Any) -> None:
    page = login("admin")
    page.goto("/admin/system")
    assert page.locator("#components").get_attribute("data-live") == "status"
    assert "reachable" in page.inner_text("main")
    row = page.locator("tr", has=page.locator("th", has_text=re.compile(r"^agents$")))
    assert row.get_by_role("button", name="Stop").is_visible()
    with page.expect_navigation():
        row.get_by_role("button", name="Reload").click()
    page.evaluate("window.scrollTo(0, 0)")
    shoot(page, "admin-system")


def test_a_fresh_user_changes_password_and_sets_up_2fa(console: Console, browser: Any) -> None:
    old, new = "Blue-First-Password-1", "Green-Second-Password-2"
    body = {"username": "erin", "password": old, "role": "viewer"}
    console.api.post("/api/v1/users", json=body).raise_for_status()
    watched = Watched()
    context = browser.new_context(viewport=DESKTOP, base_url=console.url)
    try:
        page = watched.attach(context.new_page())
        page.goto("/login?next=/profile")
        page.get_by_label("User name").fill("erin")
        page.get_by_label("Password").fill(old)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url("**/profile")
        assert "alerts:read" in page.inner_text("main")
        assert "users:write" not in page.inner_text("main")
        form = page.locator("#change-password")
        form.get_by_label("Current password").fill(old)
        form.get_by_label("New password").fill(new)
        form.get_by_role("button", name="Change password").click()
        page.wait_for_url("**/profile?password=changed")
        assert "password was changed" in page.locator("#password-changed").inner_text()

        login = f"{console.url}/api/v1/auth/login"
        assert httpx.post(login, json={"username": "erin", "password": old}).status_code == 401
        assert httpx.post(login, json={"username": "erin", "password": new}).status_code == 200

        setup = page.locator("#totp-setup")
        setup.get_by_label("Your password").fill(new)
        setup.get_by_role("button", name="Set up two-factor").click()
        page.locator("#totp-qr").wait_for(state="visible")
        secret = page.locator("[data-totp-secret]").inner_text().strip()
        shoot(page, "profile")
        enable = page.locator("#totp-enable")
        enable.get_by_label("Code from the app").fill(pyotp.TOTP(secret).now())
        enable.get_by_role("button", name="Turn two-factor on").click()
        page.locator("#totp-disable").wait_for()
        assert "is on" in page.inner_text("main")
    finally:
        context.close()
    assert not watched.errors, watched.errors
