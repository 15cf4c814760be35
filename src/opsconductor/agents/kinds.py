"""The four kinds of rule: match, threshold, absence and state (see docs/rules.md).

Windows are judged in the time the events state; the absence and hold timers also run
against the wall clock (``tick(now)`` versus the events' ``received_at``). Per-key state is
bounded by a ``KeyTable``; threshold windows hold fewer than ``count`` marks.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any, ClassVar, Generic, TypeVar

import msgspec

from opsconductor.agents.engine_state import (
    DEFAULT_MAX_KEYS,
    KeyTable,
    Mark,
    Memory,
    insert_sorted,
    trim_window,
)
from opsconductor.agents.fields import text_value
from opsconductor.agents.findings import NOTHING, Detection, Evaluator, seconds
from opsconductor.agents.rules import Flap, Rule, StateSpec
from opsconductor.messages import Event

S = TypeVar("S")


class MatchEvaluator(Evaluator):
    """Every matching event is a problem finding; an event matching ``clear`` a clear one."""

    def on_event(self, event: Event) -> Sequence[Detection]:
        """A problem finding for a matching event, a clear one for a clearing event."""
        groups = self.matchers["match"].match(event)
        if groups is not None:
            subject = self.remember(event, groups)
            finding = self.finding(subject, "problem", [subject.mark], event.received_at)
            return [Detection(finding, f"event {event.id} matches rule {self.rule.id}")]
        return self.clearing(event)

    def clearing(self, event: Event) -> Sequence[Detection]:
        """A clear finding when ``event`` matches the rule's ``clear`` conditions."""
        clear = self.matchers.get("clear")
        groups = None if clear is None else clear.match(event)
        return NOTHING if groups is None else [self.clear_detection(event, groups)]


class KeyedEvaluator(MatchEvaluator, Generic[S]):
    """A kind that keeps state per key in a bounded table, serialised with msgspec."""

    table_type: ClassVar[Any]
    """The msgspec type of the whole table, ``dict[str, <state of a key>]``."""

    def __init__(self, rule: Rule, agent: str, domains: Collection[str]) -> None:
        super().__init__(rule, agent, domains)
        self.table: KeyTable[S] = KeyTable()

    @property
    def evicted(self) -> int:
        """Keys dropped because the rule held too many."""
        return self.table.evicted

    def state_size(self) -> int:
        """Keys held."""
        return len(self.table)

    def dump(self) -> bytes:
        """The per-key state as msgpack."""
        return msgspec.msgpack.encode(self.table.items)

    def load(self, data: bytes) -> None:
        """Take over per-key state produced by ``dump`` (oldest keys first)."""
        items = msgspec.msgpack.decode(data, type=self.table_type)
        self.table.clear()
        for key, value in items.items():
            self.table.put(key, value)

    def key_text(self, event: Event, groups: Mapping[str, str], names: Sequence[str]) -> str:
        """The state key of an event without building its whole memory."""
        return "\x1f".join(text_value(event, name, groups) for name in names)

    def clearing(self, event: Event) -> Sequence[Detection]:
        """A clear finding for a clearing event; the key's state is forgotten."""
        found = super().clearing(event)
        if found:
            clear = self.matchers["clear"].match(event) or {}
            self.table.pop(self.key_text(event, clear, self.rule.key_fields()))
        return found


class ThresholdWindow(msgspec.Struct, array_like=True):
    """The recent matching events of one key, in stated-time order."""

    marks: list[Mark]
    last_received: float


class ThresholdEvaluator(KeyedEvaluator[ThresholdWindow]):
    """``count`` matching events within ``window`` per key yield one finding."""

    table_type = dict[str, ThresholdWindow]

    def on_event(self, event: Event) -> Sequence[Detection]:
        """Add a matching event to its key's window; fire when the window is full."""
        groups = self.matchers["match"].match(event)
        if groups is None:
            return self.clearing(event)
        spec, names = self.rule.threshold, self.rule.key_fields()
        assert spec is not None
        key = self.key_text(event, groups, names)
        window = self.table.get(key) or ThresholdWindow([], event.received_at)
        insert_sorted(window.marks, Mark(event.id, event.timestamp, event.received_at))
        window.last_received = max(window.last_received, event.received_at)
        trim_window(window.marks, spec.window, spec.count)
        if len(window.marks) < spec.count:
            self.table.put(key, window)
            return NOTHING
        self.table.pop(key)
        subject = self.remember(event, groups)
        evidence = window.marks
        finding = self.finding(
            subject, "problem", evidence, evidence[-1].received_at,
            count=len(evidence), window=spec.window,
        )  # fmt: skip
        reason = (
            f"{len(evidence)} matching events within {seconds(spec.window)} s for key "
            f"{self.describe_key(subject, names)} (threshold {spec.count})"
        )
        return [Detection(finding, reason)]

    def tick(self, now: float) -> Sequence[Detection]:
        """Forget keys that have been idle for longer than the window."""
        assert self.rule.threshold is not None
        window = self.rule.threshold.window
        for key in self.table:
            held = self.table.get(key)
            if held is not None and now - held.last_received > window:
                self.table.pop(key)
        return NOTHING


class Silence(msgspec.Struct, array_like=True):
    """The last matching event of one key and whether its absence was reported."""

    last: Memory
    fired: bool = False


class AbsenceEvaluator(KeyedEvaluator[Silence]):
    """A key that sent a matching event and then none for ``after`` yields one finding."""

    table_type = dict[str, Silence]

    def on_event(self, event: Event) -> Sequence[Detection]:
        """Arm (or re-arm) the key; report a silence the stated times reveal; clear."""
        groups = self.matchers["match"].match(event)
        if groups is None:
            return self.clearing(event)
        subject = self.remember(event, groups)
        key = self.key_of(subject, self.rule.fingerprint)
        held = self.table.get(key)
        self.table.put(key, Silence(subject))
        if held is None:
            return NOTHING
        if held.fired:
            return [self.clear_detection(event, groups)]
        if subject.mark.timestamp - held.last.mark.timestamp > self._after:
            return [self._silent(held.last), self.clear_detection(event, groups)]
        return NOTHING

    @property
    def _after(self) -> float:
        assert self.rule.absence is not None
        return self.rule.absence.after

    def tick(self, now: float) -> Sequence[Detection]:
        """A finding for every armed key silent for ``after`` by the wall clock."""
        found: list[Detection] = []
        for key in self.table:
            held = self.table.get(key)
            silent = held is not None and now - held.last.mark.received_at >= self._after
            if held is not None and silent and not held.fired:
                held.fired = True
                found.append(self._silent(held.last))
        return found

    def _silent(self, last: Memory) -> Detection:
        deadline = last.mark.received_at + self._after
        finding = self.finding(last, "problem", [last.mark], deadline)
        reason = (
            f"no matching event for {seconds(self._after)} s after event {last.mark.event_id} "
            f"for key {self.describe_key(last, self.rule.fingerprint)}"
        )
        return Detection(finding, reason)


class Switch(msgspec.Struct, array_like=True):
    """One key of a state rule: the open down event, whether its hold ran out, transitions."""

    down: Memory | None = None
    fired: bool = False
    transitions: list[Mark] = msgspec.field(default_factory=list)
    repeats: list[Mark] = msgspec.field(default_factory=list)
    """Further down events while open (before the hold ran out): evidence too, bounded."""


MAX_REPEATS = 16
"""Repeated down events kept as evidence of one open down."""


class StateEvaluator(KeyedEvaluator[Switch]):
    """Down opens, up closes; a down held open too long, or too many transitions, is a finding."""

    table_type = dict[str, Switch]

    def on_event(self, event: Event) -> Sequence[Detection]:
        """Open on a down event, close on an up event, clear on a clearing event."""
        common = self.matchers.get("match")
        shared = {} if common is None else common.match(event)
        if shared is not None:
            groups = self.matchers["down"].match(event)
            if groups is not None:
                return self._down(self.remember(event, {**shared, **groups}))
            groups = self.matchers["up"].match(event)
            if groups is not None:
                return self._up(event, {**shared, **groups})
        return self.clearing(event)

    def clearing(self, event: Event) -> Sequence[Detection]:
        """A clear finding for a clearing event that also meets the shared ``match`` (whose
        named groups it may use for the fingerprint); the key's state is forgotten."""
        clear, common = self.matchers.get("clear"), self.matchers.get("match")
        if clear is None:
            return NOTHING
        shared = {} if common is None else common.match(event)
        groups = None if shared is None else clear.match(event)
        if shared is None or groups is None:
            return NOTHING
        merged = {**shared, **groups}
        self.table.pop(self.key_text(event, merged, self.rule.key_fields()))
        return [self.clear_detection(event, merged)]

    def _down(self, subject: Memory) -> Sequence[Detection]:
        key = self.key_of(subject, self.rule.fingerprint)
        switch = self.table.get(key) or Switch()
        found: Sequence[Detection] = NOTHING
        if switch.down is None:  # a repeated down keeps the first: the hold counts from it
            switch.down, switch.fired, switch.repeats = subject, False, []
            found = self._transition(switch, subject)
        elif not switch.fired and len(switch.repeats) < MAX_REPEATS:
            switch.repeats.append(subject.mark)
        self.table.put(key, switch)
        return found

    def _up(self, event: Event, groups: Mapping[str, str]) -> Sequence[Detection]:
        subject = self.remember(event, groups)
        key = self.key_of(subject, self.rule.fingerprint)
        switch = self.table.get(key)
        if switch is None or switch.down is None:
            return NOTHING
        found: list[Detection] = []
        hold = self._spec.hold
        if switch.fired:
            found.append(self.clear_detection(event, groups))
        elif hold is not None and subject.mark.timestamp - switch.down.mark.timestamp > hold:
            held = self._held(switch.down, hold, switch.repeats)
            found += [held, self.clear_detection(event, groups)]
        switch.down, switch.fired, switch.repeats = None, False, []
        found.extend(self._transition(switch, subject))
        self.table.put(key, switch)
        return found

    @property
    def _spec(self) -> StateSpec:
        assert self.rule.state is not None
        return self.rule.state

    def _transition(self, switch: Switch, subject: Memory) -> Sequence[Detection]:
        flap = self._spec.flap
        if flap is None:
            return NOTHING
        insert_sorted(switch.transitions, subject.mark)
        trim_window(switch.transitions, flap.window, flap.count + 1)
        if len(switch.transitions) <= flap.count:
            return NOTHING
        evidence, switch.transitions = switch.transitions, []
        finding = self.finding(
            subject, "problem", evidence, evidence[-1].received_at,
            count=len(evidence), window=flap.window, labels={"flapping": "true"},
        )  # fmt: skip
        reason = (
            f"{len(evidence)} transitions within {seconds(flap.window)} s for key "
            f"{self.describe_key(subject, self.rule.fingerprint)} (more than {flap.count})"
        )
        return [Detection(finding, reason)]

    def _held(self, down: Memory, hold: float, repeats: Sequence[Mark]) -> Detection:
        evidence = [down.mark, *repeats]
        finding = self.finding(down, "problem", evidence, down.mark.received_at + hold)
        reason = (
            f"down event {down.mark.event_id} not followed by up within {seconds(hold)} s "
            f"for key {self.describe_key(down, self.rule.fingerprint)}"
        )
        return Detection(finding, reason)

    def tick(self, now: float) -> Sequence[Detection]:
        """Findings for downs held open past ``hold``; forget keys with nothing left to judge."""
        hold, flap = self._spec.hold, self._spec.flap
        found: list[Detection] = []
        for key in self.table:
            switch = self.table.get(key)
            if switch is None:
                continue
            down = switch.down
            if down is not None and hold is not None and not switch.fired:
                if now - down.mark.received_at >= hold:
                    switch.fired = True
                    found.append(self._held(down, hold, switch.repeats))
            elif down is None and not _recent(switch.transitions, now, flap):
                self.table.pop(key)
        return found


def _recent(transitions: list[Mark], now: float, flap: Flap | None) -> bool:
    if flap is None or not transitions:
        return False
    return now - max(mark.received_at for mark in transitions) <= flap.window


EVALUATORS: dict[str, type[Evaluator]] = {
    "match": MatchEvaluator,
    "threshold": ThresholdEvaluator,
    "absence": AbsenceEvaluator,
    "state": StateEvaluator,
}
"""The evaluator of each kind of rule."""


def evaluator_for(
    rule: Rule, agent: str, domains: Collection[str], max_keys: int = DEFAULT_MAX_KEYS
) -> Evaluator:
    """A fresh evaluator of ``rule`` (empty state, at most ``max_keys`` keys)."""
    evaluator = EVALUATORS[rule.kind](rule, agent, domains)
    if isinstance(evaluator, KeyedEvaluator):
        evaluator.table.limit = max_keys
    return evaluator
