"""The pure alert decision: every outcome, cooldown, escalation, flapping and suppression."""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest

from opsconductor.alerts.decision import (
    FIRING,
    RESOLVED,
    AlertState,
    Decision,
    Outcome,
    Policy,
    decide,
)
from opsconductor.messages import Finding

T0 = 1_790_000_000.0
POLICY = Policy(cooldown=600.0, flap_count=4, flap_window=3600.0, escalate_after=0)


def finding(kind: str = "problem", severity: str = "minor") -> Finding:
    return Finding(
        id="01J00000000000000000000000", rule_id="wifi.deauth", agent="wifi", domain="wifi",
        kind=kind, device_id="dev-1", host="ap-1", severity=severity, title="t", summary="",
        fingerprint="fp-1", labels={"device_id": "dev-1"}, evidence=[], observed_at=T0,
        detected_at=T0,
    )  # fmt: skip


def state(**overrides: object) -> AlertState:
    base = AlertState(
        status=FIRING, severity="minor", base_severity="minor", occurrences=3, first_seen=T0,
        last_seen=T0 + 10, resolved_at=None, transitions=(T0,), flapping=False,
        suppressed_by="", last_notified_at=T0,
    )  # fmt: skip
    return replace(base, **overrides)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Case:
    name: str
    kind: str
    prior: AlertState | None
    now: float
    outcome: Outcome
    notify: bool
    expect: dict[str, object]
    policy: Policy = POLICY
    suppressed_by: str = ""
    severity: str = "minor"


RESOLVED_STATE = state(status=RESOLVED, resolved_at=T0 + 20, transitions=(T0, T0 + 20))
CASES = [
    Case("new", "problem", None, T0, Outcome.NEW, True,
         {"status": FIRING, "occurrences": 1, "first_seen": T0, "last_notified_at": T0,
          "transitions": (T0,)}),
    Case("repeat counts, no notification", "problem", state(), T0 + 100, Outcome.REPEAT, False,
         {"occurrences": 4, "last_seen": T0 + 100, "last_notified_at": T0, "transitions": (T0,)}),
    Case("cleared", "clear", state(), T0 + 100, Outcome.CLEARED, True,
         {"status": RESOLVED, "resolved_at": T0 + 100, "last_notified_at": T0 + 100,
          "transitions": (T0, T0 + 100), "occurrences": 3}),
    Case("cleared, never notified: silent", "clear", state(last_notified_at=None), T0 + 100,
         Outcome.CLEARED, False, {"status": RESOLVED, "last_notified_at": None}),
    Case("cleared within the cooldown still notifies", "clear", state(), T0 + 1,
         Outcome.CLEARED, True, {"status": RESOLVED}),
    Case("reopened", "problem", RESOLVED_STATE, T0 + 5000, Outcome.REOPENED, True,
         {"status": FIRING, "resolved_at": None, "occurrences": 4,
          "transitions": (T0 + 5000,)}),
    Case("reopened within the cooldown: silent", "problem",
         replace(RESOLVED_STATE, last_notified_at=T0 + 20), T0 + 30, Outcome.REOPENED, False,
         {"status": FIRING, "last_notified_at": T0 + 20}),
    Case("reopen resets escalated severity", "problem",
         replace(RESOLVED_STATE, severity="critical"), T0 + 5000, Outcome.REOPENED, True,
         {"severity": "major", "base_severity": "major"}, severity="major"),
    Case("clear without an alert", "clear", None, T0, Outcome.IGNORED, False, {}),
    Case("clear of a resolved alert", "clear", RESOLVED_STATE, T0 + 50, Outcome.IGNORED, False,
         {"status": RESOLVED, "resolved_at": T0 + 20, "occurrences": 3}),
    Case("suppressed new", "problem", None, T0, Outcome.SUPPRESSED, False,
         {"status": FIRING, "occurrences": 1, "suppressed_by": "silence:s1",
          "last_notified_at": None}, suppressed_by="silence:s1"),
    Case("suppressed repeat still counts", "problem", state(), T0 + 50, Outcome.SUPPRESSED,
         False, {"occurrences": 4, "last_seen": T0 + 50, "suppressed_by": "maintenance:w"},
         suppressed_by="maintenance:w"),
    Case("suppressed reopen", "problem", RESOLVED_STATE, T0 + 5000, Outcome.SUPPRESSED, False,
         {"status": FIRING, "occurrences": 4}, suppressed_by="silence:s1"),
    Case("suppressed clear is a silent clear", "clear", state(suppressed_by="silence:s1"),
         T0 + 50, Outcome.CLEARED, False, {"status": RESOLVED, "suppressed_by": "silence:s1"},
         suppressed_by="silence:s1"),
    Case("suppression over, still firing: told", "problem",
         state(suppressed_by="silence:s1", last_notified_at=None), T0 + 50, Outcome.REPEAT,
         True, {"suppressed_by": "", "last_notified_at": T0 + 50}),
    Case("escalates at the Nth repeat", "problem", state(occurrences=10, last_notified_at=T0),
         T0 + 1000, Outcome.REPEAT, True,
         {"severity": "major", "base_severity": "minor", "occurrences": 11},
         policy=replace(POLICY, escalate_after=10)),
    Case("no escalation between multiples", "problem", state(occurrences=11), T0 + 1000,
         Outcome.REPEAT, False, {"severity": "minor", "occurrences": 12},
         policy=replace(POLICY, escalate_after=10)),
    Case("escalation within the cooldown: silent", "problem",
         state(occurrences=10, last_notified_at=T0 + 900), T0 + 1000, Outcome.REPEAT, False,
         {"severity": "major"}, policy=replace(POLICY, escalate_after=10)),
    Case("escalation stops at critical", "problem",
         state(occurrences=10, severity="critical"), T0 + 1000, Outcome.REPEAT, False,
         {"severity": "critical"}, policy=replace(POLICY, escalate_after=10)),
    Case("fifth change in the window: flapping", "problem",
         replace(RESOLVED_STATE, transitions=(T0, T0 + 1, T0 + 2, T0 + 3)), T0 + 4,
         Outcome.FLAPPING, False,
         {"flapping": True, "status": FIRING, "transitions": (T0, T0 + 1, T0 + 2, T0 + 3, T0 + 4)}),
    Case("old changes drop out of the window", "problem",
         replace(RESOLVED_STATE, transitions=(T0 - 4000, T0 - 3900, T0 + 2, T0 + 3),
                 last_notified_at=T0 - 5000), T0 + 4,
         Outcome.REOPENED, True, {"flapping": False, "transitions": (T0 + 2, T0 + 3, T0 + 4)}),
    Case("clear while flapping", "clear",
         state(flapping=True, transitions=(T0, T0 + 1, T0 + 2, T0 + 3, T0 + 4)), T0 + 5,
         Outcome.FLAPPING, False, {"status": RESOLVED, "flapping": True}),
    Case("repeat while flapping is silent", "problem",
         state(flapping=True, transitions=(T0, T0 + 1, T0 + 2, T0 + 3, T0 + 4),
               last_notified_at=None),
         T0 + 5, Outcome.REPEAT, False, {"flapping": True}),
    Case("flapping holds above half the count", "problem",
         state(flapping=True, transitions=(T0, T0 + 1000, T0 + 2000, T0 + 3000)),
         T0 + 3650, Outcome.REPEAT, False,
         {"flapping": True, "transitions": (T0 + 1000, T0 + 2000, T0 + 3000)}),
    Case("flapping ends at half the count: told", "problem",
         state(flapping=True, transitions=(T0, T0 + 4, T0 + 3000, T0 + 3001),
               last_notified_at=None),
         T0 + 3605, Outcome.REPEAT, True,
         {"flapping": False, "transitions": (T0 + 3000, T0 + 3001), "last_notified_at": T0 + 3605}),
    Case("flap detection off", "problem",
         replace(RESOLVED_STATE, transitions=(T0, T0 + 1, T0 + 2, T0 + 3), last_notified_at=None),
         T0 + 4, Outcome.REOPENED, True, {"flapping": False, "transitions": ()},
         policy=replace(POLICY, flap_count=0)),
    Case("suppression outranks flapping", "problem",
         replace(RESOLVED_STATE, transitions=(T0, T0 + 1, T0 + 2, T0 + 3)), T0 + 4,
         Outcome.SUPPRESSED, False, {"flapping": True}, suppressed_by="silence:s1"),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_decide(case: Case) -> None:
    decision = decide(
        finding(case.kind, case.severity), case.prior, case.now, case.policy, case.suppressed_by
    )
    assert decision.outcome is case.outcome
    assert decision.notify is case.notify
    if case.prior is None and case.outcome is Outcome.IGNORED:
        assert decision.state is None
        return
    assert decision.state is not None
    for name, value in case.expect.items():
        assert getattr(decision.state, name) == value, name


def test_every_outcome_is_covered() -> None:
    assert {c.outcome for c in CASES} == set(Outcome)


def test_ignored_keeps_the_state() -> None:
    assert decide(finding("clear"), RESOLVED_STATE, T0 + 99, POLICY) == Decision(
        Outcome.IGNORED, RESOLVED_STATE, False
    )


def test_a_storm_folds_to_one_count_and_one_notification() -> None:
    current: AlertState | None = None
    notified = 0
    for i in range(1000):
        decision = decide(finding(), current, T0 + i, POLICY)
        current = decision.state
        notified += decision.notify
    assert current is not None
    assert (current.occurrences, current.first_seen, current.last_seen) == (1000, T0, T0 + 999)
    assert notified == 1


def test_flapping_enters_and_leaves() -> None:
    current: AlertState | None = None
    outcomes = []
    for i in range(6):
        kind = "clear" if i % 2 else "problem"
        decision = decide(finding(kind), current, T0 + i, POLICY)
        current, outcomes = decision.state, [*outcomes, decision.outcome]
    assert outcomes[:4] == [Outcome.NEW, Outcome.CLEARED, Outcome.REOPENED, Outcome.CLEARED]
    assert outcomes[4:] == [Outcome.FLAPPING, Outcome.FLAPPING]
    later = decide(finding(), current, T0 + 3603, POLICY)  # three changes left in the window
    assert (later.outcome, later.state and later.state.flapping) == (Outcome.FLAPPING, True)
    settled = decide(finding(), later.state, T0 + 3605, POLICY)  # two left: half of four
    assert settled.state is not None and not settled.state.flapping
    assert (settled.outcome, settled.notify) == (Outcome.REPEAT, True)


def test_an_unknown_severity_is_kept_when_escalating() -> None:
    policy = replace(POLICY, escalate_after=1)
    decision = decide(finding(severity="custom"), state(severity="custom"), T0 + 9, policy)
    assert decision.state is not None and decision.state.severity == "custom"
