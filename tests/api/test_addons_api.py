"""Addons API on both databases: install (new, same, new version, refusals), field errors,
list and read, enable/disable, delete, roles — and every change announced on
``control.reload.addons`` after it is stored, no refused change announced."""

from __future__ import annotations

import time
from typing import Any

from tests.api.conftest import Api

from opsconductor.addons.builtin_manifests import builtin_manifests
from opsconductor.addons.repository import enabled_manifests, seed_builtin
from opsconductor.messages import ControlMessage


def hook(version: str = "1.0.0", **overrides: Any) -> dict[str, Any]:
    """A valid webhook manifest; keyword arguments replace its keys."""
    document: dict[str, Any] = {
        "id": "site.hook",
        "name": "Site hook",
        "version": version,
        "method": "webhook",
        "parser": {"kind": "json", "fields": {"host": "host", "event": "event"}},
        "fingerprint": ["host", "event"],
        "device": {"field": "host"},
        "auth": {"type": "hmac"},
    }
    document.update(overrides)
    return document


async def reloads(api: Api, count: int) -> list[dict[str, str]]:
    """The args of the first ``count`` reload announcements (asserting there are no more)."""
    deliveries = await api.control.wait_for(count) if count else []
    assert len(api.control.deliveries) == count, [d.message for d in api.control.deliveries]
    found = []
    for delivery in deliveries:
        assert delivery.subject == "control.reload.addons"
        assert isinstance(delivery.message, ControlMessage)
        assert (delivery.message.verb, delivery.message.kind) == ("reload", "addons")
        found.append(delivery.message.args)
    return found


async def _seed(api: Api) -> None:
    async with api.sessions() as session:
        await seed_builtin(session, builtin_manifests(), time.time())
        await session.commit()


async def test_install_read_list_and_announce(api: Api) -> None:
    response = await api.client.post("/api/v1/addons", json=hook())
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["outcome"] == "installed"
    assert (body["id"], body["version"], body["method"]) == ("site.hook", "1.0.0", "webhook")
    assert (body["enabled"], body["builtin"]) == (True, False)
    assert body["webhook_path"] == "/api/v1/webhooks/site.hook"
    assert body["manifest"]["auth"] == {
        "type": "hmac", "header": "X-Signature", "algorithm": "sha256", "encoding": "hex",
    }  # fmt: skip
    assert await reloads(api, 1) == [{"addon_id": "site.hook"}]

    got = await api.client.get("/api/v1/addons/site.hook")
    assert got.status_code == 200
    assert got.json() == {k: v for k, v in body.items() if k != "outcome"}
    listed = (await api.client.get("/api/v1/addons")).json()["items"]
    assert [item["id"] for item in listed] == ["site.hook"]
    async with api.sessions() as session:
        assert [m.id for m in await enabled_manifests(session)] == ["site.hook"]

    same = await api.client.post("/api/v1/addons", json=hook())
    assert (same.status_code, same.json()["outcome"]) == (200, "unchanged")
    newer = await api.client.post("/api/v1/addons", json=hook("1.1.0", title="{event}"))
    assert (newer.status_code, newer.json()["outcome"]) == (200, "updated")
    assert newer.json()["manifest"]["title"] == "{event}"
    assert await reloads(api, 2) == [{"addon_id": "site.hook"}] * 2


async def test_an_invalid_manifest_is_422_by_field(api: Api) -> None:
    bad = hook(id="Bad Id", fingerprint=["nowhere"], auth={"type": "token", "secret": "x"})
    response = await api.client.post("/api/v1/addons", json=bad)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "validation_failed"
    assert [(p["loc"], p["type"]) for p in body["detail"]] == [
        (["id"], "value_error"), (["auth", "secret"], "extra_forbidden"),
    ]  # fmt: skip
    refs = await api.client.post("/api/v1/addons", json=hook(fingerprint=["host", "nowhere"]))
    assert refs.status_code == 422
    assert refs.json()["detail"] == [
        {
            "loc": ["fingerprint", 1],
            "msg": "unknown field 'nowhere'; known: body, event, host, source_address",
            "type": "value_error",
        }
    ]
    not_object = await api.client.post("/api/v1/addons", json=[hook()])
    assert not_object.status_code == 422
    assert (await api.client.get("/api/v1/addons")).json()["items"] == []
    await reloads(api, 0)


async def test_same_version_other_manifest_and_builtins_need_force(api: Api) -> None:
    await _seed(api)
    assert (await api.client.post("/api/v1/addons", json=hook())).status_code == 201
    changed = await api.client.post("/api/v1/addons", json=hook(title="{host}"))
    assert changed.status_code == 409
    assert "raise the version" in changed.json()["detail"]
    forced = await api.client.post("/api/v1/addons?force=true", json=hook(title="{host}"))
    assert (forced.status_code, forced.json()["outcome"]) == (200, "updated")

    custom = hook("7.0.0", id="alertmanager", match={"path": "am"})
    refused = await api.client.post("/api/v1/addons", json=custom)
    assert refused.status_code == 409
    assert "built in" in refused.json()["detail"]
    replaced = await api.client.post("/api/v1/addons?force=true", json=custom)
    assert replaced.status_code == 200
    assert (replaced.json()["builtin"], replaced.json()["webhook_path"]) == (
        False, "/api/v1/webhooks/am",
    )  # fmt: skip
    announced = [args["addon_id"] for args in await reloads(api, 3)]
    assert announced == ["site.hook", "site.hook", "alertmanager"]


async def test_builtins_listed_enabled_disabled_not_deleted(api: Api) -> None:
    await _seed(api)
    items = (await api.client.get("/api/v1/addons")).json()["items"]
    assert {i["id"]: i["builtin"] for i in items} == dict.fromkeys(builtin_manifests(), True)
    traps = (await api.client.get("/api/v1/addons?method=snmp_trap")).json()["items"]
    assert [i["id"] for i in traps] == ["generic-snmp"]
    assert traps[0]["webhook_path"] is None

    off = await api.client.patch("/api/v1/addons/grafana", json={"enabled": False})
    assert (off.status_code, off.json()["enabled"]) == (200, False)
    again = await api.client.patch("/api/v1/addons/grafana", json={"enabled": False})
    assert again.status_code == 200
    disabled = (await api.client.get("/api/v1/addons?enabled=false")).json()["items"]
    assert [i["id"] for i in disabled] == ["grafana"]
    bad = await api.client.patch("/api/v1/addons/grafana", json={"enabled": "no"})
    assert bad.status_code == 422
    missing = await api.client.patch("/api/v1/addons/nope", json={"enabled": True})
    assert missing.status_code == 404

    refused = await api.client.delete("/api/v1/addons/grafana")
    assert refused.status_code == 409
    assert "disable it" in refused.json()["detail"]
    assert (await api.client.post("/api/v1/addons", json=hook())).status_code == 201
    assert (await api.client.delete("/api/v1/addons/site.hook")).status_code == 204
    assert (await api.client.delete("/api/v1/addons/site.hook")).status_code == 404
    assert (await api.client.get("/api/v1/addons/site.hook")).status_code == 404
    assert await reloads(api, 3) == [{"addon_id": "grafana"}] + [{"addon_id": "site.hook"}] * 2


async def test_viewers_read_operators_write(api: Api) -> None:
    viewer = {"Authorization": f"Bearer {await api.token_for('viewer')}"}
    operator = {"Authorization": f"Bearer {await api.token_for('operator')}"}
    service = {"Authorization": f"Bearer {await api.token_for('service')}"}
    denied = await api.client.post("/api/v1/addons", json=hook(), headers=viewer)
    assert denied.status_code == 403
    created = await api.client.post("/api/v1/addons", json=hook(), headers=operator)
    assert created.status_code == 201
    assert (await api.client.get("/api/v1/addons", headers=viewer)).status_code == 200
    assert (await api.client.get("/api/v1/addons", headers=service)).status_code == 403
    assert await reloads(api, 1) == [{"addon_id": "site.hook"}]
