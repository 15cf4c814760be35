"""Distributed mode: SIGKILL of the parse stage mid-stream loses and duplicates nothing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from tests.conftest import admin_client, free_port
from tests.e2e.processes import Stages, wait_ready

TCP_RECORDS = 20_000
HTTP_BATCHES = 20
HTTP_BATCH_SIZE = 250


@pytest.fixture
def stages(stack_env: dict[str, str], tmp_path: Path) -> Iterator[Stages]:
    running = Stages({**stack_env, "OPSC_NATS_ACK_WAIT_SECONDS": "5"}, tmp_path)
    running.cli("db", "upgrade")
    yield running
    running.stop_all()


async def _send_tcp(port: int, count: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for start in range(0, count, 500):
        chunk = []
        for i in range(start, min(start + 500, count)):
            record = f"<30>1 2026-01-01T00:00:00Z r1 app - - - tcp-record-{i}".encode()
            chunk.append(b"%d %s" % (len(record), record))
        writer.write(b"".join(chunk))
        await writer.drain()
        await asyncio.sleep(0.02)
    writer.close()
    await writer.wait_closed()
    del reader


async def _send_http(port: int) -> None:
    async with admin_client(f"http://127.0.0.1:{port}", timeout=30) as client:
        for batch in range(HTTP_BATCHES):
            lines = [
                f"<30>Jan  1 00:00:00 r2 app: http-record-{batch}-{i}"
                for i in range(HTTP_BATCH_SIZE)
            ]
            while True:
                response = await client.post("/api/v1/logs", content="\n".join(lines))
                if response.status_code == 202:
                    break
                assert response.status_code == 503, response.text
                await asyncio.sleep(0.5)
            await asyncio.sleep(0.05)


async def _stored(url: str) -> tuple[int, int]:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        row = await conn.fetchrow("SELECT count(*), count(DISTINCT message) FROM events")
        assert row is not None
        return int(row[0]), int(row[1])
    finally:
        await conn.close()


@pytest.mark.parametrize("deployment", ["distributed"])
async def test_sigkill_parse_stage_loses_and_duplicates_nothing(
    stages: Stages, stack_env: dict[str, str]
) -> None:
    ports = {name: free_port() for name in ("store", "parse", "ingest", "api")}
    for name, port in ports.items():
        stages.start(name, port)
    for port in ports.values():
        await wait_ready(port)
    tcp_port = int(stack_env["OPSC_SYSLOG_TCP_PORT"])
    senders = asyncio.gather(_send_tcp(tcp_port, TCP_RECORDS), _send_http(ports["api"]))
    await asyncio.sleep(1.0)
    stages.kill("parse")  # mid-stream: batches in hand are unacked
    await asyncio.sleep(1.0)
    stages.start("parse", ports["parse"])
    await senders
    expected = TCP_RECORDS + HTTP_BATCHES * HTTP_BATCH_SIZE
    deadline = time.monotonic() + 120
    total = distinct = 0
    while time.monotonic() < deadline:
        total, distinct = await _stored(stack_env["OPSC_DATABASE_URL"])
        if total >= expected:
            break
        await asyncio.sleep(0.5)
    await asyncio.sleep(2.0)  # let any late duplicate arrive before counting again
    total, distinct = await _stored(stack_env["OPSC_DATABASE_URL"])
    assert (total, distinct) == (expected, expected)
