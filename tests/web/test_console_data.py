"""The data pages in a real browser: the log viewer with its search and live tail, the device
list, detail and forms, the findings list — and what a viewer may not do."""

from __future__ import annotations

import re
from typing import Any

import httpx
from tests.web.conftest import Console, shoot

LINES = (
    "<30>Dec  2 12:00:00 router1 dnsmasq[1]: query[A] example.org from 10.0.0.5",
    "<30>Dec  2 12:00:01 router1 dnsmasq[1]: query[AAAA] example.net from 10.0.0.6",
    "<27>Dec  2 12:00:02 router1 kernel: eth1: link down",
)


def _event_with(console: Console, text: str) -> dict[str, Any]:
    body = console.wait_for(f"/api/v1/events?q={text}", lambda b: bool(b["items"]))
    item: dict[str, Any] = body["items"][0]
    return item


def test_events_search_and_live_tail(console: Console, login: Any) -> None:
    console.send_syslog(*LINES)
    _event_with(console, "link%20down")
    page = login("operator")
    page.goto("/events")
    rows = page.locator("#event-rows tr")
    assert rows.count() >= 3
    assert page.get_by_text("query[A] example.org from 10.0.0.5").is_visible()
    assert page.locator("#event-rows .sev-major").first.is_visible()  # err
    page.get_by_label("Search messages").fill("example.net")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url(re.compile(r"q=example\.net"))
    assert page.locator("#event-rows tr").count() == 1
    assert "last 24 hours" in page.locator("#searched").inner_text()
    page.goto("/events")
    shoot(page, "events")
    page.get_by_role("button", name="Live tail").click()
    console.send_syslog("<30>Dec  2 12:00:09 router1 dnsmasq[1]: tail-marker-42 arrived")
    page.get_by_text("tail-marker-42 arrived").wait_for(timeout=15000)
    assert page.locator("#event-rows tr").first.inner_text().count("tail-marker-42") == 1
    assert page.get_by_role("button", name="Live tail: on").get_attribute("aria-pressed") == "true"


def test_live_tail_catches_up_on_a_burst_and_speaks_only_of_new_rows(
    console: Console, login: Any
) -> None:
    page = login("viewer")
    page.goto("/events?q=burst-")
    state = page.locator("[data-tail-state]")
    toggle = page.get_by_role("button", name="Live tail")
    toggle.click()
    page.wait_for_timeout(4500)  # two quiet checks
    assert state.inner_text() == "", "a check that found nothing says nothing"
    toggle.click()  # off: the burst lands between two checks
    console.send_syslog(*(f"<30>Dec  2 12:01:00 router1 app[1]: burst-{n:03d}" for n in range(300)))
    console.wait_for("/api/v1/events?q=burst-&limit=500", lambda b: len(b["items"]) == 300)
    toggle.click()
    page.locator("#event-rows tr").nth(299).wait_for(state="attached", timeout=15000)
    ids = page.locator("#event-rows tr").evaluate_all("rows => rows.map((r) => r.dataset.id)")
    assert len(ids) == 300 and ids == sorted(ids, reverse=True)
    texts = page.locator("#event-rows td.msg").all_inner_texts()
    assert {t.rsplit("burst-", 1)[1] for t in texts} == {f"{n:03d}" for n in range(300)}
    assert re.fullmatch(r"Live: \d+ new events? at .+\.", state.inner_text())


def test_devices_create_edit_detail_and_delete(console: Console, login: Any) -> None:
    console.send_syslog(*LINES)
    device_id = _event_with(console, "example.org")["device_id"]
    page = login("admin")
    page.goto("/devices")
    assert page.get_by_role("link", name="router1").first.is_visible()
    shoot(page, "devices")
    page.get_by_role("link", name="Add a device").click()
    page.wait_for_url("**/devices/new")
    page.get_by_label("Address").fill("not-an-ip")
    page.get_by_role("button", name="Add the device").click()
    assert "is not an IPv4 or IPv6 address" in page.get_by_role("alert").inner_text()
    page.get_by_label("Address").fill("192.0.2.10")
    page.get_by_label("Hostname").fill("core-sw1")
    page.get_by_label("Site").fill("HQ")
    page.get_by_label("Groups").fill("core, switches")
    shoot(page, "device-form")
    page.get_by_role("button", name="Add the device").click()
    page.wait_for_url(re.compile(r"/devices/[0-9a-f]+$"))
    assert page.get_by_role("heading", name="core-sw1").is_visible()
    page.get_by_role("link", name="Edit").click()
    page.get_by_label("Name").fill("Core switch 1")
    page.get_by_label("Tags").fill("rack-4")
    page.get_by_role("button", name="Save").click()
    page.get_by_role("heading", name="Core switch 1").wait_for()
    assert page.get_by_role("link", name="rack-4").is_visible()
    page.goto("/devices?group=core")
    assert page.get_by_role("link", name="Core switch 1").is_visible()
    assert page.get_by_role("link", name="router1").count() == 0
    page.goto("/devices?q=core")
    page.get_by_role("link", name="Core switch 1").click()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete").click()
    page.wait_for_url(re.compile(r"/devices$"))
    assert page.get_by_role("link", name="Core switch 1").count() == 0

    page.goto(f"/devices/{device_id}")
    assert page.get_by_text("query[A] example.org from 10.0.0.5").first.is_visible()
    assert page.locator("svg.spark").is_visible()
    shoot(page, "device-detail")
    page.get_by_role("link", name="All events of this device").click()
    page.wait_for_url(f"**/events?device={device_id}")
    assert page.locator("#event-rows tr").count() >= 3


def test_findings_page_renders(console: Console, login: Any) -> None:
    page = login("viewer")
    page.goto("/findings")
    assert page.get_by_role("heading", name="Findings", exact=True).is_visible()
    page.get_by_label("Severity").select_option("critical")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**severity=critical**")
    page.goto("/findings")
    shoot(page, "findings")
    answer = console.api.get("/api/v1/findings", params={"limit": 1}).json()
    if answer["items"]:
        finding = answer["items"][0]
        page.goto(f"/findings/{finding['id']}")
        assert page.get_by_role("heading", name="Log lines").is_visible()


def test_a_viewer_sees_no_device_changes(console: Console, login: Any) -> None:
    console.send_syslog(*LINES)
    device_id = _event_with(console, "example.org")["device_id"]
    page = login("viewer")
    page.goto("/devices")
    assert page.get_by_role("link", name="Add a device").count() == 0
    page.goto(f"/devices/{device_id}")
    assert page.get_by_role("button", name="Delete").count() == 0
    assert page.get_by_role("link", name="Edit").count() == 0
    name, password = console.user("viewer")
    token = httpx.post(
        f"{console.url}/api/v1/auth/login", json={"username": name, "password": password}
    ).json()["access_token"]
    for path in ("/devices/new", f"/devices/{device_id}/edit"):
        answer = httpx.get(
            console.url + path,
            headers={"Authorization": f"Bearer {token}", "Accept": "text/html"},
        )
        assert answer.status_code == 403, path
    # a tail for a viewer (events:read) works and is bounded
    answer = httpx.get(
        console.url + "/events/tail",
        params={"after": "0" * 26},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 200
    assert answer.json()["count"] <= 200
