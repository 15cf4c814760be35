"""The live feed (``/api/v1/ws``) of a running product, on both deployments: an alert change
reaches a subscribed client within a second of its finding; a client that does not read is
closed while a thousand idle connections and a normal client carry on; credentials and
subscriptions are checked."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import pytest
from tests.conftest import admin_client
from tests.e2e.conftest import running_product
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from opsconductor.api.live import TOPICS
from opsconductor.auth.roles import GRANTS, allowed
from opsconductor.bus import subjects
from opsconductor.ids import new_ulid
from opsconductor.messages import Finding, FindingBatch, Heartbeat
from opsconductor.runtime import Runtime


def ws_url(product: Runtime, query: str = "") -> str:
    """The product's live-feed address."""
    assert product.http_url is not None
    return product.http_url.replace("http://", "ws://", 1) + "/api/v1/ws" + query


def admin_headers(api: httpx.AsyncClient) -> dict[str, str]:
    """The admin's credentials, as the fixture's HTTP client sends them."""
    return {"Authorization": api.headers["Authorization"]}


async def subscribe(client: ClientConnection, *types: str) -> dict[str, Any]:
    """Subscribe and return the server's ack."""
    await client.send(json.dumps({"subscribe": list(types)}))
    return await next_frame(client, "subscribed")


async def next_frame(client: ClientConnection, kind: str, timeout: float = 5.0) -> dict[str, Any]:
    """The next frame of type ``kind`` (others are skipped)."""
    async with asyncio.timeout(timeout):
        while True:
            data: dict[str, Any] = json.loads(await client.recv())
            if data["type"] == kind:
                return data


def problem(fingerprint: str, kind: str = "problem") -> Finding:
    """A problem finding that opens an alert of its own (or, ``kind="clear"``, clears it)."""
    now = time.time()
    return Finding(
        id=new_ulid(), rule_id="test.live", agent="system", domain="system", kind=kind,
        device_id="dev-live", host="r1", severity="major", title=f"live {fingerprint}",
        summary="", fingerprint=fingerprint, labels={}, evidence=[], observed_at=now,
        detected_at=now,
    )  # fmt: skip


async def test_an_alert_change_reaches_a_subscriber_within_a_second(
    product: Runtime, api: httpx.AsyncClient
) -> None:
    assert product.bus is not None
    async with connect(ws_url(product), additional_headers=admin_headers(api)) as client:
        ack = await subscribe(client, "alert", "finding")
        assert ack["types"] == ["alert", "finding"]
        latencies = []
        for round_ in range(3):
            finding = problem(f"fp-live-{round_}-{new_ulid()}")
            batch = FindingBatch(id=new_ulid(), findings=[finding])
            started = time.perf_counter()
            await product.bus.publish(subjects.findings("system"), batch, msg_id=batch.id)
            seen = await next_frame(client, "finding", timeout=2)
            assert seen["data"]["id"] == finding.id
            created = await next_frame(client, "alert.created", timeout=2)
            latencies.append(time.perf_counter() - started)
            assert created["data"]["fingerprint"] == finding.fingerprint
            assert created["data"]["change"] == "new"
            assert created["data"]["status"] == "firing"
    print(f"finding → alert.created on the WebSocket: {[f'{s * 1000:.0f} ms' for s in latencies]}")
    assert max(latencies) < 1.0


async def test_a_clear_resolves_and_a_heartbeat_is_a_status_frame(
    product: Runtime, api: httpx.AsyncClient
) -> None:
    assert product.bus is not None
    async with connect(ws_url(product), additional_headers=admin_headers(api)) as client:
        await subscribe(client, "alert", "status")
        fingerprint = f"fp-clear-{new_ulid()}"
        for kind, expected in (("problem", "alert.created"), ("clear", "alert.resolved")):
            batch = FindingBatch(id=new_ulid(), findings=[problem(fingerprint, kind)])
            await product.bus.publish(subjects.findings("system"), batch, msg_id=batch.id)
            frame = await next_frame(client, expected)
            assert frame["data"]["fingerprint"] == fingerprint
        assert frame["data"]["status"] == "resolved"
        beat = Heartbeat(component="test-probe", kind="stage", at=time.time(), status="ok")
        await product.bus.publish(subjects.status("test-probe"), beat, msg_id=new_ulid())
        while (status := await next_frame(client, "status"))["data"]["component"] != "test-probe":
            pass
        assert status["data"]["status"] == "ok"


async def test_stopping_the_product_closes_the_feed_with_1001(
    stack_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, clean_env: None
) -> None:
    async with running_product(stack_env, monkeypatch) as runtime:
        assert runtime.http_url is not None
        async with admin_client(runtime.http_url) as api:
            headers = admin_headers(api)
        client = await connect(ws_url(runtime), additional_headers=headers)
        await subscribe(client, "alert")
        started = time.monotonic()
        await runtime.stop()
        stopped = time.monotonic() - started
    with pytest.raises(ConnectionClosed) as closed:
        await client.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
    assert stopped < 10


async def test_without_credentials_the_server_closes_with_4401(product: Runtime) -> None:
    for query, headers in (("", {}), ("?token=not-a-token", {}), ("", {"X-API-Key": "nope"})):
        async with connect(ws_url(product, query), additional_headers=headers) as client:
            with pytest.raises(ConnectionClosed) as closed:
                await client.recv()
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 4401
        assert closed.value.rcvd.reason


async def test_revoking_a_key_closes_its_open_connection(
    product: Runtime, api: httpx.AsyncClient
) -> None:
    created = (await api.post("/api/v1/keys", json={"name": "wall", "role": "viewer"})).json()
    headers = {"X-API-Key": created["key"]}
    async with connect(ws_url(product), additional_headers=headers) as client:
        await subscribe(client, "alert")
        assert (await api.delete(f"/api/v1/keys/{created['id']}")).status_code == 200
        with pytest.raises(ConnectionClosed) as closed:
            async with asyncio.timeout(15):
                while True:
                    await client.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
    assert "revoked" in closed.value.rcvd.reason


async def test_a_token_in_the_query_and_an_api_key_in_a_header_are_accepted(
    product: Runtime, api: httpx.AsyncClient
) -> None:
    token = api.headers["Authorization"].removeprefix("Bearer ")
    async with connect(ws_url(product, f"?token={token}")) as client:
        assert (await subscribe(client, "status"))["types"] == ["status"]
    created = await api.post("/api/v1/keys", json={"name": "wall display", "role": "viewer"})
    assert created.status_code == 201, created.text
    headers = {"X-API-Key": created.json()["key"]}
    async with connect(ws_url(product), additional_headers=headers) as client:
        ack = await subscribe(client, "alert", "finding", "status")
        assert ack["types"] == ["alert", "finding", "status"]


async def test_an_unknown_subscription_type_is_refused_without_a_disconnect(
    product: Runtime, api: httpx.AsyncClient
) -> None:
    async with connect(ws_url(product), additional_headers=admin_headers(api)) as client:
        await client.send(json.dumps({"subscribe": ["alert", "gossip"]}))
        error = await next_frame(client, "error")
        assert (error["error"], error["subscription"]) == ("bad_request", "gossip")
        assert (await next_frame(client, "subscribed"))["types"] == ["alert"]
        await client.send("not json")
        assert (await next_frame(client, "error"))["error"] == "bad_request"
        await client.send(json.dumps({"unsubscribe": ["alert"]}))
        assert (await next_frame(client, "subscribed"))["types"] == []


REFUSED = [
    (role.value, name)
    for role in GRANTS
    for name, topic in TOPICS.items()
    if not allowed(role, topic.permission)
]
"""(role, subscription type) pairs the permission matrix refuses."""


@pytest.mark.skipif(
    not REFUSED,
    reason="every role grants alerts:read, findings:read and system:read, so no role can be "
    "refused a subscription; this runs once the matrix refuses one",
)
@pytest.mark.parametrize(("role", "refused"), REFUSED or [("none", "none")])
async def test_a_type_the_role_may_not_read_is_refused_without_a_disconnect(
    product: Runtime, api: httpx.AsyncClient, role: str, refused: str
) -> None:
    created = await api.post("/api/v1/keys", json={"name": f"{role} key", "role": role})
    assert created.status_code == 201, created.text
    headers = {"X-API-Key": created.json()["key"]}
    async with connect(ws_url(product), additional_headers=headers) as client:
        await client.send(json.dumps({"subscribe": [refused]}))
        error = await next_frame(client, "error")
        assert (error["error"], error["subscription"]) == ("forbidden", refused)
        assert refused not in (await next_frame(client, "subscribed"))["types"]
