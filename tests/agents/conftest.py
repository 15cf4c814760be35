"""Shared plumbing of the agents tests: events built field by field, rules from mappings."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from opsconductor.agents.rules import Rule, parse_rule
from opsconductor.messages import Event

RECEIVED_AT = 1780315200.0
"""2026-06-01 12:00:00 UTC: the arrival time used when a test does not care."""

EventFactory = Callable[..., Event]
RuleFactory = Callable[..., Rule]


@pytest.fixture
def make_event() -> EventFactory:
    """Build an Event; ``at`` sets both times (seconds after RECEIVED_AT) unless given apart."""
    counter = iter(range(1, 1_000_000))

    def build(message: str = "", at: float = 0.0, **fields: Any) -> Event:
        number = next(counter)
        values: dict[str, Any] = {
            "id": f"01J{number:023d}",
            "received_at": RECEIVED_AT + at,
            "timestamp": RECEIVED_AT + at,
            "source": "udp",
            "peer": "192.0.2.7:514",
            "device_id": "dev-1",
            "host": "router1",
            "facility": 3,
            "severity": 6,
            "program": "dropbear",
            "procid": "",
            "msgid": "",
            "message": message,
            "structured_data": {},
            "extra": {},
            "format": "openwrt",
            "parse_status": "ok",
            "domain": "security",
        }
        values.update(fields)
        return Event(**values)

    return build


@pytest.fixture
def make_rule() -> RuleFactory:
    """A valid rule document with the given keys replaced, parsed."""

    def build(**overrides: Any) -> Rule:
        document: dict[str, Any] = {
            "id": "test.rule",
            "agent": "security",
            "title": "Test rule on {host}",
            "severity": "major",
            "kind": "match",
            "match": {"program": "dropbear"},
        }
        document.update(overrides)
        return parse_rule({k: v for k, v in document.items() if v is not None})

    return build
