"""Reload commands: announcing that configuration changed in the store, and hearing it.

Whoever commits a change of rules, suppression data or devices publishes a reload of that
kind on ``control.reload.<kind>``; every stage that caches such data listens with a listener
of its own process (each process hears every command) and reads the store again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from opsconductor.bus import subjects
from opsconductor.bus.protocol import Bus, Delivery, Handler, Subscription
from opsconductor.ids import new_ulid
from opsconductor.messages import ControlMessage

RELOADS = f"{subjects.CONTROL}.reload.>"


async def announce_reload(bus: Bus, kind: str, args: Mapping[str, str] | None = None) -> None:
    """Tell running stages that ``kind`` (``rules``, ``suppression``…) changed in the store."""
    message = ControlMessage(id=new_ulid(), verb="reload", kind=kind, args=dict(args or {}))
    await bus.publish(subjects.control("reload", kind), message, msg_id=message.id)


async def listen_for_reloads(bus: Bus, stage: str, handler: Handler) -> Subscription:
    """Hear every reload command, with a listener of this process's own."""
    return await bus.consume(RELOADS, f"{stage}-reload-{new_ulid()}", handler)


def reload_kinds(deliveries: Sequence[Delivery]) -> set[str]:
    """The kinds the delivered reload commands name."""
    return {
        d.message.kind
        for d in deliveries
        if isinstance(d.message, ControlMessage) and d.message.verb == "reload"
    }
