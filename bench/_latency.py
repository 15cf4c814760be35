"""Ingest-to-alert latency of a running ``opsconductor up`` (used by bench/pipeline.py).

A live product (embedded: SQLite, in-process bus) is fed OpenWrt lines over TCP at a steady
rate for a while; every ``probe_every``-th line is a probe that a probe rule turns into an
alert of its own. Afterwards the database says, for each probe, when the record was received
(``events.received_at``, stamped by the TCP receiver) and when the alert engine applied the
alert (``alert_history.at`` of its ``new`` change): the difference is the latency from ingest
to stored alert. Nothing is measured inside the product.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from _common import (
    BENCH_ADMIN_PASSWORD,
    admin_token,
    free_port,
    log,
    openwrt_lines,
    spawn,
    stop_process,
    wait_for,
)

PROBE_RULE = {
    "id": "bench.latency_probe",
    "agent": "system",
    "title": "Latency probe {n}",
    "severity": "info",
    "kind": "match",
    "match": {"message": r"opsc-latency-probe-(?P<n>\d+)"},
    "fingerprint": ["device_id", "n"],
}


@dataclass
class LatencyRun:
    """What one paced run measured."""

    rate: float
    sent: int
    probes: int
    latencies: list[float]


def _post_rule(base: str) -> None:
    request = urllib.request.Request(
        f"{base}/api/v1/rules",
        data=json.dumps(PROBE_RULE).encode(),
        headers={
            "content-type": "application/json",
            "authorization": f"Bearer {admin_token(base)}",
        },
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()


def _records(probe_every: int, count: int) -> list[bytes]:
    sample = [line.encode() for line in openwrt_lines()]
    out: list[bytes] = []
    for i in range(count):
        if i % probe_every == 0:
            out.append(b"<13>Dec  2 10:00:00 bench probe: opsc-latency-probe-%d" % i)
        else:
            out.append(sample[i % len(sample)])
    return out


def _send_paced(port: int, records: list[bytes], rate: float) -> float:
    """Send LF-framed records at ``rate`` per second in 10 ms slices; returns the real rate."""
    slice_size = max(1, int(rate / 100))
    with socket.create_connection(("127.0.0.1", port)) as sock:
        started = time.perf_counter()
        for index in range(0, len(records), slice_size):
            due = started + index / rate
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            sock.sendall(b"\n".join(records[index : index + slice_size]) + b"\n")
        elapsed = time.perf_counter() - started
    return len(records) / elapsed if elapsed else float("nan")


def _latencies(db: Path) -> tuple[int, list[float]]:
    query = """
        SELECT h.at - e.received_at
        FROM alerts a
        JOIN alert_history h ON h.alert_id = a.id AND h.change = 'new'
        JOIN findings f ON f.id = h.finding_id
        JOIN events e ON e.id = json_extract(f.evidence, '$[0]')
        WHERE a.rule_id = ?
    """
    with sqlite3.connect(db) as conn:
        count = conn.execute(
            "SELECT count(*) FROM alerts WHERE rule_id = ?", (PROBE_RULE["id"],)
        ).fetchone()[0]
        values = [float(row[0]) for row in conn.execute(query, (PROBE_RULE["id"],))]
    return int(count), sorted(values)


def measure(workdir: Path, rate: float, seconds: float, probe_every: int = 100) -> LatencyRun:
    """One live product, fed at ``rate`` lines/s for ``seconds``; the probes' latencies."""
    data_dir = workdir / f"latency-{os.getpid()}-{time.monotonic_ns()}"
    http, tcp = free_port(), free_port()
    env = dict(
        os.environ,
        OPSC_DATA_DIR=str(data_dir),
        OPSC_HTTP_PORT=str(http),
        OPSC_SYSLOG_TCP_PORT=str(tcp),
        OPSC_SYSLOG_UDP_PORT="0",
        OPSC_SYSLOG_TLS_PORT="0",
        OPSC_LOG_LEVEL="WARNING",
        OPSC_ADMIN_PASSWORD=BENCH_ADMIN_PASSWORD,
        OPSC_BATCH_MAX_DELAY_MS="10",
    )
    output = workdir / "latency-product.log"
    proc = spawn(
        [sys.executable, "-m", "opsconductor", "up"],
        env=env,
        stdout=output.open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{http}"
        wait_for(lambda: _ready(base), 60, "the product to start")
        _post_rule(base)
        time.sleep(1.0)
        records = _records(probe_every, int(rate * seconds))
        real_rate = _send_paced(tcp, records, rate)
        probes = (len(records) + probe_every - 1) // probe_every
        db = data_dir / "opsconductor.db"
        wait_for(lambda: _latencies(db)[0] >= probes, 120, "every probe alert")
        _, latencies = _latencies(db)
        return LatencyRun(real_rate, len(records), probes, latencies)
    finally:
        stop_process(proc)


def _ready(base: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/readyz", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def percentile(values: list[float], share: float) -> float:
    """The value below which ``share`` of the sorted ``values`` lie (nearest rank)."""
    if not values:
        return float("nan")
    index = min(len(values) - 1, max(0, round(share * len(values)) - 1))
    return values[index]


def report(run: LatencyRun) -> str:
    """One line: rate, probes, p50 / p99 / max in milliseconds."""
    p50, p99 = percentile(run.latencies, 0.5), percentile(run.latencies, 0.99)
    worst = run.latencies[-1] if run.latencies else float("nan")
    log(f"  latency run: {run.sent:,} lines at {run.rate:,.0f}/s, {len(run.latencies)} probes")
    return f"p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, max {worst * 1000:.1f} ms"
