"""Findings and alerts API: filters, pages, evidence, history and the operator's actions.

Findings, alerts and history rows are written to the real store as the alert engine would;
the actions go through the real ``alerts.service`` and must be published on the real bus.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from tests.api.conftest import Api

from opsconductor.alerts.decision import Policy
from opsconductor.alerts.service import AlertEngine
from opsconductor.alerts.suppression import Suppressor
from opsconductor.ids import new_ulid, ulid_block
from opsconductor.messages import AlertChangeBatch, Event, Finding
from opsconductor.store import add_events
from opsconductor.store.tables import alert_history, alerts, findings

T0 = 1_700_000_000.0


def event(event_id: str, message: str, device: str = "dev-1") -> Event:
    """A stored log line that a finding can name as evidence."""
    return Event(
        event_id, T0, T0, "syslog-udp", "192.0.2.1:514", device, "ap-1", 10, 5,
        "dropbear", "1", "", message, {}, {}, "rfc3164", "ok", "security",
    )  # fmt: skip


def finding_row(finding_id: str, **overrides: Any) -> dict[str, Any]:
    """A row of ``findings``; keyword arguments replace columns."""
    row: dict[str, Any] = {
        "id": finding_id, "rule_id": "security.ssh", "agent": "security", "domain": "security",
        "kind": "problem", "device_id": "dev-1", "host": "ap-1", "severity": "major",
        "title": "SSH brute force", "summary": "", "fingerprint": "fp-1",
        "labels": {"device_id": "dev-1"}, "evidence": [], "count": 1, "window_seconds": 0.0,
        "observed_at": T0, "detected_at": T0, "alert_id": None,
    }  # fmt: skip
    row.update(overrides)
    return row


def alert_row(alert_id: str, **overrides: Any) -> dict[str, Any]:
    """A firing alert row of ``alerts``; keyword arguments replace columns."""
    row: dict[str, Any] = {
        "id": alert_id, "fingerprint": f"fp-{alert_id}", "rule_id": "security.ssh",
        "agent": "security", "domain": "security", "device_id": "dev-1", "host": "ap-1",
        "title": "SSH brute force", "summary": "", "labels": {}, "status": "firing",
        "severity": "major", "base_severity": "major", "flapping": False, "suppressed_by": "",
        "occurrences": 1, "first_seen": T0, "last_seen": T0, "resolved_at": None,
        "transitions": [], "last_notified_at": None, "acknowledged_by": None,
        "acknowledged_at": None, "assignee": None, "last_finding_id": "", "updated_at": T0,
    }  # fmt: skip
    row.update(overrides)
    return row


async def insert(api: Api, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """Write ``rows`` to ``table`` in one committed transaction."""
    async with api.sessions() as session, session.begin():
        await session.execute(sa.insert(table), rows)


@pytest.fixture
def ids() -> Iterator[str]:
    """Ascending ULIDs: a later one is a newer row."""
    return iter(ulid_block(1000, T0))


async def walk(api: Api, path: str, **params: Any) -> list[str]:
    """Ids of every item of a listing, following the cursor two items at a time."""
    seen: list[str] = []
    cursor = None
    while True:
        query = {**params, "limit": 2, **({"cursor": cursor} if cursor else {})}
        response = await api.client.get(path, params=query)
        assert response.status_code == 200, response.text
        page = response.json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return seen


async def test_findings_filters_pages_and_evidence(api: Api, ids: Iterator[str]) -> None:
    lines = [event(next(ids), f"bad password attempt {n}") for n in range(3)]
    async with api.sessions() as session, session.begin():
        await add_events(session, lines)
    evidence = [lines[2].id, "01ZZZZZZZZZZZZZZZZZZZZZZZZ", lines[0].id]  # one already deleted
    f1, f2, f3 = next(ids), next(ids), next(ids)
    await insert(
        api,
        findings,
        [
            finding_row(f1, evidence=evidence, count=3, alert_id="A1"),
            finding_row(f2, kind="clear", severity="info", device_id="dev-2"),
            finding_row(f3, agent="wifi", domain="wifi", rule_id="wifi.deauth", severity="minor"),
        ],
    )
    assert await walk(api, "/api/v1/findings") == [f3, f2, f1]
    assert await walk(api, "/api/v1/findings", agent="wifi") == [f3]
    assert await walk(api, "/api/v1/findings", device="dev-2") == [f2]
    assert await walk(api, "/api/v1/findings", kind="problem") == [f3, f1]
    assert await walk(api, "/api/v1/findings", severity="major,minor") == [f3, f1]
    assert await walk(api, "/api/v1/findings", rule="security.ssh", alert="A1") == [f1]
    assert await walk(api, "/api/v1/findings", since=T0 + 3600) == []
    assert await walk(api, "/api/v1/findings", until="2000-01-01T00:00:00Z") == []

    response = await api.client.get(f"/api/v1/findings/{f1}")
    assert response.status_code == 200
    body = response.json()
    assert body["evidence"] == evidence
    assert [e["id"] for e in body["events"]] == [lines[2].id, lines[0].id]
    assert body["events"][0]["message"] == "bad password attempt 2"
    assert body["events"][0]["severity_name"] == "notice"

    missing = await api.client.get("/api/v1/findings/nope")
    assert (missing.status_code, missing.json()["error"]) == (404, "not_found")
    for params in ({"severity": "huge"}, {"kind": "other"}, {"since": "yesterday"}):
        bad = await api.client.get("/api/v1/findings", params=params)
        assert bad.status_code == 400, params
        assert next(iter(params)) in bad.json()["detail"]


async def test_alerts_filters_and_pages(api: Api, ids: Iterator[str]) -> None:
    a1, a2, a3, a4 = (next(ids) for _ in range(4))
    await insert(
        api,
        alerts,
        [
            alert_row(a1, status="resolved", resolved_at=T0 + 60, last_seen=T0 + 50),
            alert_row(a2, acknowledged_by="ops", acknowledged_at=T0, assignee="kim"),
            alert_row(a3, suppressed_by="silence:S1", severity="critical", device_id="dev-2"),
            alert_row(a4, flapping=True, agent="wifi", domain="wifi", rule_id="wifi.flap",
                      first_seen=T0 + 500, last_seen=T0 + 900),
        ],
    )  # fmt: skip
    path = "/api/v1/alerts"
    assert await walk(api, path) == [a4, a3, a2, a1]
    assert await walk(api, path, status="firing") == [a4, a3, a2]
    assert await walk(api, path, status="resolved,firing") == [a4, a3, a2, a1]
    assert await walk(api, path, severity="critical") == [a3]
    assert await walk(api, path, device="dev-2") == [a3]
    assert await walk(api, path, rule="wifi.flap") == [a4]
    assert await walk(api, path, agent="wifi") == [a4]
    assert await walk(api, path, domain="security") == [a3, a2, a1]
    assert await walk(api, path, acknowledged="true") == [a2]
    assert await walk(api, path, acknowledged="false") == [a4, a3, a1]
    assert await walk(api, path, suppressed="true") == [a3]
    assert await walk(api, path, flapping="true") == [a4]
    assert await walk(api, path, assignee="kim") == [a2]
    assert await walk(api, path, since=T0 + 100) == [a4]
    assert await walk(api, path, until=T0 + 100) == [a3, a2, a1]
    bad = await api.client.get(path, params={"status": "open"})
    assert bad.status_code == 400
    assert "status" in bad.json()["detail"]
    assert (await api.client.get(path, params={"cursor": "x"})).status_code == 400


async def test_alert_detail_has_its_history(api: Api, ids: Iterator[str]) -> None:
    alert_id = next(ids)
    await insert(api, alerts, [alert_row(alert_id)])
    history = [
        {"id": next(ids), "alert_id": alert_id, "at": T0 + n, "change": change,
         "status": "firing", "severity": "major", "actor": "system", "detail": "",
         "finding_id": None}
        for n, change in enumerate(["new", "repeat"])
    ]  # fmt: skip
    await insert(api, alert_history, history)
    response = await api.client.get(f"/api/v1/alerts/{alert_id}")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == alert_id
    assert [entry["change"] for entry in body["history"]] == ["new", "repeat"]
    missing = await api.client.get("/api/v1/alerts/nope")
    assert missing.json() == {"error": "not_found", "detail": "no alert 'nope'"}


async def published(api: Api, count: int) -> list[tuple[str, str, str]]:
    """``(subject, change, alert_id)`` of the first ``count`` alert changes on the bus."""
    found = []
    for delivery in await api.alerts.wait_for(count):
        assert isinstance(delivery.message, AlertChangeBatch)
        (change,) = delivery.message.changes
        found.append((delivery.subject, change.change, change.alert_id))
    return found


async def test_operator_actions(api: Api, ids: Iterator[str]) -> None:
    alert_id = next(ids)
    await insert(api, alerts, [alert_row(alert_id)])
    base = f"/api/v1/alerts/{alert_id}"

    acked = await api.client.post(f"{base}/acknowledge")
    assert acked.status_code == 200, acked.text
    assert acked.json()["acknowledged_by"] == "admin"
    assigned = await api.client.post(f"{base}/assign", json={"assignee": "kim"})
    assert assigned.json()["assignee"] == "kim"
    commented = await api.client.post(f"{base}/comments", json={"text": "looking at it"})
    assert commented.status_code == 200
    assert any(entry["detail"] == "looking at it" for entry in commented.json()["history"])
    unacked = await api.client.post(f"{base}/unacknowledge")
    assert unacked.json()["acknowledged_by"] is None
    resolved = await api.client.post(f"{base}/resolve", json={"comment": "fixed the ACL"})
    assert resolved.status_code == 200
    assert resolved.json()["status"] == "resolved"
    assert resolved.json()["history"][-1]["actor"] == "admin"

    changes = await published(api, 5)
    assert len(changes) == 5
    assert all(
        subject == f"alerts.{change}" and aid == alert_id for subject, change, aid in changes
    )
    stored = (await api.client.get(base)).json()
    assert len(stored["history"]) >= 5


async def test_resolve_without_a_body(api: Api, ids: Iterator[str]) -> None:
    alert_id = next(ids)
    await insert(api, alerts, [alert_row(alert_id)])
    response = await api.client.post(f"/api/v1/alerts/{alert_id}/resolve")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "resolved"
    assert len(await published(api, 1)) == 1


async def test_actions_refuse_unknown_alerts_and_bad_bodies(api: Api, ids: Iterator[str]) -> None:
    unknown = f"/api/v1/alerts/{new_ulid()}"
    for action, body in (
        ("acknowledge", None),
        ("unacknowledge", None),
        ("resolve", {}),
        ("comments", {"text": "x"}),
        ("assign", {"assignee": "kim"}),
    ):
        response = await api.client.post(f"{unknown}/{action}", json=body)
        assert response.status_code == 404, action
        assert response.json()["error"] == "not_found"
    alert_id = next(ids)
    await insert(api, alerts, [alert_row(alert_id)])
    base = f"/api/v1/alerts/{alert_id}"
    for action, body in (
        ("comments", {"text": ""}),
        ("comments", {}),
        ("assign", {"who": "kim"}),
        ("resolve", {"comment": 5}),
    ):
        response = await api.client.post(f"{base}/{action}", json=body)
        assert response.status_code == 422, (action, body)
        assert response.json()["error"] == "validation_failed"
    assert api.alerts.deliveries == []


async def test_what_the_alert_engine_stores_reads_back(api: Api, ids: Iterator[str]) -> None:
    """A finding applied by the real alert engine is served with its evidence and history."""
    line = event(next(ids), "bad password attempt for root from 198.51.100.7")
    finding = Finding(
        id=next(ids), rule_id="security.ssh", agent="security", domain="security",
        kind="problem", device_id="dev-1", host="ap-1", severity="major",
        title="SSH brute force from 198.51.100.7", summary="", fingerprint="fp-engine",
        labels={"device_id": "dev-1", "src": "198.51.100.7"}, evidence=[line.id],
        observed_at=T0, detected_at=T0 + 1, count=5, window_seconds=120.0,
    )  # fmt: skip
    async with api.sessions() as session, session.begin():
        await add_events(session, [line])
        changes = await AlertEngine(lambda _: Policy()).process(
            session, [finding], T0 + 1, Suppressor.empty()
        )
    (change,) = changes
    alert = (await api.client.get("/api/v1/alerts", params={"status": "firing"})).json()["items"]
    assert [item["id"] for item in alert] == [change.alert_id]
    assert alert[0]["labels"]["src"] == "198.51.100.7"
    detail = (await api.client.get(f"/api/v1/alerts/{change.alert_id}")).json()
    assert [entry["change"] for entry in detail["history"]] == ["new"]
    assert detail["history"][0]["finding_id"] == finding.id
    listed = await api.client.get("/api/v1/findings", params={"alert": change.alert_id})
    assert [item["id"] for item in listed.json()["items"]] == [finding.id]
    evidence = (await api.client.get(f"/api/v1/findings/{finding.id}")).json()["events"]
    assert [item["message"] for item in evidence] == [line.message]
