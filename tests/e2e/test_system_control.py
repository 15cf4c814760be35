"""Heartbeats reach the agents API, and stages stop and start through the control API."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx
from tests.e2e.conftest import all_events, wait_for_events


async def _agents_heard(api: httpx.AsyncClient, timeout: float = 20.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    items: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        response = await api.get("/api/v1/agents")
        assert response.status_code == 200, response.text
        items = response.json()["items"]
        if items and all(item["last_seen"] for item in items):
            return items
        await asyncio.sleep(0.2)
    raise AssertionError(f"no heartbeat recorded: {items}")


async def test_agent_heartbeats_show_as_last_seen(api: httpx.AsyncClient) -> None:
    started = time.time()
    items = await _agents_heard(api)
    assert {item["name"] for item in items} >= {"wifi", "security", "system"}
    for item in items:
        assert item["status"] == "ok"
        assert item["stale"] is False
        assert item["last_seen"] >= started - 60
    status = (await api.get("/api/v1/system/status")).json()
    assert status["bus"]["reachable"] and status["database"]["reachable"]
    assert {"store", "parse", "agents", "api"} <= set(status["running"])
    versions = status["versions"]
    if status["bus"]["kind"] == "jetstream":
        assert versions["nats"].startswith("NATS 2.")
    assert versions["database"].split()[0] in ("SQLite", "PostgreSQL")


async def test_a_stage_stops_and_starts_through_the_api(api: httpx.AsyncClient) -> None:
    stopped = await api.post("/api/v1/system/control/stop", json={"stage": "parse"})
    assert stopped.status_code == 200, stopped.text
    assert "parse" not in stopped.json()["running"]
    token = uuid.uuid4().hex
    line = f"<30>Oct 11 22:14:15 r1 dnsmasq[1]: held while parse is stopped {token}\n"
    sent = await api.post("/api/v1/logs", content=line, headers={"content-type": "text/plain"})
    assert sent.status_code == 202
    await asyncio.sleep(0.5)
    assert await all_events(api, q=token) == []
    started = await api.post("/api/v1/system/control/start", json={"stage": "parse"})
    assert started.status_code == 200
    assert "parse" in started.json()["running"]
    (event,) = await wait_for_events(api, 1, q=token)
    assert event["program"] == "dnsmasq"
    refused = await api.post("/api/v1/system/control/stop", json={"stage": "api"})
    assert refused.status_code == 409
