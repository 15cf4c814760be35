"""Agents & rules in a real browser: the lists, a rule's page, and the editor — validate, test
on pasted lines and stored events before saving, save, disable — as admin, operator and viewer
(who reads rules but has no Test panel: a trial needs rules:write).
"""

from __future__ import annotations

import json
from typing import Any

import httpx
from tests.web.conftest import Console, shoot

MATCHING = (
    "<86>Jan 10 10:00:01 gw dropbear[77]: Login attempt: bad password attempt for 'root' "
    "from 10.0.0.5:2222"
)
OTHER = "<86>Jan 10 10:00:30 gw dropbear[77]: Child connection from 10.0.0.9:40000"
UNPARSEABLE = "<34>1 not-a-time gw app - - - hello"


def top(page: Any) -> None:
    """Scroll to the top so the sticky header sits where it belongs in a full-page shot."""
    page.evaluate("window.scrollTo(0, 0)")


def rule_doc(rule_id: str, **overrides: Any) -> dict[str, Any]:
    """A match rule on failed dropbear passwords."""
    document: dict[str, Any] = {
        "id": rule_id,
        "agent": "security",
        "title": "Web test: failed SSH login from {src}",
        "description": "Made by the console test.",
        "severity": "minor",
        "kind": "match",
        "match": {
            "program": ["dropbear"],
            "message": "bad password attempt for .* from (?P<src>[0-9a-f.:]+)",
        },
        "fingerprint": ["device_id", "src"],
    }
    document.update(overrides)
    return document


def test_admin_writes_tests_saves_and_disables_a_rule(console: Console, login: Any) -> None:
    page = login("admin")
    page.goto("/rules")
    assert page.get_by_role("heading", name="Agents & rules").is_visible()
    page.get_by_role("link", name="security", exact=True).first.wait_for()
    shoot(page, "rules")

    page.get_by_role("link", name="New rule").click()
    page.wait_for_url("**/rules/new")
    editor = page.get_by_label("Rule (JSON)")
    editor.fill(json.dumps(rule_doc("web.ssh_failed", kind="threshold"), indent=2))
    page.get_by_role("button", name="Validate").click()
    problems = page.locator("ul.problems")
    problems.wait_for()
    assert "threshold" in problems.inner_text()
    assert editor.get_attribute("aria-invalid") == "true"

    editor.fill(json.dumps(rule_doc("web.ssh_failed"), indent=2))
    page.get_by_role("button", name="Validate").click()
    page.get_by_text("Valid.").wait_for()
    assert editor.get_attribute("aria-invalid") is None

    page.get_by_label("Log lines").fill(f"{MATCHING}\n{OTHER}\n{UNPARSEABLE}")
    page.get_by_role("button", name="Run test").click()
    result = page.locator("[data-test-result]")
    result.get_by_text("1 of 3 lines matched").wait_for()
    assert result.get_by_text("Web test: failed SSH login from 10.0.0.5:2222").is_visible()
    rows = result.locator("table.test-lines tbody tr")
    assert rows.count() == 3
    assert "✓ match" in rows.nth(0).inner_text()
    assert "no match" in rows.nth(1).inner_text()
    assert "not parsed" in rows.nth(2).inner_text()
    assert "Evidence: line 1" in result.inner_text()
    assert console.api.get("/api/v1/rules/web.ssh_failed").status_code == 404  # not saved yet
    top(page)
    shoot(page, "rule-editor")

    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**/rules/web.ssh_failed")
    assert page.get_by_role("heading", name="web.ssh_failed").is_visible()
    assert "bad password attempt" in page.locator("pre.definition").inner_text()
    saved = console.api.get("/api/v1/rules/web.ssh_failed").json()
    assert (saved["origin"], saved["enabled"], saved["definition"]["severity"]) == (
        "user", True, "minor",
    )  # fmt: skip

    # the saved rule on stored events: a matching line sent over syslog
    console.send_syslog(MATCHING.replace("Jan 10 10:00:01", "Jan 10 10:00:02"))
    console.wait_for("/api/v1/events?text=bad+password", lambda body: len(body["items"]) >= 1)
    page.get_by_label("Stored events").check()
    page.get_by_label("Time range").select_option(label="Last 15 min")
    page.get_by_role("button", name="Run test").click()
    page.locator("[data-test-result]").get_by_text("events matched").wait_for()
    assert "Web test: failed SSH login" in page.locator("ol.findings").inner_text()
    top(page)
    shoot(page, "rule-detail")

    page.goto("/rules?q=web.ssh")
    row = page.get_by_role("row").filter(has_text="web.ssh_failed")
    assert "enabled" in row.inner_text()
    page.get_by_role("button", name="Disable rule web.ssh_failed").click()
    page.get_by_role("button", name="Enable rule web.ssh_failed").wait_for()
    assert console.api.get("/api/v1/rules/web.ssh_failed").json()["enabled"] is False
    page.goto("/rules?enabled=off&agent=security")
    assert page.get_by_role("link", name="web.ssh_failed").is_visible()


def test_an_operator_edits_a_rule(console: Console, login: Any) -> None:
    console.api.post("/api/v1/rules", json=rule_doc("web.operator_edit")).raise_for_status()
    page = login("operator")
    page.goto("/rules/web.operator_edit")
    page.get_by_label("Log lines").fill(f"{MATCHING}\n{OTHER}")  # an operator may test it
    page.get_by_role("button", name="Run test").click()
    page.locator("[data-test-result]").get_by_text("1 of 2 lines matched").wait_for()
    page.get_by_role("link", name="Edit").click()
    page.wait_for_url("**/rules/web.operator_edit/edit")
    editor = page.get_by_label("Rule (JSON)")
    document = json.loads(editor.input_value())
    document["title"] = "Edited by an operator"
    document["severity"] = "major"
    editor.fill(json.dumps(document))
    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**/rules/web.operator_edit")
    assert page.get_by_role("heading", name="Edited by an operator").is_visible()
    saved = console.api.get("/api/v1/rules/web.operator_edit").json()
    assert (saved["revision"], saved["definition"]["severity"]) == (2, "major")

    page.goto("/rules/web.operator_edit/edit")
    page.get_by_label("Rule (JSON)").fill("{not json")
    page.get_by_role("button", name="Save").click()
    assert "JSON" in page.locator("ul.problems").inner_text()


def test_a_viewer_reads_but_cannot_change(console: Console, login: Any) -> None:
    console.api.post("/api/v1/rules", json=rule_doc("web.viewer_reads"))
    page = login("viewer")
    page.goto("/rules")
    assert page.get_by_role("link", name="web.viewer_reads").is_visible()
    assert page.get_by_role("link", name="New rule").count() == 0
    assert page.get_by_role("button", name="Disable").count() == 0
    assert page.get_by_role("button", name="Enable").count() == 0
    page.goto("/rules/web.viewer_reads")
    assert page.get_by_role("link", name="Edit").count() == 0
    assert page.get_by_role("button", name="Delete").count() == 0
    assert "bad password attempt" in page.locator("pre.definition").inner_text()
    # no Test panel: a trial runs the rule's regular expressions, which needs rules:write
    assert page.get_by_role("heading", name="Test", exact=True).count() == 0
    assert page.locator("form[data-rule-test]").count() == 0
    assert page.get_by_role("button", name="Run test").count() == 0
    name, password = console.user("viewer")
    token = httpx.post(
        f"{console.url}/api/v1/auth/login", json={"username": name, "password": password}
    ).json()["access_token"]
    refused = httpx.post(
        f"{console.url}/api/v1/rules/test",
        json={"rule": rule_doc("web.viewer_reads"), "lines": [MATCHING]},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert refused.status_code == 403
    for path in ("/rules/new", "/rules/web.viewer_reads/edit"):
        answer = page.request.get(path, headers={"Accept": "text/html"})
        assert answer.status == 403, path
        assert "Not allowed" in answer.text()
