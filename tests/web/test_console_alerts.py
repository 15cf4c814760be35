"""The alert pages in a real browser: a syslog line raises an alert that appears live, the
operator acknowledges and silences it, opens it; what a viewer may not do is not offered."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect
from tests.web.conftest import Console, shoot


def bad_password(host: str, src: str) -> str:
    """A dropbear line that the built-in rule ``security.ssh_password_failed`` turns into a
    warning alert "Failed SSH password for root from <src>"."""
    return (
        f"<38>Dec  2 12:00:00 {host} dropbear[123]: Bad password attempt for 'root' from {src}:5555"
    )


def raise_alert(console: Console, host: str, src: str) -> dict[str, Any]:
    """Send the line and wait until its alert is stored; the alert."""
    console.send_syslog(bad_password(host, src))
    title = f"Failed SSH password for root from {src}"
    found = console.wait_for(
        "/api/v1/alerts?status=firing", lambda b: any(a["title"] == title for a in b["items"])
    )
    alert: dict[str, Any] = next(a for a in found["items"] if a["title"] == title)
    return alert


def test_a_new_alert_appears_live_and_is_acknowledged_silenced_and_opened(
    console: Console, login: Any
) -> None:
    page = login("admin")
    page.goto("/alerts")
    expect(page.get_by_role("heading", name="Alerts", exact=True)).to_be_visible()
    expect(page.locator("[data-live-label]")).to_have_text("live")

    console.send_syslog(bad_password("router1", "10.0.0.9"))
    row = page.locator(
        "#alert-list tbody tr", has_text="Failed SSH password for root from 10.0.0.9"
    )
    expect(row).to_be_visible(timeout=20_000)  # no reload: the live section re-rendered
    expect(row).to_contain_text("router1")
    expect(row).to_contain_text("firing")
    shoot(page, "alerts")

    row.get_by_role("checkbox").check()
    expect(page.locator("[data-bulk-count]")).to_have_text("1")
    page.get_by_role("button", name="Acknowledge", exact=True).click()
    expect(row.locator(".chip-ack")).to_be_visible()
    expect(row).to_contain_text("admin")

    row.get_by_role("checkbox").check()
    page.get_by_label("Silence for").select_option(label="1 hour")
    page.get_by_label("Comment").fill("known scanner")
    page.get_by_role("button", name="Silence", exact=True).click()
    expect(row.locator(".chip-silenced")).to_be_visible()
    silences = console.api.get("/api/v1/silences", params={"state": "active"}).json()["items"]
    assert any(s["comment"] == "known scanner" for s in silences)

    row.get_by_role("link").click()
    page.wait_for_url(re.compile(r"/alerts/[0-9A-Z]{26}$"))
    expect(page.get_by_role("heading", name="Facts")).to_be_visible()
    expect(page.locator("#alert-history")).to_contain_text("acknowledged")
    expect(page.locator(".evidence")).to_contain_text("Bad password attempt for 'root'")
    expect(page.locator(".chart.columns")).to_be_visible()
    page.get_by_label("Add a comment").fill("blocked at the edge")
    page.get_by_role("button", name="Comment", exact=True).click()
    expect(page.locator("ul.comments")).to_contain_text("blocked at the edge")
    page.get_by_role("button", name="Unacknowledge").click()
    expect(page.get_by_role("button", name="Acknowledge", exact=True)).to_be_visible()
    shoot(page, "alert-detail")

    page.goto("/silences")
    expect(page.locator("#silences-current")).to_contain_text("known scanner")
    shoot(page, "silences")


def test_the_silences_page_creates_and_expires(console: Console, login: Any) -> None:
    page = login("operator")
    page.goto("/silences")
    page.get_by_label("Label").first.fill("host")
    page.get_by_label("Value").first.fill("switch-9")
    page.get_by_label("Duration").select_option(label="1 day")
    page.get_by_role("button", name="Create silence").click()
    row = page.locator("#silences-current tr", has_text="host = switch-9")
    expect(row).to_be_visible()
    page.get_by_label("Name").fill("Weekend patching")
    page.get_by_label("Sites").fill("hq")
    page.get_by_role("button", name="Create window").click()
    expect(page.get_by_role("cell", name=re.compile("Weekend patching"))).to_be_visible()
    page.on("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Expire").click()
    expect(page.locator("#silences-current tr", has_text="host = switch-9")).to_have_count(0)


def test_filters_detail_404_and_a_viewer_sees_no_controls(console: Console, login: Any) -> None:
    alert = raise_alert(console, "ap-7", "10.0.0.77")
    page = login("viewer")
    page.goto("/alerts?device=ap-7&status=all&sort=severity")
    row = page.locator("#alert-list tbody tr", has_text="10.0.0.77")
    expect(row).to_be_visible()
    assert page.locator("input[name=ids]").count() == 0
    assert page.locator("[data-bulk]").count() == 0
    page.goto("/alerts?q=no-such-title-anywhere")
    expect(page.get_by_text("No alert matches these filters")).to_be_visible()
    page.goto(f"/alerts/{alert['id']}")
    expect(page.get_by_role("heading", name="Facts")).to_be_visible()
    assert page.locator("form[data-api]").count() == 0
    assert page.locator("button[data-action]").count() == 0
    page.goto("/silences")
    assert page.locator("form[data-api]").count() == 0
    assert page.locator("button[data-action]").count() == 0

    # Through the page's own session, but not as a navigation: a 404 document is a console error.
    missing = page.request.get(
        "/alerts/01ZZZZZZZZZZZZZZZZZZZZZZZZ", headers={"Accept": "text/html"}
    )
    assert missing.status == 404
    assert "<h1>Not found</h1>" in missing.text()
