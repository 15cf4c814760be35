"""Builders and a collecting handler shared by the bus tests."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlparse

import pytest

from opsconductor.bus.protocol import Delivery
from opsconductor.ids import new_ulid, ulid_block
from opsconductor.messages import Event, EventBatch, RawBatch, RawEvent


def raw_batch(count: int = 3, *, source: str = "syslog", size: int = 120) -> RawBatch:
    """A batch of ``count`` raw records of ``size`` bytes each."""
    line = (b"<34>Oct 11 22:14:15 ap1 hostapd: wlan0: STA 00:11:22:33:44:55 " * (size // 60 + 1))[
        :size
    ]
    return RawBatch(
        id=new_ulid(),
        events=[
            RawEvent(id=i, received_at=1.7e9, source=source, peer="192.0.2.1", data=line)
            for i in ulid_block(count)
        ],
    )


def event_batch(count: int = 2, *, domain: str = "wireless") -> EventBatch:
    """A batch of ``count`` parsed events of one domain."""
    return EventBatch(
        id=new_ulid(),
        events=[
            Event(
                id=i,
                received_at=1.7e9,
                timestamp=1.7e9,
                source="syslog",
                peer="192.0.2.1",
                device_id="dev-1",
                host="ap1",
                facility=4,
                severity=2,
                program="hostapd",
                procid="",
                msgid="",
                message="wlan0: STA associated",
                structured_data={"meta@1": {"k": "v"}},
                extra={"sta": "00:11:22:33:44:55"},
                format="rfc3164",
                parse_status="ok",
                domain=domain,
            )
            for i in ulid_block(count)
        ],
    )


class Collector:
    """A handler that records what it gets; optionally blocks or fails first."""

    def __init__(self, *, fail_times: int = 0, delay: float = 0.0) -> None:
        self.deliveries: list[Delivery] = []
        self.calls = 0
        self.fail_times = fail_times
        self.delay = delay
        self.release = asyncio.Event()
        self.release.set()
        self.entered = asyncio.Event()
        self._changed = asyncio.Event()

    async def __call__(self, batch: Sequence[Delivery]) -> None:
        self.calls += 1
        self.entered.set()
        await self.release.wait()
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.calls <= self.fail_times:
            self._changed.set()
            raise RuntimeError("handler failure on purpose")
        self.deliveries.extend(batch)
        self._changed.set()

    @property
    def ids(self) -> list[str]:
        """Ids of the messages received, in order."""
        return [d.message.id for d in self.deliveries]

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[Delivery]:
        """Wait until at least ``count`` deliveries arrived (else fail)."""
        async with asyncio.timeout(timeout):
            while len(self.deliveries) < count:
                self._changed.clear()
                await self._changed.wait()
        return self.deliveries


async def eventually(predicate: object, timeout: float = 10.0, step: float = 0.05) -> None:
    """Poll an (async or plain) zero-argument callable until it returns true."""
    assert callable(predicate)
    async with asyncio.timeout(timeout):
        while True:
            result = predicate()
            if asyncio.iscoroutine(result):
                result = await result
            if result:
                return
            await asyncio.sleep(step)


NATS_URL = os.environ.get("OPSC_TEST_NATS_URL", "nats://127.0.0.1:4222")

#: Short timings so redelivery tests run in seconds.
JETSTREAM_TEST_OPTIONS: dict[str, Any] = {
    "ack_wait": 2.0,
    "max_attempts": 3,
    "redelivery_delay": 0.1,
    "fetch_timeout": 0.5,
    "pending_interval": 0.2,
}


def _nats_reachable(url: str) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 4222), 1):
            return True
    except OSError:
        return False


def require_nats() -> str:
    """The NATS URL; skip (or fail under ``OPSC_REQUIRE_SERVICES=1``) when unreachable."""
    if not _nats_reachable(NATS_URL):
        reason = f"NATS is unreachable at {NATS_URL} (set OPSC_REQUIRE_SERVICES=1 to fail)"
        if os.environ.get("OPSC_REQUIRE_SERVICES") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return NATS_URL


def unique_prefix() -> str:
    """A stream/subject prefix no other run uses."""
    return f"t{uuid.uuid4().hex[:12]}"
