"""What ``bench/console.py`` stores before it times the pages: 100,000 alerts (``_alert_store``),
their findings and history, 2,000 devices and 10,000,000 events over the last 7 days.

Events are the shared OpenWrt sample's lines, cycled, each with its program, facility and
severity as the parser would store them, spread over 2,000 devices with a long tail (a few
noisy ones), received at an even rate over ``SPAN`` seconds (so the last hour holds ~60,000),
ids minted from that time as the intake mints them. They are generated and written in chunks,
in id order (SQLite ``executemany``; PostgreSQL ``COPY``), never all in memory.
"""

from __future__ import annotations

import json
import random
import re
import sqlite3
import time
from collections.abc import Iterator, Sequence
from typing import Any

from _alert_store import DEVICES, Postgres, Sqlite, _device_of
from _common import openwrt_lines
from opsconductor.ids import new_ulid
from opsconductor.store.tables import EVENT_COLUMNS, alert_history, devices, findings

SPAN = 7 * 86400.0
CHUNK = 100_000
_PROGRAM = re.compile(r"^(?:\w{3} \w{3} +\d+ [\d:]+ \d{4} (\w+)\.(\w+) )?([\w./-]+?)(?:\[\d+\])?: ")
_SEVERITY = {"emerg": 0, "alert": 1, "crit": 2, "err": 3, "warn": 4, "notice": 5, "info": 6}
_DOMAINS = {
    "hostapd": "wifi", "kernel": "system", "dropbear": "security", "netifd": "wan",
    "dnsmasq": "system", "odhcpd": "system", "pppd": "wan", "procd": "system",
}  # fmt: skip
FINDING_COLUMNS = tuple(c.name for c in findings.columns)
HISTORY_COLUMNS = tuple(c.name for c in alert_history.columns)
DEVICE_COLUMNS = tuple(c.name for c in devices.columns)


def _templates() -> list[tuple[str, int, int, str, str]]:
    """(program, facility, severity, message, domain) of each sample line."""
    out = []
    for line in openwrt_lines():
        match = _PROGRAM.match(line)
        program = match[3] if match else "kernel"
        severity = _SEVERITY.get(match[2] or "", 6) if match else 6
        message = line[match.end() :] if match else line
        out.append((program, 3, severity, message, _DOMAINS.get(program, "other")))
    return out


def event_chunks(count: int, now: float, seed: int = 11) -> Iterator[list[tuple[Any, ...]]]:
    """``count`` event rows in id order, ``CHUNK`` at a time."""
    rng = random.Random(seed)
    lines = _templates()
    step = SPAN / count
    start = now - SPAN
    for first in range(0, count, CHUNK):
        chunk = []
        for n in range(first, min(first + CHUNK, count)):
            at = start + n * step
            device = _device_of(rng)
            program, facility, severity, message, domain = lines[n % len(lines)]
            chunk.append((
                new_ulid(at), at, at, "udp", "10.0.0.1", device, device, facility, severity,
                program, "", "", message, "{}", "{}", "rfc3164", "ok", domain,
            ))  # fmt: skip
        yield chunk


def finding_rows(alerts: Sequence[tuple[Any, ...]], seed: int = 13) -> list[tuple[Any, ...]]:
    """Two findings per alert on average (its first and its last, sometimes more)."""
    rng = random.Random(seed)
    out = []
    for a in alerts:
        first, last = a[16], a[17]
        for n in range(1 + rng.randrange(3)):
            at = first + (last - first) * n / 2
            out.append((
                new_ulid(at), a[2], a[3], a[4], "problem", a[5], a[6], a[11], a[7], a[8], a[1],
                a[9], "[]", 1, 0.0, at, at, a[0],
            ))  # fmt: skip
    out.sort()
    return out


def history_rows(alerts: Sequence[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """A "new" row per alert, and "resolved" for the resolved ones."""
    out = []
    for a in alerts:
        out.append((new_ulid(a[16]), a[0], a[16], "new", "firing", a[11], "system", "", None))
        if a[18] is not None:
            out.append((new_ulid(a[18]), a[0], a[18], "resolved", "resolved", a[11], "system",
                        "", None))  # fmt: skip
    out.sort()
    return out


def device_rows(now: float) -> list[tuple[Any, ...]]:
    """The devices the events and alerts name."""
    names = sorted({f"openwrt-{n:04d}" for n in range(DEVICES)})
    return [
        (name, name, f"10.{n // 250}.{n % 250}.1", name, now - SPAN, now, now - SPAN,
         f"site-{n % 12}", json.dumps([f"group-{n % 5}"]), json.dumps(["openwrt"]), "")
        for n, name in enumerate(names)
    ]  # fmt: skip


def _insert_sql(table: str, columns: Sequence[str]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


class ConsoleSqlite(Sqlite):
    """The SQLite store, with everything the console shows."""

    def seed_rest(self, alerts: Sequence[tuple[Any, ...]], events: int) -> None:
        now = time.time()
        with sqlite3.connect(self.path) as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=OFF")
            conn.executemany(_insert_sql("devices", DEVICE_COLUMNS), device_rows(now))
            conn.executemany(_insert_sql("findings", FINDING_COLUMNS), finding_rows(alerts))
            conn.executemany(_insert_sql("alert_history", HISTORY_COLUMNS), history_rows(alerts))
            conn.commit()
            sql = _insert_sql("events", EVENT_COLUMNS)
            for chunk in event_chunks(events, now):
                conn.executemany(sql, chunk)
                conn.commit()
            conn.execute("ANALYZE")


class ConsolePostgres(Postgres):
    """The PostgreSQL store, with everything the console shows."""

    def seed_rest(self, alerts: Sequence[tuple[Any, ...]], events: int) -> None:
        now = time.time()

        async def copy(conn: Any) -> None:
            await conn.copy_records_to_table("devices", records=device_rows(now),
                                             columns=DEVICE_COLUMNS)  # fmt: skip
            await conn.copy_records_to_table("findings", records=finding_rows(alerts),
                                             columns=FINDING_COLUMNS)  # fmt: skip
            await conn.copy_records_to_table("alert_history", records=history_rows(alerts),
                                             columns=HISTORY_COLUMNS)  # fmt: skip
            for chunk in event_chunks(events, now):
                await conn.copy_records_to_table("events", records=chunk, columns=EVENT_COLUMNS)
            await conn.execute("VACUUM ANALYZE")

        self.run(copy)
