"""Frozen message types carried on the bus — the contracts between stages.

Every message carries a version (``v``) and its own id (a ULID), so each downstream write is
idempotent. High-rate subjects carry batches (``RawBatch``, ``EventBatch``), never one message
per publish. Nothing else lives in this module.
"""

from __future__ import annotations

from typing import Any

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


class Finding(msgspec.Struct, frozen=True, array_like=True):
    """What an agent concluded from events: a problem (``kind="problem"``) or its end
    (``kind="clear"``), published on ``findings.<agent>``.

    ``id`` is deterministic (the rule, the fingerprint and the last evidence event), so a batch
    evaluated twice after a crash yields the same ids and the store keeps one row.
    ``fingerprint`` names the problem: findings with the same fingerprint are one alert.
    ``labels`` holds the fingerprint fields and the values the rule captured. ``evidence`` lists
    the ids of the events behind the finding (the log lines an operator can read).
    ``observed_at`` is the time the last evidence event states; ``detected_at`` the wall clock
    when the agent concluded. ``count``/``window_seconds`` describe threshold and flap findings.
    ``severity`` is an alert level name (``critical``, ``major``, ``minor``, ``warning``,
    ``info``).
    """

    id: str
    rule_id: str
    agent: str
    domain: str
    kind: str
    device_id: str
    host: str
    severity: str
    title: str
    summary: str
    fingerprint: str
    labels: dict[str, str]
    evidence: list[str]
    observed_at: float
    detected_at: float
    count: int = 1
    window_seconds: float = 0.0
    v: int = MESSAGE_VERSION


class FindingBatch(msgspec.Struct, frozen=True, array_like=True):
    """Findings published together on ``findings.<agent>``."""

    id: str
    findings: list[Finding]
    v: int = MESSAGE_VERSION


class AlertChange(msgspec.Struct, frozen=True, array_like=True):
    """One change of one alert, published on ``alerts.<change>`` after it is stored.

    ``change`` is the decision's outcome in lower case (``new``, ``repeat``, ``cleared``,
    ``reopened``, ``suppressed``, ``flapping``) or an operator's action (``acknowledged``,
    ``resolved``, ``unsuppressed``…). ``notify`` is True when a notifier should tell someone:
    not during the alert's cooldown, a silence, a maintenance window or flapping.
    """

    id: str
    alert_id: str
    fingerprint: str
    change: str
    status: str
    severity: str
    occurrences: int
    rule_id: str
    device_id: str
    title: str
    at: float
    notify: bool
    suppressed_by: str = ""
    finding_id: str = ""
    v: int = MESSAGE_VERSION


class AlertChangeBatch(msgspec.Struct, frozen=True, array_like=True):
    """Alert changes published together on ``alerts.<change>``."""

    id: str
    changes: list[AlertChange]
    v: int = MESSAGE_VERSION


class ControlMessage(msgspec.Struct, frozen=True):
    """A command to running stages, on ``control.<verb>.<kind>`` (e.g. reload of rules)."""

    id: str
    verb: str
    kind: str
    args: dict[str, str] = {}
    v: int = MESSAGE_VERSION


class Heartbeat(msgspec.Struct, frozen=True):
    """A component saying it is alive, on ``status.<component>`` every few seconds.

    ``kind`` is ``agent`` (a domain agent) or ``stage`` (a pipeline stage); ``status`` is
    ``ok``, ``degraded`` or ``stopped`` (sent once when it stops); ``at`` is the wall clock of
    the beat; ``detail`` carries what the component wants an operator to see (counts, errors).
    """

    component: str
    kind: str
    at: float
    status: str
    detail: dict[str, Any] = {}
    v: int = MESSAGE_VERSION


Message = (
    RawBatch
    | EventBatch
    | DeadLetterBatch
    | FindingBatch
    | AlertChangeBatch
    | ControlMessage
    | Heartbeat
)
