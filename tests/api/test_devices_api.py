"""Devices API: create with validation, read, change, delete, filters, pages and facets."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Api

from opsconductor.inventory.identity import device_id
from opsconductor.messages import ControlMessage


async def _create(api: Api, **fields: Any) -> dict[str, Any]:
    response = await api.client.post("/api/v1/devices", json=fields)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_created_device_takes_the_id_ingest_derives(api: Api) -> None:
    body = await _create(
        api,
        address="192.0.2.10",
        hostname="AP-Lobby",
        site="hq",
        groups=["aps", "floor1"],
        tags=["wifi"],
        description="lobby access point",
    )
    assert body["id"] == device_id("192.0.2.10", "AP-Lobby")
    assert body["name"] == "AP-Lobby"
    assert body["groups"] == ["aps", "floor1"]
    assert body["last_seen"] == 0
    got = await api.client.get(f"/api/v1/devices/{body['id']}")
    assert got.status_code == 200
    assert got.json() == body
    (reload,) = await api.control.wait_for(1)
    assert isinstance(reload.message, ControlMessage)
    assert reload.subject == "control.reload.devices"


async def test_creating_a_known_device_is_a_conflict(api: Api) -> None:
    await _create(api, address="192.0.2.11")
    again = await api.client.post("/api/v1/devices", json={"address": "192.0.2.11"})
    assert again.status_code == 409
    assert again.json()["error"] == "conflict"


async def test_bad_devices_are_refused_with_the_reason(api: Api) -> None:
    bad_bodies: list[dict[str, Any]] = [
        {"address": "not-an-ip"},
        {"address": "192.0.2.1", "name": ""},
        {"address": "192.0.2.1", "tags": ["x" * 65]},
        {"address": "192.0.2.1", "groups": "aps"},
        {"address": "192.0.2.1", "groups": [""]},
        {"address": "192.0.2.1", "colour": "red"},
        {"hostname": "ap"},
    ]
    for body in bad_bodies:
        response = await api.client.post("/api/v1/devices", json=body)
        assert response.status_code == 422, body
        assert response.json()["error"] == "validation_failed"
        assert response.json()["detail"]


async def test_a_device_is_changed_and_deleted(api: Api) -> None:
    created = await _create(api, address="2001:db8::1", hostname="gw")
    path = f"/api/v1/devices/{created['id']}"
    changed = await api.client.patch(path, json={"site": "branch", "tags": ["core", "core"]})
    assert changed.status_code == 200
    assert changed.json()["site"] == "branch"
    assert changed.json()["tags"] == ["core"]
    assert (await api.client.patch(path, json={"address": "192.0.2.9"})).status_code == 422
    assert (await api.client.patch(path, json={"name": None})).status_code in (400, 422)
    assert (await api.client.delete(path)).status_code == 204
    assert (await api.client.get(path)).status_code == 404
    assert (await api.client.delete(path)).status_code == 404
    assert (await api.client.patch(path, json={"site": "x"})).status_code == 404


async def test_devices_are_filtered_and_paged(api: Api) -> None:
    for n in range(5):
        await _create(
            api,
            address=f"198.51.100.{n}",
            hostname=f"sw-{n}",
            site="hq" if n % 2 else "lab",
            groups=["switches"] + (["core"] if n < 2 else []),
            tags=[f"rack{n}"],
        )

    async def names(**params: Any) -> list[str]:
        response = await api.client.get("/api/v1/devices", params=params)
        assert response.status_code == 200, response.text
        return [item["name"] for item in response.json()["items"]]

    assert await names(site="hq") == ["sw-1", "sw-3"]
    assert await names(group="core") == ["sw-0", "sw-1"]
    assert await names(tag="rack4") == ["sw-4"]
    assert await names(q="100.3") == ["sw-3"]
    assert await names(q="SW-2") == ["sw-2"]
    assert await names(q="%") == []
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await api.client.get("/api/v1/devices", params=params)).json()
        seen += [item["name"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [f"sw-{n}" for n in range(5)]
    bad = await api.client.get("/api/v1/devices", params={"cursor": "nonsense"})
    assert bad.status_code == 400


async def test_facets_count_devices(api: Api) -> None:
    await _create(api, address="203.0.113.1", site="hq", groups=["aps"], tags=["a", "b"])
    await _create(api, address="203.0.113.2", site="hq", groups=["aps", "core"], tags=["a"])
    await _create(api, address="203.0.113.3")
    sites = (await api.client.get("/api/v1/devices/sites")).json()
    groups = (await api.client.get("/api/v1/devices/groups")).json()
    tags = (await api.client.get("/api/v1/devices/tags")).json()
    assert sites == [{"value": "hq", "count": 2}]
    assert groups == [{"value": "aps", "count": 2}, {"value": "core", "count": 1}]
    assert tags == [{"value": "a", "count": 2}, {"value": "b", "count": 1}]
