"""System status and stage control: components, reachability, versions, lag; start, stop,
restart and reload of stages."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tests.api.conftest import Api

from opsconductor.config import Settings
from opsconductor.heartbeats import HeartbeatBoard, heartbeat, send
from opsconductor.runtime import Runtime, RuntimeControl


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[Runtime]:
    """A runtime of the store and parse stages, without HTTP."""
    settings = Settings(data_dir=tmp_path / "rt", http_port=0, agent_tick_seconds=0.1)
    runtime = Runtime.for_stages(settings, ["store", "parse"])
    await runtime.start()
    try:
        yield runtime
    finally:
        await runtime.stop()


async def test_status_without_stage_control(api: Api) -> None:
    response = await api.client.get("/api/v1/system/status")
    assert response.status_code == 200
    body = response.json()
    assert body["deployment"] == "embedded"
    assert body["bus"] == {"kind": "memory", "reachable": True}
    assert body["database"]["reachable"] is True
    versions = body["versions"]
    assert versions["product"] and versions["python"]
    assert versions["database"].split()[0] in ("SQLite", "PostgreSQL")
    assert versions["nats"] is None
    assert "test-control" in body["lag"]
    refused = await api.client.post("/api/v1/system/control/stop", json={"stage": "parse"})
    assert refused.status_code == 409
    assert "process manager" in refused.json()["detail"]


async def test_heartbeats_from_elsewhere_show_in_the_status(api: Api) -> None:
    board = api.context.heartbeats = HeartbeatBoard()
    await board.start(api.bus)
    try:
        send(api.bus, [heartbeat("parse", "stage", "degraded", {"queue": 3})])
        for _ in range(100):
            if "parse" in board.latest:
                break
            await asyncio.sleep(0.01)
        body = (await api.client.get("/api/v1/system/status")).json()
    finally:
        await board.stop()
    (parse,) = [c for c in body["components"] if c["name"] == "parse"]
    assert parse["status"] == "degraded"
    assert parse["local"] is False
    assert parse["stale"] is False
    assert parse["detail"]["queue"] == 3


async def test_reload_is_announced_everywhere(api: Api) -> None:
    response = await api.client.post("/api/v1/system/control/reload", json={"stage": "agents"})
    assert response.status_code == 200
    (reload,) = await api.control.wait_for(1)
    assert reload.subject == "control.reload.agents"


async def test_stages_are_stopped_started_and_restarted(api: Api, runtime: Runtime) -> None:
    api.context.control = RuntimeControl(runtime)

    async def act(action: str, stage: str) -> list[str]:
        response = await api.client.post(f"/api/v1/system/control/{action}", json={"stage": stage})
        assert response.status_code == 200, response.text
        running: list[str] = response.json()["running"]
        return running

    assert await act("stop", "parse") == ["store"]
    assert "parse" not in runtime.running
    assert await act("stop", "parse") == ["store"]
    assert await act("start", "parse") == ["store", "parse"]
    first = runtime.running["parse"]
    assert await act("restart", "parse") == ["store", "parse"]
    assert runtime.running["parse"] is not first
    status = (await api.client.get("/api/v1/system/status")).json()
    local = {c["name"]: c for c in status["components"] if c["local"]}
    assert set(local) == {"store", "parse"}


async def test_bad_control_requests_are_refused(api: Api, runtime: Runtime) -> None:
    api.context.control = RuntimeControl(runtime)
    post = api.client.post
    assert (await post("/api/v1/system/control/stop", json={"stage": "api"})).status_code == 409
    unknown = await post("/api/v1/system/control/stop", json={"stage": "nope"})
    assert unknown.status_code == 404
    elsewhere = await post("/api/v1/system/control/start", json={"stage": "ingest"})
    assert elsewhere.status_code == 409
    assert "process manager" in elsewhere.json()["detail"]
    assert (await post("/api/v1/system/control/explode", json={"stage": "parse"})).status_code in (
        404,
        422,
    )
    assert (await post("/api/v1/system/control/stop", json={})).status_code == 422
    assert (await post("/api/v1/system/control/stop", json={"stage": 3})).status_code == 422
