"""Helpers shared by the parse tests."""

from __future__ import annotations

from opsconductor.messages import RawEvent

RECEIVED_AT = 1780315200.0
"""2026-06-01 12:00:00 UTC: the arrival time used when a test does not care."""


def raw_event(
    data: bytes, received_at: float = RECEIVED_AT, peer: str = "192.0.2.7:514"
) -> RawEvent:
    """A RawEvent as a UDP receiver would build it."""
    return RawEvent(
        id="01J00000000000000000000000",
        received_at=received_at,
        source="udp",
        peer=peer,
        data=data,
    )
