"""What every kind of rule shares: compiled conditions, keys, and building findings.

A finding's fingerprint is a BLAKE2b hash of the rule id and the values of the rule's
``fingerprint`` fields; its id is derived from the moment of its last evidence (or its timer's
deadline) and what it says, so evaluating the same events again yields the same ids.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from opsconductor.agents.conditions import Matcher
from opsconductor.agents.engine_state import Mark, Memory
from opsconductor.agents.fields import render, template_fields, text_values
from opsconductor.agents.rules import Rule
from opsconductor.ids import derived_ulid
from opsconductor.messages import Event, Finding

NOTHING: Sequence[Detection] = ()
"""No detection (shared, never mutated)."""
_SEPARATOR = "\x1f"


@dataclass(frozen=True, slots=True)
class Detection:
    """A finding and the human reason the rule gave it."""

    finding: Finding
    reason: str


def fingerprint_of(rule_id: str, values: Sequence[str]) -> str:
    """The fingerprint of a problem: a hash of the rule id and the fingerprint values."""
    text = _SEPARATOR.join((rule_id, *values))
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def seconds(value: float) -> str:
    """A duration for a reason text: ``120``, ``1.5``."""
    return f"{value:g}"


class Evaluator:
    """Evaluates one rule; subclasses implement a kind and keep its state.

    ``on_event`` sees every event the engine's prefilter (``admits``) lets through; ``tick``
    runs timers against the wall clock; ``dump``/``load`` carry the state across restarts.
    """

    def __init__(self, rule: Rule, agent: str, domains: Collection[str]) -> None:
        self.rule = rule
        self.agent = agent
        self.matchers = {role: Matcher(c, domains) for role, c in rule.roles().items()}
        groups = [g for conditions in rule.roles().values() for g in conditions.groups()]
        self.label_names = tuple(dict.fromkeys([*rule.fingerprint, *groups]))
        self.value_names = tuple(
            dict.fromkeys(
                [
                    *rule.fingerprint,
                    *rule.key_fields(),
                    *template_fields(rule.title),
                    *template_fields(rule.summary),
                ]
            )
        )

    @property
    def evicted(self) -> int:
        """Keys dropped because the rule held too many."""
        return 0

    def admits(self, domain: str, program: str) -> bool:
        """True when some condition set of the rule may match events of this domain/program."""
        return any(m.admits(domain, program) for m in self.matchers.values())

    def on_event(self, event: Event) -> Sequence[Detection]:
        """Detections caused by one event."""
        raise NotImplementedError

    def tick(self, now: float) -> Sequence[Detection]:
        """Detections of timers that ran out by ``now``; prune idle state."""
        return NOTHING

    def state_size(self) -> int:
        """Keys held."""
        return 0

    def dump(self) -> bytes:
        """The state, serialised."""
        return b""

    def load(self, data: bytes) -> None:
        """Take over a state produced by ``dump``."""

    def remember(self, event: Event, groups: Mapping[str, str]) -> Memory:
        """What a finding about ``event`` needs, kept for later."""
        return Memory(
            mark=Mark(event.id, event.timestamp, event.received_at),
            device_id=event.device_id,
            host=event.host,
            domain=event.domain,
            values=text_values(event, self.value_names, groups),
        )

    def key_of(self, memory: Memory, names: Sequence[str]) -> str:
        """The state key of an event: the values of ``names`` joined."""
        return _SEPARATOR.join(memory.values.get(name, "") for name in names)

    def describe_key(self, memory: Memory, names: Sequence[str]) -> str:
        """``device_id=…, src=…`` for a reason text."""
        return ", ".join(f"{name}={memory.values.get(name, '')}" for name in names)

    def finding(
        self,
        subject: Memory,
        kind: str,
        evidence: Sequence[Mark],
        moment: float,
        *,
        count: int = 1,
        window: float = 0.0,
        labels: Mapping[str, str] | None = None,
    ) -> Finding:
        """A finding about ``subject`` backed by ``evidence`` (in stated-time order)."""
        rule, values = self.rule, subject.values
        fingerprint = fingerprint_of(rule.id, [values.get(f, "") for f in rule.fingerprint])
        evidence_ids = [mark.event_id for mark in evidence]
        key = _SEPARATOR.join((rule.id, fingerprint, kind, *evidence_ids)).encode()
        all_labels = {name: values[name] for name in self.label_names if name in values}
        return Finding(
            id=derived_ulid(moment, key),
            rule_id=rule.id,
            agent=self.agent,
            domain=subject.domain,
            kind=kind,
            device_id=subject.device_id,
            host=subject.host,
            severity=rule.severity,
            title=render(rule.title, values),
            summary=render(rule.summary, values),
            fingerprint=fingerprint,
            labels=all_labels | dict(labels or {}),
            evidence=evidence_ids,
            observed_at=evidence[-1].timestamp,
            detected_at=time.time(),
            count=count,
            window_seconds=window,
        )

    def clear_detection(self, event: Event, groups: Mapping[str, str]) -> Detection:
        """The clear finding of the problem ``event`` ends."""
        subject = self.remember(event, groups)
        finding = self.finding(subject, "clear", [subject.mark], subject.mark.received_at)
        reason = f"clearing event for {self.describe_key(subject, self.rule.fingerprint)}"
        return Detection(finding, reason)
