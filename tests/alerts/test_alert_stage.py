"""The alerts stage on a real bus and database: a batch that was committed but never
published is published when it comes back."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from opsconductor.alerts.consumer import AlertStage
from opsconductor.bus.memory import MemoryBus
from opsconductor.bus.protocol import Delivery
from opsconductor.config import Settings
from opsconductor.errors import BusError
from opsconductor.ids import ulid_block
from opsconductor.messages import AlertChange, AlertChangeBatch, Finding, FindingBatch
from opsconductor.observability import Metrics
from opsconductor.store import create_engine, session_factory, upgrade
from opsconductor.system_settings import write_setting

T0 = 1_790_000_000.0


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    url = f"sqlite:///{tmp_path / 'alerts.db'}"
    await upgrade(url)
    engine = create_engine(url)
    yield session_factory(engine)
    await engine.dispose()


def finding(finding_id: str, fingerprint: str) -> Finding:
    return Finding(
        id=finding_id, rule_id="security.ssh_brute_force", agent="security",
        domain="security", kind="problem", device_id="dev-1", host="ap-1", severity="major",
        title="brute force", summary="", fingerprint=fingerprint, labels={"src": "10.0.0.1"},
        evidence=["e1"], observed_at=T0, detected_at=T0,
    )  # fmt: skip


async def test_a_redelivered_batch_publishes_what_its_first_attempt_could_not(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    ids = ulid_block(2, T0)
    delivery = FindingBatch("fb-1", [finding(ids[0], "fp-a"), finding(ids[1], "fp-b")])
    settings = Settings(data_dir=tmp_path)
    dead = MemoryBus()
    await dead.start()
    await dead.close()  # the first attempt commits, then cannot publish (and dies)
    first = AlertStage(settings, dead, sessions, Metrics())
    await first.refresh()
    with pytest.raises(BusError):
        await first.handle([Delivery("findings.security", delivery)])

    live = MemoryBus()
    await live.start()
    published: list[AlertChange] = []

    async def collect(deliveries: Sequence[Delivery]) -> None:
        for item in deliveries:
            assert isinstance(item.message, AlertChangeBatch)
            published.extend(item.message.changes)

    await live.consume("alerts.>", "test-alerts", collect)
    second = AlertStage(settings, live, sessions, Metrics())
    await second.refresh()
    await second.handle([Delivery("findings.security", delivery, redelivered=True)])
    for _ in range(100):
        if len(published) >= 2:
            break
        await asyncio.sleep(0.01)
    await live.close()
    assert sorted((c.fingerprint, c.change, c.notify) for c in published) == [
        ("fp-a", "new", True), ("fp-b", "new", True),
    ]  # fmt: skip


async def test_run_time_settings_set_the_default_policy(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    """An operator's stored cooldown and escalation replace the configured defaults."""
    stage = AlertStage(Settings(data_dir=tmp_path), MemoryBus(), sessions, Metrics())
    await stage.refresh()
    assert stage.policy_for("no.such.rule").cooldown == 900.0
    async with sessions() as session, session.begin():
        await write_setting(session, "alert_cooldown_seconds", 60.0, "test", time.time())
        await write_setting(session, "alert_escalate_after", 3, "test", time.time())
    await stage.refresh()
    policy = stage.policy_for("no.such.rule")
    assert (policy.cooldown, policy.escalate_after) == (60.0, 3)
