"""Rules API: create, read, list, replace, enable/disable, delete and validate — on both databases.

Every change must be announced on ``control.reload.rules`` after it is stored; a refused
change must announce nothing.
"""

from __future__ import annotations

import time
from typing import Any

from tests.api.conftest import Api

from opsconductor.agents.repository import enabled_rules, seed_packs
from opsconductor.agents.rules import parse_rule
from opsconductor.messages import ControlMessage


def rule_doc(rule_id: str = "security.ssh_failed", **overrides: Any) -> dict[str, Any]:
    """A valid match rule; keyword arguments replace its keys."""
    document: dict[str, Any] = {
        "id": rule_id,
        "agent": "security",
        "title": "Failed SSH login from {src}",
        "severity": "warning",
        "kind": "match",
        "match": {
            "program": ["dropbear"],
            "message": "bad password attempt for .* from (?P<src>[0-9a-f.:]+)",
        },
        "fingerprint": ["device_id", "src"],
    }
    document.update(overrides)
    return document


def threshold_doc(rule_id: str, agent: str = "security") -> dict[str, Any]:
    """A valid threshold rule."""
    return rule_doc(rule_id, agent=agent, kind="threshold", threshold={"count": 5, "window": "2m"})


async def reloads(api: Api, count: int) -> list[dict[str, str]]:
    """The args of the first ``count`` reload announcements (asserting there are no more)."""
    deliveries = await api.control.wait_for(count)
    assert len(deliveries) == count, [d.message for d in deliveries]
    found = []
    for delivery in deliveries:
        assert delivery.subject == "control.reload.rules"
        assert isinstance(delivery.message, ControlMessage)
        assert (delivery.message.verb, delivery.message.kind) == ("reload", "rules")
        found.append(delivery.message.args)
    return found


async def test_create_read_and_announce(api: Api) -> None:
    response = await api.client.post("/api/v1/rules", json=rule_doc())
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["id"] == "security.ssh_failed"
    assert (created["agent"], created["kind"], created["enabled"]) == ("security", "match", True)
    assert (created["origin"], created["revision"]) == ("user", 1)
    assert created["definition"]["match"]["program"] == ["dropbear"]
    assert await reloads(api, 1) == [{"rule_id": "security.ssh_failed"}]

    response = await api.client.get("/api/v1/rules/security.ssh_failed")
    assert response.status_code == 200
    assert response.json() == created
    async with api.sessions() as session:
        assert [rule.id for rule in await enabled_rules(session)] == ["security.ssh_failed"]


async def test_duplicate_id_is_a_conflict(api: Api) -> None:
    assert (await api.client.post("/api/v1/rules", json=rule_doc())).status_code == 201
    response = await api.client.post("/api/v1/rules", json=rule_doc(title="Other"))
    assert response.status_code == 409
    body = response.json()
    assert set(body) == {"error", "detail"}
    assert "security.ssh_failed" in body["detail"]
    assert len(await reloads(api, 1)) == 1
    got = await api.client.get("/api/v1/rules/security.ssh_failed")
    assert got.json()["definition"]["title"] == "Failed SSH login from {src}"


async def test_invalid_rules_are_refused_with_the_reason(api: Api) -> None:
    bad_regex = rule_doc(match={"program": "dropbear", "message": "bad (password"})
    response = await api.client.post("/api/v1/rules", json=bad_regex)
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "validation_failed"
    assert "security.ssh_failed" in body["detail"]
    assert "message" in body["detail"]

    for document in (
        rule_doc(fingerprint=["device_id", "no_such_field"]),
        rule_doc(kind="threshold"),
        rule_doc(agent="nobody"),
    ):
        response = await api.client.post("/api/v1/rules", json=document)
        assert response.status_code == 422, document
        assert isinstance(response.json()["detail"], str)
    assert (await api.client.post("/api/v1/rules", json=[1, 2])).status_code == 422
    assert (await api.client.get("/api/v1/rules")).json()["items"] == []
    assert api.control.deliveries == []


async def test_validate_does_not_store(api: Api) -> None:
    response = await api.client.post("/api/v1/rules/validate", json=rule_doc())
    assert response.status_code == 200
    assert response.json()["valid"] is True
    assert response.json()["rule"]["id"] == "security.ssh_failed"
    bad = rule_doc(match={"message": "(?P<src>"})
    response = await api.client.post("/api/v1/rules/validate", json=bad)
    assert response.status_code == 422
    assert "security.ssh_failed" in response.json()["detail"]
    assert (await api.client.get("/api/v1/rules/security.ssh_failed")).status_code == 404
    assert api.control.deliveries == []


async def test_replace(api: Api) -> None:
    await api.client.post("/api/v1/rules", json=rule_doc())
    changed = rule_doc(severity="major", title="SSH password failure from {src}")
    del changed["id"]  # the path names the rule
    response = await api.client.put("/api/v1/rules/security.ssh_failed", json=changed)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["revision"] == 2
    assert body["definition"]["severity"] == "major"
    assert body["updated_at"] >= body["created_at"]
    assert await reloads(api, 2) == [{"rule_id": "security.ssh_failed"}] * 2

    other = await api.client.put("/api/v1/rules/security.ssh_failed", json=rule_doc("x.y"))
    assert other.status_code == 400
    assert "x.y" in other.json()["detail"]
    missing = await api.client.put("/api/v1/rules/nope", json=rule_doc("nope"))
    assert missing.status_code == 404
    invalid = await api.client.put(
        "/api/v1/rules/security.ssh_failed", json=rule_doc(match={"message": "["})
    )
    assert invalid.status_code == 422
    got = (await api.client.get("/api/v1/rules/security.ssh_failed")).json()
    assert (got["revision"], got["definition"]["severity"]) == (2, "major")
    assert len(api.control.deliveries) == 2


async def test_enable_and_disable(api: Api) -> None:
    await api.client.post("/api/v1/rules", json=rule_doc())
    response = await api.client.patch("/api/v1/rules/security.ssh_failed", json={"enabled": False})
    assert response.status_code == 200
    body = response.json()
    assert (body["enabled"], body["revision"], body["definition"]["enabled"]) == (False, 2, False)
    async with api.sessions() as session:
        assert await enabled_rules(session) == []
    assert len(await reloads(api, 2)) == 2

    again = await api.client.patch("/api/v1/rules/security.ssh_failed", json={"enabled": False})
    assert again.json()["revision"] == 2  # no change, no new revision, no announcement
    for patch in ({"enabled": "maybe"}, {"enabled": True, "title": "x"}, {}):
        bad = await api.client.patch("/api/v1/rules/security.ssh_failed", json=patch)
        assert bad.status_code == 422, patch
        assert bad.json()["error"] == "validation_failed"
    assert (await api.client.patch("/api/v1/rules/nope", json={"enabled": True})).status_code == 404

    back = await api.client.patch("/api/v1/rules/security.ssh_failed", json={"enabled": True})
    assert back.json()["revision"] == 3
    async with api.sessions() as session:
        assert [rule.enabled for rule in await enabled_rules(session)] == [True]
    assert len(await reloads(api, 3)) == 3


async def test_delete(api: Api) -> None:
    await api.client.post("/api/v1/rules", json=rule_doc())
    response = await api.client.delete("/api/v1/rules/security.ssh_failed")
    assert response.status_code == 204
    assert (await api.client.get("/api/v1/rules/security.ssh_failed")).status_code == 404
    missing = await api.client.delete("/api/v1/rules/security.ssh_failed")
    assert missing.status_code == 404
    assert missing.json() == {"error": "not_found", "detail": "no rule 'security.ssh_failed'"}
    assert len(await reloads(api, 2)) == 2


async def _seed(api: Api) -> None:
    pack = [
        parse_rule(rule_doc("pack.match")),
        parse_rule(threshold_doc("pack.threshold", agent="wifi")),
        parse_rule(rule_doc("pack.off", enabled=False)),
    ]
    async with api.sessions() as session, session.begin():
        assert await seed_packs(session, {"test": pack}, time.time()) == 3
    for document in (rule_doc("user.a"), threshold_doc("user.b")):
        assert (await api.client.post("/api/v1/rules", json=document)).status_code == 201


async def _ids(api: Api, **params: Any) -> list[str]:
    response = await api.client.get("/api/v1/rules", params=params)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


async def test_list_filters_and_pages(api: Api) -> None:
    await _seed(api)
    assert await _ids(api) == ["pack.match", "pack.off", "pack.threshold", "user.a", "user.b"]
    assert await _ids(api, agent="wifi") == ["pack.threshold"]
    assert await _ids(api, kind="threshold") == ["pack.threshold", "user.b"]
    assert await _ids(api, enabled="false") == ["pack.off"]
    assert await _ids(api, origin="pack") == ["pack.match", "pack.off", "pack.threshold"]
    assert await _ids(api, origin="pack:test", kind="match") == ["pack.match", "pack.off"]
    assert await _ids(api, origin="user") == ["user.a", "user.b"]

    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await api.client.get("/api/v1/rules", params=params)).json()
        assert len(page["items"]) <= 2
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == await _ids(api)
    bad = await api.client.get("/api/v1/rules", params={"cursor": "garbage!"})
    assert bad.status_code == 400
    assert bad.json()["detail"] == "invalid cursor"


async def test_seeding_never_overwrites(api: Api) -> None:
    await _seed(api)
    changed = rule_doc("pack.match", severity="critical")
    assert (await api.client.put("/api/v1/rules/pack.match", json=changed)).status_code == 200
    await api.client.delete("/api/v1/rules/pack.off")
    pack = [parse_rule(rule_doc("pack.match")), parse_rule(rule_doc("pack.off", enabled=False))]
    async with api.sessions() as session, session.begin():
        assert await seed_packs(session, {"test": pack}, time.time()) == 1
    kept = (await api.client.get("/api/v1/rules/pack.match")).json()
    assert (kept["definition"]["severity"], kept["origin"], kept["revision"]) == (
        "critical",
        "pack:test",
        2,
    )
    assert (await api.client.get("/api/v1/rules/pack.off")).json()["revision"] == 1
