"""Real syslog clients — util-linux ``logger`` and rsyslog — sending to a running product."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import httpx
import pytest
from tests.conftest import need_program
from tests.e2e.conftest import wait_for_events

from opsconductor.runtime import Runtime


async def _logger(*args: str) -> None:
    logger = need_program("logger")
    proc = await asyncio.create_subprocess_exec(
        logger, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    _, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()


def _ports(product: Runtime) -> tuple[int, int]:
    s = product.settings
    return s.syslog_udp_port, s.syslog_tcp_port


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_logger_rfc3164(product: Runtime, api: httpx.AsyncClient, transport: str) -> None:
    udp, tcp = _ports(product)
    port = udp if transport == "udp" else tcp
    token = uuid.uuid4().hex
    flags = ["-d"] if transport == "udp" else ["-T"]
    await _logger(
        "-n",
        "127.0.0.1",
        "-P",
        str(port),
        *flags,
        "--rfc3164",
        "-p",
        "auth.warning",
        "-t",
        "dropbear",
        f"Bad password attempt for 'root' {token}",
    )
    [event] = await wait_for_events(api, 1, q=token)
    assert event["format"] == "rfc3164"
    assert event["program"] == "dropbear"
    assert event["severity"] == 4 and event["facility"] == 4
    assert event["message"].endswith(token)
    assert event["source"] == f"syslog-{transport}"
    assert event["peer"].startswith("127.0.0.1:")
    assert event["host"]  # logger states the local hostname
    assert event["parse_status"] == "ok"


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_logger_rfc5424(product: Runtime, api: httpx.AsyncClient, transport: str) -> None:
    udp, tcp = _ports(product)
    port = udp if transport == "udp" else tcp
    token = uuid.uuid4().hex
    flags = ["-d"] if transport == "udp" else ["-T", "--octet-count"]
    await _logger(
        "-n",
        "127.0.0.1",
        "-P",
        str(port),
        *flags,
        "--rfc5424",
        "-p",
        "daemon.err",
        "-t",
        "netifd",
        "--msgid",
        "IFDOWN",
        "--sd-id",
        "iface@32473",
        "--sd-param",
        'name="wan"',
        f"Interface 'wan' is now down {token}",
    )
    [event] = await wait_for_events(api, 1, q=token)
    assert event["format"] == "rfc5424"
    assert event["program"] == "netifd"
    assert event["msgid"] == "IFDOWN"
    assert event["severity"] == 3 and event["facility"] == 3
    assert event["structured_data"]["iface@32473"] == {"name": "wan"}
    assert event["domain"] == "wan"


async def test_rsyslog_forwards_octet_counted(
    product: Runtime, api: httpx.AsyncClient, tmp_path: Path
) -> None:
    rsyslogd = need_program("rsyslogd")
    _, tcp = _ports(product)
    work = tmp_path / "rsyslog"
    work.mkdir()
    source = work / "in.log"
    source.write_text("")
    (work / "rs.conf").write_text(f"""
global(workDirectory="{work}")
module(load="imfile" PollingInterval="1")
input(type="imfile" File="{source}" Tag="testapp" Facility="daemon" Severity="notice")
action(type="omfwd" target="127.0.0.1" port="{tcp}" protocol="tcp"
       TCP_Framing="octet-counted" template="RSYSLOG_SyslogProtocol23Format")
""")
    proc = await asyncio.create_subprocess_exec(
        rsyslogd,
        "-n",
        "-f",
        str(work / "rs.conf"),
        "-i",
        str(work / "rs.pid"),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await asyncio.sleep(1.0)
        tokens = [uuid.uuid4().hex for _ in range(5)]
        with source.open("a") as out:
            for token in tokens:
                out.write(f"hello from rsyslog {token}\n")
        events = await wait_for_events(api, 5, timeout=30, program="testapp")
    finally:
        proc.terminate()
        await proc.wait()
    assert sorted(e["message"].rsplit(" ", 1)[1] for e in events) == sorted(tokens)
    for event in events:
        assert event["format"] == "rfc5424"
        assert event["source"] == "syslog-tcp"
        assert event["severity"] == 5 and event["facility"] == 3
