"""Bad input never crashes a receiver and never vanishes; floods stay bounded."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from tests.conftest import admin_client
from tests.e2e.conftest import all_events, running_product, wait_for_events

from opsconductor.runtime import Runtime


async def _dead_letters(
    api: httpx.AsyncClient, count: int, timeout: float = 15.0
) -> list[dict[str, object]]:
    deadline = time.monotonic() + timeout
    items: list[dict[str, object]] = []
    while time.monotonic() < deadline:
        items = (await api.get("/api/v1/deadletters", params={"limit": 1000})).json()["items"]
        if len(items) >= count:
            return items
        await asyncio.sleep(0.1)
    raise AssertionError(f"expected {count} dead letters, found {items}")


def _metric(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


async def test_udp_garbage_is_kept(product: Runtime, api: httpx.AsyncClient) -> None:
    token = uuid.uuid4().hex.encode()
    datagrams = [
        os.urandom(200) + token,
        b"\xff\xfe\xfd invalid utf-8 " + token,
        b"<999>Oct 11 22:14:15 host prog: bad pri " + token,
        b"<34>1 2003-13-45T99:99:99Z host app - - - broken 5424 " + token,
    ]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for data in datagrams:
            sock.sendto(data, ("127.0.0.1", product.settings.syslog_udp_port))
    # Random bytes and invalid UTF-8 become generic events; an invalid RFC 5424 record is a
    # dead letter with the reason. Nothing is lost.
    events = await wait_for_events(api, 3, q=token.decode())
    assert len(events) == 3
    letters = await _dead_letters(api, 1)
    assert any("RFC3339" in str(letter["reason"]) for letter in letters)
    assert (await api.get("/healthz")).status_code == 200
    # Kept, and counted: random bytes and invalid UTF-8 fit no format.
    metrics = (await api.get("/metrics")).text
    assert _metric(metrics, "opsc_records_unparsed_total") >= 2
    assert _metric(metrics, "opsc_records_dead_lettered_total", stage="parse") >= 1
    flagged = [e for e in events if e["extra"].get("invalid_utf8") == "1"]
    assert flagged, "invalid UTF-8 is marked on the event"


async def test_tcp_bad_frames_become_dead_letters(product: Runtime, api: httpx.AsyncClient) -> None:
    port = product.settings.syslog_tcp_port
    # A client that stops mid-frame: the declared length is never reached.
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    good = b"<13>1 - host app - - - complete record"
    writer.write(b"%d %s" % (len(good), good) + b"120 <13>1 - host app - - - cut sh")
    await writer.drain()
    writer.close()
    await writer.wait_closed()
    # An over-long LF-delimited line.
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    limit = product.settings.syslog_max_message_bytes
    writer.write(b"<13>Oct 11 22:14:15 host app: " + b"A" * (limit + 100) + b"\n")
    writer.write(b"<13>Oct 11 22:14:15 host app: after the long one\n")
    await writer.drain()
    writer.close()
    await writer.wait_closed()
    await wait_for_events(api, 1, q="complete record")
    await wait_for_events(api, 1, q="after the long one")
    letters = await _dead_letters(api, 2)
    reasons = " | ".join(str(letter["reason"]) for letter in letters)
    assert "truncated" in reasons.lower()
    assert re.search(r"exceed|too long|longer", reasons.lower())
    text = (await api.get("/metrics")).text
    assert _metric(text, "opsc_records_dead_lettered_total") >= 2


@pytest.fixture
async def small_product(
    stack_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, clean_env: None
) -> AsyncIterator[Runtime]:
    """A product with tiny queues, so a flood overloads it at once."""
    tiny = {
        "OPSC_QUEUE_MAX_BATCHES": "2",
        "OPSC_BATCH_MAX_EVENTS": "200",
        "OPSC_UDP_RECEIVE_BUFFER_BYTES": "65536",
        "OPSC_HTTP_ACCEPT_TIMEOUT_SECONDS": "0.001",
    }
    async with running_product({**stack_env, **tiny}, monkeypatch) as runtime:
        yield runtime


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def _udp_flood(port: int, seconds: float) -> int:
    """Send as fast as a separate process can; returns the datagram count."""
    script = (
        "import socket,time,sys\n"
        "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
        "m=b'<13>Oct 11 22:14:15 flood app: ' + b'x'*100\n"
        f"end=time.time()+{seconds}; n=0\n"
        f"while time.time()<end:\n"
        f"    for _ in range(1000): s.sendto(m,('127.0.0.1',{port}))\n"
        "    n+=1000\n"
        "print(n)\n"
    )
    proc = await asyncio.create_subprocess_exec(
        "python3", "-c", script, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await proc.communicate()
    return int(out)


@pytest.mark.parametrize("deployment", ["embedded"])
async def test_udp_flood_is_counted_and_bounded(small_product: Runtime) -> None:
    assert small_product.http_url
    before = _rss_mb()
    sent = await _udp_flood(small_product.settings.syslog_udp_port, 3.0)
    await small_product.idle(timeout=60)
    grown = _rss_mb() - before
    async with admin_client(small_product.http_url) as api:
        text = (await api.get("/metrics")).text
    received = _metric(text, "opsc_records_received_total", source="syslog-udp")
    dropped = _metric(text, "opsc_records_dropped_total", source="syslog-udp")
    kernel = _metric(text, "opsc_udp_kernel_drops")
    assert dropped + kernel > 0, "a flood beyond capacity must show counted drops"
    assert received + dropped + kernel >= sent * 0.99
    assert grown < 200, f"memory grew {grown:.0f} MiB under the flood"


@pytest.mark.parametrize("deployment", ["embedded"])
async def test_tcp_flood_meets_backpressure(small_product: Runtime) -> None:
    """The sender is slowed by TCP flow control; memory stays bounded; nothing is lost."""
    before = _rss_mb()
    _, writer = await asyncio.open_connection("127.0.0.1", small_product.settings.syslog_tcp_port)
    line = b"<13>Oct 11 22:14:15 flood app: " + b"y" * 100 + b"\n"
    count = 200_000
    chunk = line * 1000
    for _ in range(count // 1000):
        writer.write(chunk)
        await writer.drain()
    writer.close()
    await writer.wait_closed()
    await small_product.idle(timeout=120)
    assert _rss_mb() - before < 300
    assert small_product.http_url
    async with admin_client(small_product.http_url, timeout=30) as api:
        deadline = time.monotonic() + 120
        stored = 0.0
        while time.monotonic() < deadline:
            text = (await api.get("/metrics")).text
            stored = _metric(text, "opsc_events_stored_total")
            if stored >= count:
                break
            await asyncio.sleep(0.2)
        assert stored == count
        assert _metric(text, "opsc_records_dropped_total", source="syslog-tcp") == 0


@pytest.mark.parametrize("deployment", ["embedded"])
async def test_http_flood_gets_503(small_product: Runtime) -> None:
    assert small_product.http_url
    body = "\n".join(f"<13>Oct 11 22:14:15 h app: line {i}" for i in range(2000))
    async with admin_client(small_product.http_url, timeout=30) as api:
        responses = await asyncio.gather(
            *(api.post("/api/v1/logs", content=body) for _ in range(40))
        )
        statuses = [r.status_code for r in responses]
        assert set(statuses) <= {202, 503}
        assert 503 in statuses, statuses
        refused = next(r for r in responses if r.status_code == 503)
        assert refused.headers["retry-after"] and refused.json()["detail"]
        accepted = sum(r.json()["accepted"] for r in responses)
        assert accepted < 40 * 2000
        await small_product.idle(timeout=60)
        events = await all_events(api, q="line")
        assert len(events) == accepted
