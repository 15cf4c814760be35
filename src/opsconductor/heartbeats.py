"""Heartbeats: components saying they are alive on ``status.<component>``, and hearing them.

A ``HeartbeatLoop`` publishes what its ``beats`` callable returns every few seconds (the
runtime beats for each stage of its process, the agents stage for each agent). Beats are
sent with ``try_publish``: a heartbeat is worth nothing late, so a full queue drops it rather
than holding its sender. A ``HeartbeatBoard`` keeps the latest beat of every component with a
listener of its own process (the API's system status reads it); the store writes the agents'
beats to the ``agents`` table (``agents.registry.record_heartbeats``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from opsconductor.bus import subjects
from opsconductor.bus.protocol import Bus, Delivery, Subscription
from opsconductor.ids import new_ulid
from opsconductor.messages import Heartbeat

log = logging.getLogger(__name__)

KINDS = ("agent", "stage")
"""What sends a heartbeat: a domain agent or a pipeline stage."""
STATUSES = ("ok", "degraded", "stopped")
"""What a heartbeat can say."""
STALE_BEATS = 3
"""A component whose last beat is older than this many intervals is stale."""

Beats = Callable[[], Awaitable[list[Heartbeat]]]


def origin() -> dict[str, Any]:
    """Where a beat comes from: host and process id (replicas share a component name)."""
    return {"host": socket.gethostname(), "pid": os.getpid()}


def heartbeat(
    component: str,
    kind: str,
    status: str = "ok",
    detail: dict[str, Any] | None = None,
    at: float | None = None,
) -> Heartbeat:
    """A beat of ``component`` now (or at ``at``), with its origin in ``detail``."""
    if kind not in KINDS or status not in STATUSES:
        raise ValueError(f"heartbeat kind {kind!r} / status {status!r} is not one of the known")
    return Heartbeat(
        component=component,
        kind=kind,
        at=time.time() if at is None else at,
        status=status,
        detail={**origin(), **(detail or {})},
    )


def send(bus: Bus, beats: Sequence[Heartbeat]) -> None:
    """Publish ``beats`` without waiting; a beat the bus cannot take now is dropped."""
    for beat in beats:
        if not bus.try_publish(subjects.status(beat.component), beat, msg_id=new_ulid()):
            log.debug("heartbeat of %s dropped: the bus is full", beat.component)


def is_stale(last_seen: float | None, interval: float, now: float) -> bool:
    """Whether a component last heard at ``last_seen`` missed ``STALE_BEATS`` beats."""
    return last_seen is None or now - last_seen > STALE_BEATS * interval


class HeartbeatLoop:
    """Publishes ``beats()`` at start and every ``interval`` seconds until stopped."""

    def __init__(self, bus: Bus, interval: float, beats: Beats, name: str = "heartbeats") -> None:
        self._bus = bus
        self._interval = interval
        self._beats = beats
        self._name = name
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Beat once now, then keep beating in the background."""
        await self.beat()
        self._task = asyncio.create_task(self._run(), name=self._name)

    async def stop(self, final: Sequence[Heartbeat] = ()) -> None:
        """Stop beating; send ``final`` beats (e.g. ``stopped``) on the way out."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        send(self._bus, final)

    async def beat(self) -> None:
        """Publish the current beats once."""
        try:
            send(self._bus, await self._beats())
        except Exception:
            log.exception("%s: could not send heartbeats", self._name)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            await self.beat()


class HeartbeatBoard:
    """The latest heartbeat of every component this process has heard."""

    def __init__(self) -> None:
        self.latest: dict[str, Heartbeat] = {}
        self._subscription: Subscription | None = None

    async def start(self, bus: Bus) -> None:
        """Listen to ``status.>`` with a listener of this process."""
        self._subscription = await bus.consume(
            f"{subjects.STATUS}.>", f"board-{new_ulid()}", self.handle, listener=True
        )

    async def stop(self) -> None:
        """Stop listening."""
        if self._subscription is not None:
            await self._subscription.stop()
            self._subscription = None

    async def handle(self, deliveries: Sequence[Delivery]) -> None:
        """Keep the newest beat per component."""
        for delivery in deliveries:
            beat = delivery.message
            if isinstance(beat, Heartbeat):
                known = self.latest.get(beat.component)
                if known is None or known.at <= beat.at:
                    self.latest[beat.component] = beat
