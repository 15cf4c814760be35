"""Silences and maintenance windows API: validation, state, expiry, pages and announcements.

Every change must be announced on ``control.reload.suppression`` after it is stored.
"""

from __future__ import annotations

import time
from typing import Any

from tests.api.conftest import Api

from opsconductor.alerts.loading import load_silences
from opsconductor.messages import ControlMessage

HOUR = 3600.0
MATCH_AP1 = [{"label": "device_id", "op": "=", "value": "ap-1"}]
WEEKLY = {"kind": "weekly", "days": ["sat"], "start": "02:00", "duration": 7200, "timezone": "UTC"}
ALWAYS = {"kind": "cron", "cron": "* * * * *", "duration": 120, "timezone": "UTC"}


async def announced(api: Api, count: int) -> list[dict[str, str]]:
    """The args of the first ``count`` suppression reloads (asserting there are no more)."""
    deliveries = await api.control.wait_for(count)
    assert len(deliveries) == count, [d.message for d in deliveries]
    for delivery in deliveries:
        assert delivery.subject == "control.reload.suppression"
        assert isinstance(delivery.message, ControlMessage)
        assert (delivery.message.verb, delivery.message.kind) == ("reload", "suppression")
    return [delivery.message.args for delivery in deliveries]  # type: ignore[union-attr]


def silence(**overrides: Any) -> dict[str, Any]:
    """A valid silence body for the next hour; keyword arguments replace keys."""
    body: dict[str, Any] = {"matchers": MATCH_AP1, "ends_at": time.time() + HOUR}
    body.update(overrides)
    return body


async def test_silence_lifecycle(api: Api) -> None:
    response = await api.client.post("/api/v1/silences", json=silence(comment="router swap"))
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["state"] == "active"
    assert created["author"] == "admin"
    assert created["matchers"] == MATCH_AP1
    assert abs(created["starts_at"] - time.time()) < 5
    silence_id = created["id"]
    assert await announced(api, 1) == [{"silence_id": silence_id}]
    async with api.sessions() as session:
        assert [s.id for s in await load_silences(session, time.time())] == [silence_id]

    later = time.time() + 2 * HOUR
    changed = await api.client.put(
        f"/api/v1/silences/{silence_id}",
        json=silence(starts_at="2100-01-01T00:00:00Z", ends_at="2100-01-02T00:00:00"),
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["state"] == "pending"
    assert changed.json()["starts_at"] > later

    expired = await api.client.delete(f"/api/v1/silences/{silence_id}")
    assert expired.status_code == 200
    body = expired.json()
    assert body["state"] == "expired"
    assert body["ends_at"] <= time.time() and body["starts_at"] <= body["ends_at"]
    assert (await api.client.get(f"/api/v1/silences/{silence_id}")).json()["state"] == "expired"
    again = await api.client.delete(f"/api/v1/silences/{silence_id}")
    assert again.status_code == 200
    assert len(await announced(api, 3)) == 3  # expiring twice announces once
    async with api.sessions() as session:
        assert await load_silences(session, time.time()) == []


async def test_silence_validation(api: Api) -> None:
    now = time.time()
    cases = [
        (silence(matchers=[]), "matcher"),
        (silence(matchers=[{"label": "host", "op": "=~", "value": ".*"}]), "every alert"),
        (silence(matchers=[{"label": "host", "op": "=~", "value": "("}]), "regular expression"),
        (silence(matchers=[{"label": "host", "op": "~", "value": "x"}]), "op"),
        (silence(starts_at=now + 2 * HOUR), "end after it starts"),
        (silence(ends_at=now - 10, starts_at=now - HOUR), "past"),
        (silence(ends_at="tomorrow"), "ends_at"),
        (silence(ends_at=""), "ends_at"),
        (silence(starts_at=""), "starts_at"),
    ]
    for body, words in cases:
        response = await api.client.post("/api/v1/silences", json=body)
        assert response.status_code == 400, (body, response.text)
        assert set(response.json()) == {"error", "detail"}
        assert words in response.json()["detail"], response.json()
    for body in ({"matchers": MATCH_AP1}, silence(extra=1), silence(matchers="x")):
        response = await api.client.post("/api/v1/silences", json=body)
        assert response.status_code == 422, body
    missing = await api.client.put("/api/v1/silences/01ZZZZZZZZZZZZZZZZZZZZZZZZ", json=silence())
    assert missing.status_code == 404
    assert (await api.client.delete("/api/v1/silences/nope")).status_code == 404
    assert (await api.client.get("/api/v1/silences")).json()["items"] == []
    assert api.control.deliveries == []


async def test_silence_listing(api: Api) -> None:
    now = time.time()
    ids = []
    for body in (silence(), silence(starts_at=now + HOUR, ends_at=now + 2 * HOUR), silence()):
        ids.append((await api.client.post("/api/v1/silences", json=body)).json()["id"])
    await api.client.delete(f"/api/v1/silences/{ids[2]}")

    async def listed(**params: Any) -> list[str]:
        response = await api.client.get("/api/v1/silences", params=params)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert await listed() == ids[::-1]
    assert await listed(state="active") == [ids[0]]
    assert await listed(state="pending") == [ids[1]]
    assert await listed(state="expired") == [ids[2]]
    first = (await api.client.get("/api/v1/silences", params={"limit": 2})).json()
    assert [item["id"] for item in first["items"]] == [ids[2], ids[1]]
    rest = await api.client.get("/api/v1/silences", params={"cursor": first["next_cursor"]})
    assert [item["id"] for item in rest.json()["items"]] == [ids[0]]
    assert rest.json()["next_cursor"] is None
    assert (await api.client.get("/api/v1/silences", params={"state": "old"})).status_code == 422


def window(**overrides: Any) -> dict[str, Any]:
    """A valid maintenance window body; keyword arguments replace keys."""
    body: dict[str, Any] = {
        "name": "HQ patch night",
        "scope": {"sites": ["hq"]},
        "schedule": WEEKLY,
    }
    body.update(overrides)
    return body


async def test_maintenance_window_lifecycle(api: Api) -> None:
    body = window(scope={"devices": ["ap-2", "ap-1", "ap-1"]}, comment="monthly")
    response = await api.client.post("/api/v1/maintenance-windows", json=body)
    assert response.status_code == 201, response.text
    created = response.json()
    window_id = created["id"]
    assert created["scope"] == {"devices": ["ap-1", "ap-2"]}
    assert (created["enabled"], created["author"], created["comment"]) == (True, "admin", "monthly")
    assert created["schedule"] == WEEKLY
    assert isinstance(created["open_now"], bool)

    changed = await api.client.put(
        f"/api/v1/maintenance-windows/{window_id}", json=window(schedule=ALWAYS, name="Always")
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["name"], changed.json()["open_now"]) == ("Always", True)
    off = await api.client.put(
        f"/api/v1/maintenance-windows/{window_id}", json=window(schedule=ALWAYS, enabled=False)
    )
    assert off.json()["open_now"] is False
    got = await api.client.get(f"/api/v1/maintenance-windows/{window_id}")
    assert got.json()["enabled"] is False
    listed = await api.client.get("/api/v1/maintenance-windows", params={"enabled": "false"})
    assert [item["id"] for item in listed.json()["items"]] == [window_id]
    enabled = await api.client.get("/api/v1/maintenance-windows", params={"enabled": "true"})
    assert enabled.json()["items"] == []

    assert (await api.client.delete(f"/api/v1/maintenance-windows/{window_id}")).status_code == 204
    gone = await api.client.get(f"/api/v1/maintenance-windows/{window_id}")
    assert gone.json() == {"error": "not_found", "detail": f"no maintenance window {window_id!r}"}
    assert (await api.client.delete(f"/api/v1/maintenance-windows/{window_id}")).status_code == 404
    assert await announced(api, 4) == [{"window_id": window_id}] * 4


async def test_maintenance_window_validation(api: Api) -> None:
    cases = [
        (window(scope={}), "at least one"),
        (window(scope={"racks": ["r1"]}), "scope"),
        (window(schedule={"kind": "weekly", "days": ["someday"], "start": "02:00",
                          "duration": 60}), "someday"),
        (window(schedule={**WEEKLY, "timezone": "Mars/Olympus"}), "timezone"),
        (window(schedule={"kind": "cron", "cron": "61 * * * *", "duration": 60}), "cron"),
        (window(schedule={**WEEKLY, "duration": 30 * 86400}), "duration"),
    ]  # fmt: skip
    for body, words in cases:
        response = await api.client.post("/api/v1/maintenance-windows", json=body)
        assert response.status_code == 400, (body, response.text)
        assert words in response.json()["detail"], response.json()
    for body in (window(name=""), window(scope={"sites": "hq"}), {"name": "x"}):
        response = await api.client.post("/api/v1/maintenance-windows", json=body)
        assert response.status_code == 422, body
    missing = await api.client.put("/api/v1/maintenance-windows/nope", json=window())
    assert missing.status_code == 404
    assert api.control.deliveries == []
