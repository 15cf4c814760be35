"""The rule engine: evaluates an agent's rules on events and timers, and keeps their state.

The hot path is :meth:`RuleEngine.evaluate_batch`: each event is first looked up by
(domain, program) in a memo of the rules that may admit it — one dictionary lookup for an
event no rule cares about — and only those rules test the rest of their conditions.

State (threshold windows, absence and hold timers, flap counts) is per rule and per key,
bounded, and survives a restart through :meth:`~RuleEngine.snapshot` and
:meth:`~RuleEngine.restore`, or a rule reload through :meth:`~RuleEngine.replace_rules` for
every rule whose evaluated definition did not change.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Collection, Sequence

import msgspec

from opsconductor.agents.engine_state import DEFAULT_MAX_KEYS
from opsconductor.agents.findings import Detection, Evaluator
from opsconductor.agents.kinds import evaluator_for
from opsconductor.agents.prefilter import any_literal
from opsconductor.agents.rules import Rule
from opsconductor.messages import Event

log = logging.getLogger(__name__)

SNAPSHOT_VERSION = 1
_CANDIDATES_LIMIT = 4096
_STATEFUL_PARTS = frozenset(
    {"kind", "match", "fingerprint", "threshold", "absence", "state", "clear"}
)

__all__ = ["Detection", "RuleEngine", "state_key"]

_Candidates = tuple[tuple[Evaluator, tuple[str, ...] | None], ...]
"""The evaluators that may admit events of one (domain, program), each with the literals one
of which a lower-cased ASCII message must hold for it to match (``None``: no such test)."""


class _RuleState(msgspec.Struct, array_like=True):
    state_key: str
    data: bytes


class _Snapshot(msgspec.Struct, array_like=True):
    v: int
    rules: dict[str, _RuleState]


def state_key(rule: Rule) -> str:
    """A hash of what a rule's state depends on (not its title, severity or texts)."""
    document = rule.model_dump(mode="json", include=set(_STATEFUL_PARTS))
    text = json.dumps(document, sort_keys=True, separators=(",", ":"))
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


class RuleEngine:
    """Evaluates ``rules`` (the enabled ones) for one agent.

    ``domains`` are the domains a rule's conditions take when they name none. Findings carry
    ``agent`` as their agent. ``max_keys`` caps the keys each rule keeps state for.
    """

    def __init__(
        self,
        rules: Sequence[Rule],
        agent: str,
        domains: Collection[str],
        *,
        max_keys: int = DEFAULT_MAX_KEYS,
    ) -> None:
        self.agent = agent
        self.domains = frozenset(domains)
        self.max_keys = max_keys
        self._evaluators: dict[str, Evaluator] = {}
        self._state_keys: dict[str, str] = {}
        self._candidates: dict[tuple[str, str], _Candidates] = {}
        self.replace_rules(rules)

    @property
    def rules(self) -> list[Rule]:
        """The rules evaluated."""
        return [evaluator.rule for evaluator in self._evaluators.values()]

    @property
    def evicted(self) -> int:
        """Keys dropped (over all rules) because a rule held more than ``max_keys``."""
        return sum(evaluator.evicted for evaluator in self._evaluators.values())

    def evaluate(self, event: Event) -> list[Detection]:
        """The detections one event causes."""
        return self.evaluate_batch((event,))

    def evaluate_batch(self, events: Sequence[Event]) -> list[Detection]:
        """The detections a batch of events causes, in event order."""
        detections: list[Detection] = []
        memo = self._candidates
        for event in events:
            candidates = memo.get((event.domain, event.program))
            if candidates is None:
                candidates = self._admitting(event.domain, event.program)
            if not candidates:
                continue
            message = event.message
            lowered = message.lower() if message.isascii() else None
            for evaluator, literals in candidates:
                if literals is not None and lowered is not None:
                    for literal in literals:
                        if literal in lowered:
                            break
                    else:
                        continue  # no rule expression of this evaluator can match
                found = evaluator.on_event(event)
                if found:
                    detections.extend(found)
        return detections

    def tick(self, now: float) -> list[Detection]:
        """Detections of absence and hold timers run out by the wall clock ``now``; idle
        state is pruned."""
        detections: list[Detection] = []
        for evaluator in self._evaluators.values():
            detections.extend(evaluator.tick(now))
        return detections

    def replace_rules(self, rules: Sequence[Rule]) -> None:
        """Evaluate ``rules`` from now on; a rule whose evaluated definition did not change
        keeps its state, the others start empty."""
        evaluators: dict[str, Evaluator] = {}
        keys: dict[str, str] = {}
        for rule in rules:
            if not rule.enabled:
                continue
            key = state_key(rule)
            try:
                evaluator = evaluator_for(rule, self.agent, self.domains, self.max_keys)
            except Exception:  # a rule that cannot run must not stop the others
                log.exception(
                    "agent %s: rule %s cannot be evaluated; left out", self.agent, rule.id
                )
                continue
            previous = self._evaluators.get(rule.id)
            if previous is not None and self._state_keys.get(rule.id) == key:
                evaluator.load(previous.dump())
            evaluators[rule.id], keys[rule.id] = evaluator, key
        self._evaluators, self._state_keys = evaluators, keys
        self._candidates = {}

    def snapshot(self) -> bytes:
        """All window and timer state, as msgpack."""
        rules = {
            rule_id: _RuleState(self._state_keys[rule_id], evaluator.dump())
            for rule_id, evaluator in self._evaluators.items()
            if evaluator.state_size()
        }
        return msgspec.msgpack.encode(_Snapshot(SNAPSHOT_VERSION, rules))

    def restore(self, data: bytes) -> None:
        """Take over the state of a snapshot for every rule whose definition is unchanged
        (an unreadable snapshot is logged and ignored)."""
        try:
            snapshot = msgspec.msgpack.decode(data, type=_Snapshot)
            for rule_id, saved in snapshot.rules.items():
                evaluator = self._evaluators.get(rule_id)
                if evaluator is not None and self._state_keys[rule_id] == saved.state_key:
                    evaluator.load(saved.data)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            log.warning(
                "agent %s: rule state snapshot unreadable, starting empty: %s", self.agent, exc
            )

    def state_size(self) -> int:
        """Keys held over all rules."""
        return sum(evaluator.state_size() for evaluator in self._evaluators.values())

    def _admitting(self, domain: str, program: str) -> _Candidates:
        """The rules that may admit events of (domain, program), each with the literals one
        of which a message must hold for any of its conditions to match."""
        entry = tuple(
            (
                evaluator,
                any_literal(
                    matcher.literals
                    for matcher in evaluator.matchers.values()
                    if matcher.admits(domain, program)
                ),
            )
            for evaluator in self._evaluators.values()
            if evaluator.admits(domain, program)
        )
        if len(self._candidates) >= _CANDIDATES_LIMIT:
            self._candidates.clear()
        self._candidates[(domain, program)] = entry
        return entry
