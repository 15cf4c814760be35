"""Shared pieces of the engine tests: rules as documents, events, the engine of a rule."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from opsconductor.agents.agent import AGENT_DOMAINS
from opsconductor.agents.engine import Detection, RuleEngine
from opsconductor.agents.rules import Rule
from opsconductor.messages import Event

EventFactory = Callable[..., Event]
RuleFactory = Callable[..., Rule]
RECEIVED_AT = 1780315200.0  # the arrival time of make_event(at=0)

FAILED = "Bad password attempt for 'root' from {src}:22"
BRUTE: dict[str, Any] = {
    "id": "security.ssh_brute_force",
    "title": "SSH brute force from {src}",
    "kind": "threshold",
    "match": {
        "program": ["dropbear", "sshd"],
        "message": r"bad password .* from (?P<src>[0-9a-f.:]+):\d+$",
    },
    "fingerprint": ["device_id", "src"],
    "threshold": {"count": 3, "window": "2m"},
    "clear": {"message": r"password auth succeeded .* from (?P<src>[0-9a-f.:]+):\d+$"},
}
LINK: dict[str, Any] = {
    "id": "wan.link_down",
    "agent": "wan",
    "title": "{ifname} down on {host}",
    "kind": "state",
    "match": None,
    "fingerprint": ["device_id", "ifname"],
    "state": {
        "down": {"message": r"interface '(?P<ifname>\w+)' is now down"},
        "up": {"message": r"interface '(?P<ifname>\w+)' is now up"},
        "hold": "5m",
    },
}


def engine_of(*rules: Rule, **options: Any) -> RuleEngine:
    return RuleEngine(rules, rules[0].agent, AGENT_DOMAINS[rules[0].agent], **options)


def kinds(detections: list[Detection]) -> list[str]:
    return [detection.finding.kind for detection in detections]


def failures(make_event: EventFactory, times: list[float], src: str = "1.2.3.4") -> list[Event]:
    return [make_event(FAILED.format(src=src), at=at) for at in times]


def link(make_event: EventFactory, state: str, at: float, **fields: Any) -> Event:
    message = f"Interface 'wan' is now {state}"
    return make_event(message, at=at, **{"program": "netifd", "domain": "wan", **fields})
