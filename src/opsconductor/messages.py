"""Frozen message types carried on the bus — the contracts between stages.

Every message carries a version (``v``) and its own id (a ULID), so each downstream write is
idempotent. High-rate subjects carry batches (``RawBatch``, ``EventBatch``), never one message
per publish. Nothing else lives in this module.
"""

from __future__ import annotations

import msgspec

MESSAGE_VERSION = 1


class RawEvent(msgspec.Struct, frozen=True, array_like=True):
    """One record as it arrived, before parsing: the bytes, when, how and from where."""

    id: str
    received_at: float
    source: str
    peer: str
    data: bytes
    v: int = MESSAGE_VERSION


class RawBatch(msgspec.Struct, frozen=True, array_like=True):
    """Raw records published together on ``raw.<source>``; ``id`` dedups a republished batch."""

    id: str
    events: list[RawEvent]
    v: int = MESSAGE_VERSION


class Event(msgspec.Struct, frozen=True, array_like=True):
    """A parsed, classified record. ``id`` equals the id of the ``RawEvent`` it came from.

    ``timestamp`` is the time the record itself states (UTC epoch seconds), filled in from
    ``received_at`` where the record states none. ``parse_status`` is ``ok`` (a known format,
    every field found), ``partial`` (a known format with fields missing) or ``generic`` (no
    known format: the raw text is the message).
    """

    id: str
    received_at: float
    timestamp: float
    source: str
    peer: str
    device_id: str
    host: str
    facility: int | None
    severity: int | None
    program: str
    procid: str
    msgid: str
    message: str
    structured_data: dict[str, dict[str, str]]
    extra: dict[str, str]
    format: str
    parse_status: str
    domain: str
    v: int = MESSAGE_VERSION


class EventBatch(msgspec.Struct, frozen=True, array_like=True):
    """Events published together on ``events.<domain>``."""

    id: str
    events: list[Event]
    v: int = MESSAGE_VERSION


class DeadLetter(msgspec.Struct, frozen=True, array_like=True):
    """A record that was rejected, kept with the reason so it is never silently lost."""

    id: str
    received_at: float
    source: str
    peer: str
    reason: str
    data: bytes
    stage: str = "parse"
    v: int = MESSAGE_VERSION


class DeadLetterBatch(msgspec.Struct, frozen=True, array_like=True):
    """Dead letters published together on ``deadletter.<stage>``."""

    id: str
    letters: list[DeadLetter]
    v: int = MESSAGE_VERSION


class ControlMessage(msgspec.Struct, frozen=True):
    """A command to running stages, on ``control.<verb>.<kind>`` (e.g. reload of rules)."""

    id: str
    verb: str
    kind: str
    args: dict[str, str] = {}
    v: int = MESSAGE_VERSION


Message = RawBatch | EventBatch | DeadLetterBatch | ControlMessage
