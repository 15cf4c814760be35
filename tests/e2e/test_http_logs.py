"""``POST /api/v1/logs`` and the read API, on both deployments."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
from tests.e2e.conftest import all_events, wait_for_events


async def test_text_lines_become_events(api: httpx.AsyncClient) -> None:
    token = uuid.uuid4().hex
    body = (
        f"Sun Jul 19 21:22:03 2020 daemon.notice netifd: Interface 'wan' is now down {token}\n"
        f"<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick {token}\n"
    )
    response = await api.post("/api/v1/logs", content=body, headers={"content-type": "text/plain"})
    assert response.status_code == 202, response.text
    assert response.json()["accepted"] == 2
    events = await wait_for_events(api, 2, q=token)
    assert {e["program"] for e in events} == {"netifd", "su"}
    assert {e["source"] for e in events} == {"http"}


async def test_json_objects_and_lines(api: httpx.AsyncClient) -> None:
    token = uuid.uuid4().hex
    body = [
        {
            "message": f"Lost 1 ping(s) on interface wan {token}",
            "host": "r1",
            "program": "mwan3track",
            "severity": "warning",
            "facility": "user",
            "timestamp": "2026-01-02T03:04:05Z",
        },
        f"daemon.warn dnsmasq[5877]: Maximum number of concurrent DNS queries reached {token}",
    ]
    response = await api.post("/api/v1/logs", json=body)
    assert response.status_code == 202, response.text
    events = await wait_for_events(api, 2, q=token)
    by_program = {e["program"]: e for e in events}
    mwan = by_program["mwan3track"]
    assert mwan["host"] == "r1" and mwan["severity"] == 4 and mwan["facility"] == 1
    assert mwan["timestamp"] == 1767323045.0
    assert by_program["dnsmasq"]["severity"] == 4


async def test_filters_and_pagination(api: httpx.AsyncClient) -> None:
    token = uuid.uuid4().hex
    lines = [
        f"<{8 * 3 + (i % 8)}>Oct 11 22:14:{i % 60:02d} host{i % 3} prog{i % 2}: n{i} {token}"
        for i in range(45)
    ]
    response = await api.post("/api/v1/logs", content="\n".join(lines))
    assert response.status_code == 202
    await wait_for_events(api, 45, q=token)
    pages = []
    cursor = None
    while True:
        params = {"q": token, "limit": 10, **({"cursor": cursor} if cursor else {})}
        page = (await api.get("/api/v1/events", params=params)).json()
        pages.append(page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    seen = [item["id"] for page in pages for item in page]
    assert len(seen) == 45 and len(set(seen)) == 45
    assert len(pages) == 5
    errors = await all_events(api, q=token, severity="err")
    assert errors and all(e["severity"] <= 3 for e in errors)
    assert {e["program"] for e in await all_events(api, q=token, program="prog1")} == {"prog1"}
    device = errors[0]["device_id"]
    assert {e["device_id"] for e in await all_events(api, q=token, device=device)} == {device}
    devices = (await api.get("/api/v1/devices")).json()["items"]
    assert {"host0", "host1", "host2"} <= {d["hostname"] for d in devices}


async def test_every_openwrt_line_is_one_event(api: httpx.AsyncClient, shared_data: Path) -> None:
    lines = [
        line
        for line in (shared_data / "openwrt" / "openwrt_lines.log").read_bytes().splitlines()
        if line.strip()
    ]
    response = await api.post("/api/v1/logs", content=b"\n".join(lines))
    assert response.status_code == 202
    assert response.json()["accepted"] == len(lines) == 561
    events = await wait_for_events(api, len(lines), source="http")
    assert len(events) == len(lines)
    assert sorted(e["id"] for e in events) == sorted({e["id"] for e in events})
    parsed = [e for e in events if e["parse_status"] != "generic"]
    assert len(parsed) / len(events) > 0.9


async def test_malformed_bodies_are_4xx_with_a_message(api: httpx.AsyncClient) -> None:
    cases = [
        (b"", "text/plain", 400),
        (b"{not json", "application/json", 400),
        (b'{"message": "x"}', "application/json", 400),
        (b'[{"host": "r1"}]', "application/json", 400),
        (b'[{"message": "x", "severity": "loud"}]', "application/json", 400),
        (b"[42]", "application/json", 400),
    ]
    for body, content_type, status in cases:
        response = await api.post(
            "/api/v1/logs", content=body, headers={"content-type": content_type}
        )
        assert response.status_code == status, (body, response.text)
        payload = response.json()
        assert payload["error"] and payload["detail"], payload
    bad_query = await api.get("/api/v1/events", params={"cursor": "garbage!!"})
    assert bad_query.status_code == 400 and bad_query.json()["detail"]
    bad_severity = await api.get("/api/v1/events", params={"severity": "loud"})
    assert bad_severity.status_code == 400


async def test_oversized_body_is_413(api: httpx.AsyncClient) -> None:
    body = b"x" * (11 * 1024 * 1024)
    response = await api.post("/api/v1/logs", content=body)
    assert response.status_code == 413
    assert "exceeds" in response.json()["detail"]


async def test_health_and_metrics(api: httpx.AsyncClient) -> None:
    assert (await api.get("/healthz")).json() == {"status": "ok"}
    ready = await api.get("/readyz")
    assert ready.status_code == 200 and ready.json()["ready"] is True
    await api.post("/api/v1/logs", content="hello world")
    await wait_for_events(api, 1, q="hello world")
    text = (await api.get("/metrics")).text
    for name in (
        "opsc_records_received_total",
        "opsc_records_parsed_total",
        "opsc_records_unparsed_total",
        "opsc_records_dropped_total",
        "opsc_stage_lag_seconds",
        "opsc_queue_depth",
    ):
        assert name in text, name
