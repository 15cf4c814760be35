"""A partition runner on a real bus and a real database: saved state, fencing, redelivery."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from opsconductor.agents.rules import Rule
from opsconductor.agents.runner import PartitionMoved, PartitionRunner
from opsconductor.bus.memory import MemoryBus
from opsconductor.bus.protocol import Delivery
from opsconductor.messages import Event, EventBatch, Finding, FindingBatch
from opsconductor.observability import Metrics
from opsconductor.store import create_engine, session_factory, upgrade

Sessions = async_sessionmaker[AsyncSession]
EventFactory = Callable[..., Event]
RuleFactory = Callable[..., Rule]
CONSUMER = ("events.>", "agents")


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[Sessions]:
    url = f"sqlite:///{tmp_path / 'agents.db'}"
    await upgrade(url)
    engine = create_engine(url)
    yield session_factory(engine)
    await engine.dispose()


@pytest.fixture
async def bus() -> AsyncIterator[MemoryBus]:
    memory = MemoryBus(queue_max_batches=64)
    await memory.start()
    yield memory
    await memory.close()


class Findings:
    """Every finding published on the bus."""

    def __init__(self) -> None:
        self.items: list[Finding] = []

    async def handle(self, deliveries: Sequence[Delivery]) -> None:
        for delivery in deliveries:
            assert isinstance(delivery.message, FindingBatch)
            self.items.extend(delivery.message.findings)


@pytest.fixture
async def findings(bus: MemoryBus) -> Findings:
    seen = Findings()
    await bus.consume("findings.>", "test-findings", seen.handle)
    return seen


@pytest.fixture
def threshold(make_rule: RuleFactory) -> Rule:
    return make_rule(
        kind="threshold", match={"program": "dropbear", "message": "bad password"},
        threshold={"count": 4, "window": "10m"},
    )  # fmt: skip


def runner_of(bus: MemoryBus, sessions: Sessions, rules: Sequence[Rule]) -> PartitionRunner:
    return PartitionRunner("p0", CONSUMER, bus, sessions, Metrics(), rules)


def batch(make_event: EventFactory, batch_id: str, times: Sequence[float]) -> Delivery:
    events = [make_event("Bad password attempt for 'root'", at=at) for at in times]
    return Delivery("events.security.0", EventBatch(batch_id, events))


async def settle(findings: Findings, count: int) -> list[Finding]:
    for _ in range(100):
        if len(findings.items) >= count:
            break
        await asyncio.sleep(0.01)
    return findings.items


async def test_state_carries_over_to_the_next_owner(
    bus: MemoryBus, sessions: Sessions, findings: Findings, make_event: EventFactory,
    threshold: Rule,
) -> None:  # fmt: skip
    first = runner_of(bus, sessions, [threshold])
    await first.start()
    await first.handle([batch(make_event, "b1", [0, 1])])
    await first.stop()
    second = runner_of(bus, sessions, [threshold])
    await second.start()
    await second.handle([batch(make_event, "b2", [2, 3])])
    await second.stop()
    [found] = await settle(findings, 1)
    assert found.count == 4


async def test_a_redelivered_batch_is_not_counted_twice(
    bus: MemoryBus, sessions: Sessions, findings: Findings, make_event: EventFactory,
    threshold: Rule,
) -> None:  # fmt: skip
    first = runner_of(bus, sessions, [threshold])
    await first.start()
    b1 = batch(make_event, "b1", [0, 1])
    await first.handle([b1])  # saved; the process dies before the bus's ack
    second = runner_of(bus, sessions, [threshold])
    await second.start()
    await second.handle([b1])  # redelivered: already in the state
    await second.handle([batch(make_event, "b2", [2])])
    assert await settle(findings, 1) == []  # 3 events, not 5
    await second.handle([batch(make_event, "b3", [3])])
    [found] = await settle(findings, 1)
    assert found.count == 4
    await second.stop()


async def test_a_former_owner_is_fenced_out(
    bus: MemoryBus, sessions: Sessions, make_event: EventFactory, threshold: Rule
) -> None:
    stale = runner_of(bus, sessions, [threshold])
    await stale.start()
    await stale.handle([batch(make_event, "b1", [0, 1])])
    owner = runner_of(bus, sessions, [threshold])
    await owner.start()  # claims the state: the stale runner's epoch is over
    with pytest.raises(PartitionMoved):
        await stale.handle([batch(make_event, "b2", [2])])
    assert stale.moved
    with pytest.raises(PartitionMoved):  # and it keeps refusing, so the bus redelivers
        await stale.handle([batch(make_event, "b3", [3])])
    await stale.stop()  # does not overwrite the owner's state
    await owner.stop()


def test_timers_wait_while_a_backlog_is_old(
    bus: MemoryBus, sessions: Sessions, threshold: Rule
) -> None:
    runner = runner_of(bus, sessions, [threshold])
    runner.newest_received = 1000.0
    assert runner.behind(pending=5, now=1100.0, tolerance=15.0)
    assert not runner.behind(pending=5, now=1010.0, tolerance=15.0)  # keeping up
    assert not runner.behind(pending=0, now=1100.0, tolerance=15.0)  # idle: silence is real
