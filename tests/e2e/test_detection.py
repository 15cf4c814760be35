"""Logs in, alerts out: rules changed through the API take effect in running agents (both
deployments), and agent state survives a worker's death in distributed mode."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
from tests.conftest import NATS_URL, admin_client, free_port
from tests.e2e.processes import Stages, wait_ready

from opsconductor.bus.nats import stream_name
from opsconductor.runtime import Runtime

PROBE_RULE: dict[str, Any] = {
    "id": "test.probe",
    "agent": "system",
    "title": "Probe {n} seen",
    "severity": "warning",
    "kind": "match",
    "match": {"message": r"opsc-probe-(?P<n>\d+)"},
    "fingerprint": ["device_id", "n"],
}
MARKER_RULE: dict[str, Any] = {
    **PROBE_RULE,
    "id": "test.marker",
    "title": "Marker {n}",
    "match": {"message": r"opsc-marker-(?P<n>\d+)"},
}


async def _send(api: httpx.AsyncClient, *lines: str) -> None:
    body = "".join(f"<13>Dec  2 10:00:00 r1 probe: {line}\n" for line in lines)
    response = await api.post(
        "/api/v1/logs", content=body.encode(), headers={"content-type": "text/plain"}
    )
    assert response.status_code in (200, 202), response.text


async def _alerts(api: httpx.AsyncClient, rule_id: str) -> list[dict[str, Any]]:
    response = await api.get("/api/v1/alerts", params={"rule": rule_id, "limit": 100})
    response.raise_for_status()
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def _wait_alert(
    api: httpx.AsyncClient, rule_id: str, title: str, timeout: float = 20.0
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    seen: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        seen = await _alerts(api, rule_id)
        for alert in seen:
            if alert["title"] == title:
                return alert
        await asyncio.sleep(0.1)
    raise AssertionError(f"no alert {title!r} of {rule_id}; saw {[a['title'] for a in seen]}")


async def _reloads(api: httpx.AsyncClient) -> float:
    text = (await api.get("/metrics")).text
    for line in text.splitlines():
        if line.startswith("opsc_rule_reloads_total "):
            return float(line.split()[1])
    return 0.0


async def _change_rule(api: httpx.AsyncClient, method: str, path: str, body: Any) -> None:
    """Change a rule and wait until the running agents say they reloaded."""
    before = await _reloads(api)
    response = await api.request(method, path, json=body)
    assert response.status_code in (200, 201), response.text
    deadline = time.monotonic() + 20
    while await _reloads(api) <= before:
        assert time.monotonic() < deadline, "the agents did not reload"
        await asyncio.sleep(0.05)


async def test_rule_changes_reach_running_agents(product: Runtime, api: httpx.AsyncClient) -> None:
    await _change_rule(api, "POST", "/api/v1/rules", MARKER_RULE)
    await _change_rule(api, "POST", "/api/v1/rules", PROBE_RULE)
    await _send(api, "opsc-probe-1")
    first = await _wait_alert(api, "test.probe", "Probe 1 seen")
    assert first["status"] == "firing"

    changed = {**PROBE_RULE, "title": "Changed probe {n}"}
    await _change_rule(api, "PUT", "/api/v1/rules/test.probe", changed)
    await _send(api, "opsc-probe-2")
    await _wait_alert(api, "test.probe", "Changed probe 2")

    await _change_rule(api, "PATCH", "/api/v1/rules/test.probe", {"enabled": False})
    await _send(api, "opsc-probe-3", "opsc-marker-1")  # one batch: evaluated together
    await _wait_alert(api, "test.marker", "Marker 1")
    titles = {alert["title"] for alert in await _alerts(api, "test.probe")}
    assert titles == {"Probe 1 seen", "Changed probe 2"}


THRESHOLD_RULE = """
pack: e2e
rules:
  - id: test.threshold
    agent: system
    title: "Threshold {k}"
    severity: major
    kind: threshold
    match: {message: 'opsc-thr-(?P<k>\\w+)'}
    fingerprint: [device_id, k]
    threshold: {count: 4, window: 10m}
"""


async def _agents_idle(prefix: str, partitions: int, timeout: float = 30.0) -> None:
    """Wait until every agents partition consumer has taken and acknowledged everything."""
    nc = await nats.connect(NATS_URL)
    try:
        js = nc.jetstream()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            waiting = 0
            for k in range(partitions):
                info = await js.consumer_info(stream_name(prefix, "events"), f"agents-p{k}")
                waiting += (info.num_pending or 0) + (info.num_ack_pending or 0)
            if not waiting:
                return
            await asyncio.sleep(0.2)
    finally:
        await nc.close()
    raise AssertionError("the agents did not catch up")


@pytest.mark.parametrize("deployment", ["distributed"], indirect=True)
async def test_threshold_survives_the_death_of_its_agent_worker(
    stack_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**stack_env, "OPSC_NATS_ACK_WAIT_SECONDS": "5", "OPSC_AGENT_PARTITIONS": "4"}
    stages = Stages(env, tmp_path)
    try:
        stages.cli("db", "upgrade")
        rules = tmp_path / "threshold.yaml"
        rules.write_text(THRESHOLD_RULE)
        stages.cli("rules", "load", str(rules))
        ports = {name: free_port() for name in ("store", "alerts", "agents", "parse", "api")}
        for name, port in ports.items():
            stages.start(name, port)
        for port in ports.values():
            await wait_ready(port)
        async with admin_client(f"http://127.0.0.1:{ports['api']}", timeout=10) as api:
            await _send(api, "opsc-thr-a", "opsc-thr-a")
            await _agents_idle(env["OPSC_NATS_PREFIX"], 4)
            stages.start("agents-2", free_port(), stage="agents")  # takes half the partitions
            await asyncio.sleep(3)
            stages.kill("agents")  # SIGKILL: its partitions must move with their state
            await asyncio.sleep(3)  # the survivor's next rebalance takes them over
            await _send(api, "opsc-thr-a", "opsc-thr-a")
            alert = await _wait_alert(api, "test.threshold", "Threshold a", timeout=30)
            assert alert["occurrences"] == 1
    finally:
        stages.stop_all()


async def test_rules_loaded_from_the_command_line_reach_running_agents(
    product: Runtime, api: httpx.AsyncClient, stack_env: dict[str, str], tmp_path: Path
) -> None:
    """`opsconductor rules load` in another process: announced on the bus in distributed
    mode, noticed by the agents' check of the rules' version in embedded mode."""
    rules = tmp_path / "cli-rule.yaml"
    rules.write_text(
        "id: test.cli\nagent: system\ntitle: 'CLI rule {n}'\nseverity: minor\nkind: match\n"
        "match: {message: 'opsc-cli-(?P<n>\\d+)'}\nfingerprint: [device_id, n]\n"
    )
    before = await _reloads(api)
    env = {**os.environ, **stack_env}
    loaded = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "opsconductor", "rules", "load", str(rules),
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, errors = await asyncio.wait_for(loaded.communicate(), 120)
    assert loaded.returncode == 0, errors
    deadline = time.monotonic() + 20
    while await _reloads(api) <= before:
        assert time.monotonic() < deadline, "the agents did not reload"
        await asyncio.sleep(0.1)
    await _send(api, "opsc-cli-7")
    await _wait_alert(api, "test.cli", "CLI rule 7")


@pytest.mark.parametrize("deployment", ["embedded"], indirect=True)
async def test_a_replay_beside_the_running_product_leaves_its_agents_alone(
    product: Runtime, api: httpx.AsyncClient, stack_env: dict[str, str], tmp_path: Path
) -> None:
    """`opsconductor replay` runs its own stages on the same database: its findings and
    alerts land there, and the running product's agents keep their state and keep working."""
    await _change_rule(api, "POST", "/api/v1/rules", PROBE_RULE)
    log = tmp_path / "replayed.log"
    log.write_text("<13>Dec  2 10:00:00 r9 probe: opsc-probe-41\n")
    replay = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "opsconductor", "replay", str(log),
        env={**os.environ, **stack_env, "OPSC_HTTP_PORT": "0"},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, errors = await asyncio.wait_for(replay.communicate(), 120)
    assert replay.returncode == 0, errors
    await _wait_alert(api, "test.probe", "Probe 41 seen")
    await asyncio.sleep(2 * float(stack_env.get("OPSC_AGENT_TICK_SECONDS", "5")))
    await _send(api, "opsc-probe-42")
    await _wait_alert(api, "test.probe", "Probe 42 seen")
