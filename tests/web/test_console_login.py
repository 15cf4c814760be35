"""Logging in and out of the console in a real browser; the dashboard at both widths."""

from __future__ import annotations

from typing import Any

from tests.conftest import ADMIN_PASSWORD
from tests.web.conftest import Console, shoot


def _traffic(console: Console) -> None:
    """An hour's worth of ordinary lines from a few devices, and some that raise alerts."""
    lines = [f"<30>Dec  2 12:00:00 ap-{n % 4} netifd: Interface 'lan' is now up" for n in range(40)]
    lines += [
        f"<38>Dec  2 12:00:00 edge-{n} dropbear[12]: Bad password attempt for 'root' "
        f"from 203.0.113.{n}:4022"
        for n in range(3)
    ]
    console.send_syslog(*lines)
    console.wait_for("/api/v1/alerts?status=firing", lambda page: len(page["items"]) >= 3)


def test_login_shows_the_dashboard_and_logout_ends_the_session(
    console: Console, login: Any
) -> None:
    _traffic(console)
    page = login("admin")
    assert page.get_by_role("heading", name="Dashboard").is_visible()
    assert page.locator("#open-alerts").get_by_role("link", name="Warning 3").is_visible()
    shoot(page, "dashboard")
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/login")
    page.goto("/?x=1")
    page.wait_for_url("**/login?next=%2F%3Fx%3D1")


def test_a_wrong_password_is_refused_with_a_message(console: Console, browser: Any) -> None:
    context = browser.new_context(base_url=console.url)
    page = context.new_page()
    page.goto("/login")
    shoot(page, "login")
    page.get_by_label("User name").fill("admin")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    assert page.get_by_role("alert").inner_text() == "Wrong user name or password."
    context.close()


def test_a_finding_and_a_refused_page_as_a_person_sees_them(console: Console, login: Any) -> None:
    _traffic(console)
    finding = console.api.get("/api/v1/findings", params={"limit": 1}).json()["items"][0]
    page = login("viewer")
    page.goto(f"/findings/{finding['id']}")
    assert page.get_by_role("heading", name=finding["title"]).is_visible()
    shoot(page, "finding-detail")
    answer = page.goto("/admin/users")
    assert answer is not None and answer.status == 403
    assert page.get_by_role("heading", name="Not allowed").is_visible()
    assert page.get_by_role("link", name="Users").count() == 0
    shoot(page, "not-allowed")


def test_the_console_is_usable_from_the_keyboard(console: Console, browser: Any) -> None:
    context = browser.new_context(base_url=console.url)
    page = context.new_page()
    page.goto("/login")
    page.keyboard.type("admin")  # the user name field has the focus
    page.keyboard.press("Tab")
    page.keyboard.type(ADMIN_PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/login" not in url)
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent")
    assert focused == "Skip to content"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none", "the focused element shows where the focus is"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    for _ in range(3):
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.tagName") in ("A", "BUTTON", "INPUT")
    context.close()
