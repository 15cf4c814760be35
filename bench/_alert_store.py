"""The alerts ``bench/api.py`` reads: 100,000-like realistic rows (the built-in packs' rules,
severities and domains, a few noisy devices among many, 30 days of first-seen times, a small
share firing), and the fresh SQLite or PostgreSQL database they are written into in bulk."""

from __future__ import annotations

import json
import random
import sqlite3
import time
from collections.abc import Sequence
from typing import Any

from _databases import PostgresDatabase, SqliteDatabase
from opsconductor.agents.fields import render
from opsconductor.agents.findings import fingerprint_of
from opsconductor.agents.packs import builtin_packs
from opsconductor.agents.rules import Rule
from opsconductor.ids import new_ulid
from opsconductor.store.tables import alerts

DEVICES = 2000
SPAN = 30 * 86400.0
ALERT_COLUMNS = tuple(c.name for c in alerts.columns)
_LEVELS = ("info", "warning", "minor", "major", "critical")


def _label_value(name: str, rng: random.Random, device: str) -> str:
    if name == "device_id":
        return device
    if name in ("sta", "mac", "client"):
        return ":".join(f"{rng.randrange(256):02x}" for _ in range(6))
    if name in ("iface", "interface", "ifname", "radio"):
        return rng.choice(["wlan0", "wlan1", "phy0-ap0", "phy1-ap0", "wan", "eth0", "pppoe-wan"])
    if name in ("user", "username"):
        return rng.choice(["root", "admin", "ubnt", "pi", "test", "oracle", "guest"])
    if name in ("address", "ip", "source", "src"):
        return ".".join(str(rng.randrange(1, 224 if i == 0 else 255)) for i in range(4))
    return f"{name}-{rng.randrange(50)}"


def _device_of(rng: random.Random) -> str:
    """Devices with a long tail: a few noisy ones raise most alerts."""
    n = min(DEVICES - 1, int(rng.paretovariate(1.2)) - 1 + rng.randrange(DEVICES) // 8)
    return f"openwrt-{n:04d}" if rng.random() < 0.5 else f"openwrt-{rng.randrange(DEVICES):04d}"


def _alert(rule: Rule, rng: random.Random, now: float) -> tuple[Any, ...]:
    device = _device_of(rng)
    values = {name: _label_value(name, rng, device) for name in rule.fingerprint}
    values.setdefault("device_id", device)
    first = now - SPAN * rng.random() ** 0.7  # more alerts lately
    age = now - first
    last = min(now, first + rng.expovariate(1 / 1800))
    firing = rng.random() < (0.5 if age < 6 * 3600 else 0.08)
    severity = rule.severity
    if rng.random() < 0.05:  # escalated after repeated occurrences
        severity = _LEVELS[min(len(_LEVELS) - 1, _LEVELS.index(severity) + 1)]
    resolved_at = None if firing else min(now, last + rng.expovariate(1 / 600))
    acked = rng.random() < (0.3 if firing else 0.6)
    ack_at = first + rng.random() * (last - first) if acked else None
    transitions = sorted(first + rng.random() * (last - first) for _ in range(rng.randrange(3)))
    return (
        new_ulid(first), fingerprint_of(rule.id, [values.get(f, "") for f in rule.fingerprint]),
        rule.id, rule.agent, rule.agent, device, device, render(rule.title, values),
        render(rule.summary, values) or f"{rule.id} on {device}", json.dumps(values),
        "firing" if firing else "resolved", severity, rule.severity, rng.random() < 0.02,
        f"silence:{new_ulid(first)}" if rng.random() < 0.03 else "",
        1 + int(rng.paretovariate(1.5)), first, last, resolved_at, json.dumps(transitions),
        first if rng.random() < 0.7 else None, "admin" if acked else None, ack_at,
        rng.choice(["alice", "bob", "noc"]) if rng.random() < 0.1 else None,
        new_ulid(last), max(last, resolved_at or 0.0, ack_at or 0.0),
    )  # fmt: skip


def seed_rows(count: int, seed: int = 7) -> list[tuple[Any, ...]]:
    """``count`` alert rows (one per fingerprint), in the column order of ``alerts``."""
    rng = random.Random(seed)
    rules = [rule for pack in builtin_packs().values() for rule in pack]
    weights = [rng.paretovariate(1.0) for _ in rules]  # some rules fire far more than others
    now = time.time()
    rows: dict[str, tuple[Any, ...]] = {}
    while len(rows) < count:
        row = _alert(rng.choices(rules, weights)[0], rng, now)
        rows.setdefault(row[1], row)
    return sorted(rows.values())


class Sqlite(SqliteDatabase):
    def __init__(self) -> None:
        super().__init__(migrated=True)

    def seed(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """Write ``rows`` into ``alerts`` in bulk."""
        marks = ", ".join("?" * len(ALERT_COLUMNS))
        sql = f"INSERT INTO alerts ({', '.join(ALERT_COLUMNS)}) VALUES ({marks})"
        with sqlite3.connect(self.path) as conn:
            conn.executemany(sql, rows)


class Postgres(PostgresDatabase):
    def __init__(self, server: str) -> None:
        super().__init__(server, migrated=True)

    def seed(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """Write ``rows`` into ``alerts`` in bulk."""

        async def copy(conn: Any) -> None:
            await conn.copy_records_to_table("alerts", records=rows, columns=ALERT_COLUMNS)
            await conn.execute("ANALYZE alerts")

        self.run(copy)


Database = Sqlite | Postgres
