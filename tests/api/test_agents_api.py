"""Agents API: the running agents register, their heartbeats become status and last_seen,
and disabling one takes effect in the running agents stage without a restart."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from tests.api.conftest import Api

from opsconductor.agents.consumer import AgentStage
from opsconductor.agents.rules import AGENTS
from opsconductor.config import Settings
from opsconductor.observability import Metrics
from opsconductor.store.consumer import StoreStage


@pytest.fixture
async def running(api: Api, tmp_path: Path) -> AsyncIterator[AgentStage]:
    """The agents stage and the store stage, beating fast, on the API's bus and database."""
    assert api.context.engine is not None
    settings = Settings(data_dir=tmp_path, agent_tick_seconds=0.1)
    agents = AgentStage(settings, api.bus, api.context.engine, api.sessions, Metrics())
    store = StoreStage(api.bus, api.sessions, Metrics(), retention_days=7, retention_interval=3600)
    await store.start()
    await agents.start()
    try:
        yield agents
    finally:
        await agents.stop()
        await store.stop()


async def _until(api: Api, path: str, check: Callable[[Any], bool], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    body: Any = None
    while time.monotonic() < deadline:
        response = await api.client.get(path)
        assert response.status_code == 200, response.text
        body = response.json()
        if check(body):
            return body
        await asyncio.sleep(0.05)
    raise AssertionError(f"{path} never matched: {body}")


async def test_agents_register_and_their_heartbeats_show(api: Api, running: AgentStage) -> None:
    body = await _until(
        api,
        "/api/v1/agents",
        lambda b: len(b["items"]) == len(AGENTS) and all(i["last_seen"] for i in b["items"]),
    )
    by_name = {item["name"]: item for item in body["items"]}
    assert set(by_name) == set(AGENTS)
    wifi = by_name["wifi"]
    assert wifi["enabled"] is True
    assert wifi["status"] == "ok"
    assert wifi["stale"] is False
    assert wifi["domain"] == "wifi"
    assert "findings.wifi" in wifi["subjects"]
    assert wifi["detail"]["rules"] > 0
    one = await api.client.get("/api/v1/agents/wifi")
    assert one.status_code == 200
    assert one.json()["name"] == "wifi"
    assert (await api.client.get("/api/v1/agents/nope")).status_code == 404


async def test_disabling_an_agent_takes_effect_without_a_restart(
    api: Api, running: AgentStage
) -> None:
    await _until(api, "/api/v1/agents/wifi", lambda b: b["status"] == "ok")
    assert running.runners["all"].agents["wifi"].engine.rules
    changed = await api.client.patch("/api/v1/agents/wifi", json={"enabled": False})
    assert changed.status_code == 200
    assert changed.json()["enabled"] is False
    reloads = await api.control.wait_for(1)
    assert reloads[-1].subject == "control.reload.agents"
    stopped = await _until(api, "/api/v1/agents/wifi", lambda b: b["status"] == "stopped")
    assert stopped["detail"]["rules"] == 0
    assert not running.runners["all"].agents["wifi"].engine.rules
    await api.client.patch("/api/v1/agents/wifi", json={"enabled": True})
    await _until(api, "/api/v1/agents/wifi", lambda b: b["status"] == "ok")


async def test_an_operator_description_survives_registration(api: Api, running: AgentStage) -> None:
    await _until(api, "/api/v1/agents", lambda b: len(b["items"]) == len(AGENTS))
    patched = await api.client.patch("/api/v1/agents/wan", json={"description": "uplinks"})
    assert patched.json()["description"] == "uplinks"
    await running.stop()
    await running.start()
    assert (await api.client.get("/api/v1/agents/wan")).json()["description"] == "uplinks"
    bad = await api.client.patch("/api/v1/agents/wan", json={"enabled": "maybe"})
    assert bad.status_code == 422
    assert bad.json()["error"] == "validation_failed"
    assert (await api.client.patch("/api/v1/agents/nope", json={})).status_code == 404


async def test_an_agent_never_heard_is_stale(api: Api) -> None:
    assert (await api.client.get("/api/v1/agents")).json() == {"items": []}
