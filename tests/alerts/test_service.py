"""The alert engine on SQLite and PostgreSQL: storms, redelivery, clear/reopen, suppression
and its release, operator actions — all through real transactions."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from opsconductor.alerts import service
from opsconductor.alerts.decision import Policy
from opsconductor.alerts.loading import load_suppressor
from opsconductor.alerts.service import AlertEngine, release_suppressions
from opsconductor.alerts.suppression import Suppressor, parse_silence
from opsconductor.ids import ulid_block
from opsconductor.messages import AlertChange, Finding
from opsconductor.store.tables import (
    alert_history,
    alerts,
    devices,
    findings,
    maintenance_windows,
    silences,
)

Sessions = async_sessionmaker[AsyncSession]
T0 = 1_790_000_000.0
POLICY = Policy(cooldown=600.0, flap_count=6, flap_window=3600.0, escalate_after=0)
NOTHING = Suppressor.empty()


class Maker:
    """Findings with unique ids in creation order."""

    def __init__(self) -> None:
        self._ids: Iterator[str] = iter(ulid_block(200_000, T0))

    def __call__(self, fp: int = 0, kind: str = "problem", **overrides: Any) -> Finding:
        fields: dict[str, Any] = {
            "id": next(self._ids), "rule_id": "security.ssh_brute_force", "agent": "security",
            "domain": "security", "kind": kind, "device_id": f"dev-{fp % 5}",
            "host": f"ap-{fp % 5}", "severity": "major", "title": f"brute force {fp}",
            "summary": "", "fingerprint": f"fp-{fp:03d}", "labels": {"src": f"10.0.0.{fp}"},
            "evidence": ["e1"], "observed_at": T0, "detected_at": T0,
        }  # fmt: skip
        fields.update(overrides)
        return Finding(**fields)


@pytest.fixture
def make() -> Maker:
    return Maker()


@pytest.fixture
def engine() -> AlertEngine:
    return AlertEngine(lambda _rule: POLICY)


async def apply(
    sessions: Sessions,
    engine: AlertEngine,
    batch: Sequence[Finding],
    now: float,
    suppressor: Suppressor = NOTHING,
) -> list[AlertChange]:
    async with sessions() as session:
        changes = await engine.process(session, batch, now, suppressor)
        await session.commit()
    return changes


async def rows(sessions: Sessions, table: sa.Table, *order: str) -> list[Any]:
    async with sessions() as session:
        stmt = sa.select(table).order_by(*(table.c[name] for name in order or ("id",)))
        return list(await session.execute(stmt))


async def history(sessions: Sessions, alert_id: str) -> list[tuple[str, str]]:
    async with sessions() as session:
        stmt = sa.select(alert_history.c.change, alert_history.c.actor).where(
            alert_history.c.alert_id == alert_id
        )
        return [tuple(r) for r in await session.execute(stmt.order_by(alert_history.c.id))]


async def test_storm_of_100k_findings_lands_on_50_alerts(
    sessions: Sessions, engine: AlertEngine, make: Maker
) -> None:
    storm = [make(i % 50) for i in range(100_000)]
    started = time.perf_counter()
    published = 0
    for start in range(0, len(storm), 500):
        published += len(await apply(sessions, engine, storm[start : start + 500], T0 + start))
    elapsed = time.perf_counter() - started
    print(f"storm: 100,000 findings in {elapsed:.2f} s")
    assert elapsed < 60
    stored = await rows(sessions, alerts, "fingerprint")
    assert len(stored) == 50
    assert sum(r.occurrences for r in stored) == 100_000
    assert all(r.occurrences == 2000 and r.status == "firing" for r in stored)
    assert all(r.first_seen == T0 and r.last_seen == T0 + 99_500 for r in stored)
    assert len(await rows(sessions, findings)) == 100_000
    assert len(await rows(sessions, alert_history)) == 50  # the NEW of each; repeats only count
    assert published == 50 + 50 * 200  # the NEWs, then one count update per alert per batch


async def test_a_redelivered_batch_counts_once(
    sessions: Sessions, engine: AlertEngine, make: Maker
) -> None:
    batch = [make(0) for _ in range(10)]
    first = await apply(sessions, engine, batch, T0)
    again = await apply(sessions, engine, [*batch, make(0)], T0 + 5)
    (alert,) = await rows(sessions, alerts)
    assert alert.occurrences == 11
    assert [c.change for c in first] == ["new", "repeat"]
    assert [(c.change, c.occurrences) for c in again] == [("repeat", 11)]
    linked = {r.alert_id for r in await rows(sessions, findings)}
    assert linked == {alert.id}


async def test_clear_resolves_and_a_problem_reopens(
    sessions: Sessions, engine: AlertEngine, make: Maker
) -> None:
    (new,) = await apply(sessions, engine, [make(1)], T0)
    async with sessions() as session:
        await service.acknowledge(session, new.alert_id, "kim", T0 + 1)
        await session.commit()
    (cleared,) = await apply(sessions, engine, [make(1, "clear", title="recovered")], T0 + 10)
    assert (cleared.change, cleared.status, cleared.notify) == ("cleared", "resolved", True)
    (alert,) = await rows(sessions, alerts)
    assert (alert.status, alert.resolved_at, alert.title) == ("resolved", T0 + 10, "brute force 1")
    assert await apply(sessions, engine, [make(1, "clear")], T0 + 20) == []  # ignored
    (reopened,) = await apply(sessions, engine, [make(1)], T0 + 5000)
    assert (reopened.change, reopened.status, reopened.notify) == ("reopened", "firing", True)
    (alert,) = await rows(sessions, alerts)
    assert (alert.occurrences, alert.resolved_at, alert.acknowledged_by) == (2, None, None)
    assert [c for c, _ in await history(sessions, alert.id)] == [
        "new", "acknowledged", "cleared", "reopened",
    ]  # fmt: skip


async def test_a_clear_without_an_alert_is_stored_and_ignored(
    sessions: Sessions, engine: AlertEngine, make: Maker
) -> None:
    assert await apply(sessions, engine, [make(2, "clear")], T0) == []
    assert await rows(sessions, alerts) == []
    (stored,) = await rows(sessions, findings)
    assert stored.alert_id is None


async def test_flapping_alert_stops_notifying(
    sessions: Sessions, engine: AlertEngine, make: Maker
) -> None:
    changes = []
    for i in range(8):
        batch = [make(3, "clear" if i % 2 else "problem")]
        changes += await apply(sessions, engine, batch, T0 + i)
    assert [c.change for c in changes][-2:] == ["flapping", "flapping"]
    assert not any(c.notify for c in changes[-2:])
    (alert,) = await rows(sessions, alerts)
    assert alert.flapping and len(alert.transitions) == 8


async def test_silence_holds_matching_alerts_until_it_ends(
    sessions: Sessions, engine: AlertEngine, make: Maker
) -> None:
    silence = parse_silence({
        "id": "s1", "starts_at": T0, "ends_at": T0 + 100,
        "matchers": [{"label": "src", "op": "=~", "value": r"10\.0\.0\.(1|2)"}],
    })  # fmt: skip
    held = Suppressor([silence])
    changes = await apply(sessions, engine, [make(1), make(2), make(3), make(1)], T0, held)
    assert [(c.fingerprint, c.change, c.occurrences, c.notify) for c in changes] == [
        ("fp-001", "suppressed", 1, False), ("fp-001", "suppressed", 2, False),
        ("fp-002", "suppressed", 1, False), ("fp-003", "new", 1, True),
    ]  # fmt: skip
    by_fp = {r.fingerprint: r for r in await rows(sessions, alerts)}
    assert by_fp["fp-001"].occurrences == 2 and by_fp["fp-001"].suppressed_by == "silence:s1"
    assert by_fp["fp-003"].suppressed_by == ""
    await apply(sessions, engine, [make(2, "clear")], T0 + 50, held)  # resolved while held

    async with sessions() as session:
        assert await release_suppressions(session, T0 + 99, held) == []
        released = await release_suppressions(session, T0 + 100, held)
        await session.commit()
    assert [(c.fingerprint, c.change, c.notify) for c in released] == [
        ("fp-001", "unsuppressed", True)
    ]
    by_fp = {r.fingerprint: r for r in await rows(sessions, alerts)}
    assert by_fp["fp-001"].suppressed_by == by_fp["fp-002"].suppressed_by == ""
    assert by_fp["fp-001"].last_notified_at == T0 + 100
    assert [c for c, _ in await history(sessions, by_fp["fp-002"].id)] == [
        "suppressed", "cleared", "unsuppressed",
    ]  # fmt: skip
    async with sessions() as session:
        assert await release_suppressions(session, T0 + 200, held) == []


async def test_maintenance_window_of_a_site_holds_its_devices(
    sessions: Sessions, engine: AlertEngine, make: Maker
) -> None:
    saturday_2am_utc = 1_790_388_000.0  # 2026-09-26 (a Saturday) 02:00 UTC
    async with sessions() as session:
        await session.execute(sa.insert(devices), [
            {"id": "dev-1", "name": "ap-1", "address": "192.0.2.1", "hostname": "ap-1",
             "first_seen": T0, "last_seen": T0, "created_at": T0, "site": "berlin",
             "groups": ["core"]},
            {"id": "dev-2", "name": "ap-2", "address": "192.0.2.2", "hostname": "ap-2",
             "first_seen": T0, "last_seen": T0, "created_at": T0, "site": "", "groups": []},
        ])  # fmt: skip
        await session.execute(sa.insert(maintenance_windows).values(
            id="w1", name="weekly reboot", scope={"sites": ["berlin"]},
            schedule={"kind": "cron", "cron": "0 2 * * 6", "duration": 3600, "timezone": "UTC"},
            enabled=True, author="kim", comment="", created_at=T0, updated_at=T0,
        ))  # fmt: skip
        await session.commit()
        suppressor = await load_suppressor(session, saturday_2am_utc)
    now = saturday_2am_utc + 60
    changes = await apply(sessions, engine, [make(1), make(2)], now, suppressor)
    assert [(c.device_id, c.change, c.suppressed_by) for c in changes] == [
        ("dev-1", "suppressed", "maintenance:w1"), ("dev-2", "new", ""),
    ]  # fmt: skip
    assert suppressor.next_change_after(now) == saturday_2am_utc + 3600
    async with sessions() as session:
        assert await release_suppressions(session, now + 600, suppressor) == []
        released = await release_suppressions(session, saturday_2am_utc + 3600, suppressor)
        await session.commit()
    assert [(c.device_id, c.change, c.notify) for c in released] == [
        ("dev-1", "unsuppressed", True)
    ]


async def test_window_across_the_autumn_dst_change_releases_on_real_time(
    sessions: Sessions, engine: AlertEngine, make: Maker
) -> None:
    """Europe/Berlin, Sunday 2026-10-25: clocks go back from 03:00 CEST to 02:00 CET. A
    window from 02:00 local for 3 h opens at the first 02:00 (00:00 UTC) and closes 3 real
    hours later, 03:00 UTC (04:00 CET) — not at 05:00 local as a wall-clock reading would."""
    opens, closes = 1_792_886_400.0, 1_792_897_200.0  # 2026-10-25 00:00 and 03:00 UTC
    async with sessions() as session:
        await session.execute(sa.insert(devices), [
            {"id": "dev-1", "name": "ap-1", "address": "192.0.2.1", "hostname": "ap-1",
             "first_seen": T0, "last_seen": T0, "created_at": T0, "site": "", "groups": []},
        ])  # fmt: skip
        await session.execute(sa.insert(maintenance_windows).values(
            id="w-dst", name="sunday upgrades", scope={"devices": ["dev-1"]},
            schedule={"kind": "weekly", "days": ["sun"], "start": "02:00", "duration": 10800,
                      "timezone": "Europe/Berlin"},
            enabled=True, author="kim", comment="", created_at=T0, updated_at=T0,
        ))  # fmt: skip
        await session.commit()
        suppressor = await load_suppressor(session, opens)
    held = await apply(sessions, engine, [make(1)], opens + 7200, suppressor)  # 02:00 CET
    assert [(c.change, c.notify) for c in held] == [("suppressed", False)]
    async with sessions() as session:
        assert await release_suppressions(session, closes - 1, suppressor) == []
        released = await release_suppressions(session, closes, suppressor)
        await session.commit()
    assert [(c.change, c.notify) for c in released] == [("unsuppressed", True)]
    after = await apply(sessions, engine, [make(1)], closes + 1800, suppressor)  # 04:30 CET
    assert [(c.change, c.suppressed_by, c.notify) for c in after] == [("repeat", "", False)]
    (alert,) = await rows(sessions, alerts)
    assert alert.suppressed_by == "" and alert.occurrences == 2


async def test_stored_silences_load(sessions: Sessions) -> None:
    async with sessions() as session:
        for sid, ends in (("old", T0 - 1), ("now", T0 + 60)):
            await session.execute(sa.insert(silences).values(
                id=sid, matchers=[{"label": "host", "op": "=", "value": "ap-1"}],
                starts_at=T0 - 100, ends_at=ends, author="kim", comment="", created_at=T0,
                updated_at=T0,
            ))  # fmt: skip
        suppressor = await load_suppressor(session, T0)
    assert [s.id for s in suppressor.silences] == ["now"]
    assert suppressor.suppressed_by({"host": "ap-1"}, T0) == "silence:now"


async def test_operator_actions_keep_history(
    sessions: Sessions, engine: AlertEngine, make: Maker
) -> None:
    (new,) = await apply(sessions, engine, [make(4)], T0)
    alert_id = new.alert_id
    async with sessions() as session:
        acked = await service.acknowledge(session, alert_id, "kim", T0 + 1)
        assigned = await service.assign(session, alert_id, "kim", "lee", T0 + 2)
        commented = await service.comment(session, alert_id, "lee", "on it", T0 + 3)
        unacked = await service.unacknowledge(session, alert_id, "lee", T0 + 4)
        resolved = await service.resolve(session, alert_id, "lee", T0 + 5, comment="fixed")
        missing = await service.acknowledge(session, "01NOPE", "kim", T0)
        await session.commit()
    done = [acked, assigned, commented, unacked, resolved]
    assert [(c.change, c.notify) for c in done if c is not None] == [
        ("acknowledged", False), ("assigned", False), ("commented", False),
        ("unacknowledged", False), ("resolved", True),
    ]  # fmt: skip
    assert missing is None
    (alert,) = await rows(sessions, alerts)
    assert (alert.status, alert.resolved_at, alert.assignee) == ("resolved", T0 + 5, "lee")
    assert alert.acknowledged_by is None
    assert await history(sessions, alert_id) == [
        ("new", "system"), ("acknowledged", "kim"), ("assigned", "kim"),
        ("commented", "lee"), ("unacknowledged", "lee"), ("resolved", "lee"),
    ]  # fmt: skip
    (reopened,) = await apply(sessions, engine, [make(4)], T0 + 5000)
    assert reopened.change == "reopened"


async def test_two_engines_racing_on_a_new_fingerprint_make_one_alert(
    sessions: Sessions, engine: AlertEngine, make: Maker, request: pytest.FixtureRequest
) -> None:
    """Two alert engines (replicas, distributed mode) deciding the same brand-new fingerprint
    at once: the second waits for the first's commit. Embedded mode (SQLite) runs one."""
    if request.node.callspec.params["sessions"] == "sqlite":
        return
    first, second = [make(7) for _ in range(3)], [make(7) for _ in range(4)]
    other = AlertEngine(lambda _rule: POLICY)
    await asyncio.gather(
        apply(sessions, engine, first, T0 + 1), apply(sessions, other, second, T0 + 1)
    )
    (alert,) = await rows(sessions, alerts)
    assert alert.occurrences == 7
    assert len(await rows(sessions, findings)) == 7


async def test_a_flapping_alert_is_released_without_notifying(
    sessions: Sessions, engine: AlertEngine, make: Maker
) -> None:
    silence = parse_silence({
        "id": "s-flap", "starts_at": T0, "ends_at": T0 + 1000,
        "matchers": [{"label": "src", "op": "=", "value": "10.0.0.4"}],
    })  # fmt: skip
    held = Suppressor([silence])
    for step in range(8):  # problem, clear, problem, … : more than 6 changes in the window
        kind = "clear" if step % 2 else "problem"
        await apply(sessions, engine, [make(4, kind)], T0 + step, held)
    await apply(sessions, engine, [make(4)], T0 + 9, held)
    (alert,) = await rows(sessions, alerts)
    assert alert.flapping and alert.status == "firing" and alert.suppressed_by == "silence:s-flap"
    async with sessions() as session:
        released = await release_suppressions(session, T0 + 1000, held)
        await session.commit()
    assert [(c.change, c.notify) for c in released] == []
    (alert,) = await rows(sessions, alerts)
    assert alert.suppressed_by == ""
