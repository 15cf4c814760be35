"""The alert decision: a pure function of (finding, the alert's state, now, policy, suppression).

``decide`` never reads a clock or a database; it returns a ``Decision`` — the named outcome,
the alert's next state and whether a notifier should tell someone. The service applies it.

Outcomes
    ==========  ==============================================================================
    NEW         a problem finding and no alert: firing, ``occurrences`` 1, ``first_seen`` =
                ``last_seen`` = now, ``severity`` = ``base_severity`` = the finding's.
    REPEAT      a problem finding for a firing alert: ``occurrences`` + 1, ``last_seen`` = now.
                With ``policy.escalate_after`` = N > 0 the severity rises one level (up to
                ``critical``) each time N further repeats have arrived, i.e. when
                ``(occurrences - 1) % N == 0``.
    REOPENED    a problem finding for a resolved alert: firing again, ``occurrences`` + 1,
                ``resolved_at`` cleared, severity back to the finding's (escalation then goes on
                counting the alert's occurrences: it rises when ``(occurrences - 1) % N == 0``).
    CLEARED     a clear finding for a firing alert: resolved, ``resolved_at`` = now.
    IGNORED     a clear finding for an alert that is resolved or does not exist; the state is
                returned unchanged (``None`` when there is no alert).
    SUPPRESSED  ``suppressed_by`` is not empty and the outcome would be NEW, REPEAT or
                REOPENED: the state moves exactly as that outcome would (counts move), it is
                marked ``suppressed_by``, and nobody is notified.
    FLAPPING    a status change (NEW, REOPENED, CLEARED) leaves the alert flapping.
    ==========  ==============================================================================

Flapping
    Every status change appends ``now`` to ``transitions``; on every decision only the times
    within ``policy.flap_window`` (``t > now - flap_window``) are kept. More than
    ``flap_count`` of them and the alert is flapping; it stays flapping until the window holds
    at most ``flap_count / 2``. ``flap_count <= 0`` turns detection off. A REPEAT while
    flapping stays a REPEAT (without notification).

Suppression is checked before flapping: a suppressed problem is SUPPRESSED even if it also
flaps. A clear finding is never SUPPRESSED (it is CLEARED or FLAPPING); the state's
``suppressed_by`` always records the suppression in force at this decision.

Notification (``notify``) — never while suppressed or flapping; otherwise:
    * NEW: always.
    * REOPENED: unless within ``policy.cooldown`` of ``last_notified_at``.
    * REPEAT: when it escalated the severity or ended flapping, unless within the cooldown;
      and when it ended a suppression (the alert was held and is firing), cooldown or not.
    * CLEARED: when the alert was ever notified (``last_notified_at`` is set), cooldown or not.
    When ``notify`` is true the new state's ``last_notified_at`` is ``now``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from opsconductor.messages import Finding
from opsconductor.severity import ALERT_LEVELS, raise_level

FIRING = "firing"
RESOLVED = "resolved"


class Outcome(StrEnum):
    """What a finding did to its alert (the value is the ``alerts.<change>`` subject token)."""

    NEW = "new"
    REPEAT = "repeat"
    CLEARED = "cleared"
    REOPENED = "reopened"
    SUPPRESSED = "suppressed"
    FLAPPING = "flapping"
    IGNORED = "ignored"


@dataclass(frozen=True, slots=True)
class AlertState:
    """The part of an alert a decision reads and writes (times are epoch seconds)."""

    status: str
    severity: str
    base_severity: str
    occurrences: int
    first_seen: float
    last_seen: float
    resolved_at: float | None
    transitions: tuple[float, ...]
    flapping: bool
    suppressed_by: str
    last_notified_at: float | None


@dataclass(frozen=True, slots=True)
class Policy:
    """How a rule's alerts behave: notification cooldown, flap detection, escalation."""

    cooldown: float = 900.0
    flap_count: int = 6
    flap_window: float = 3600.0
    escalate_after: int = 0


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome, the alert's next state (``None`` only for IGNORED without an alert) and
    whether to notify."""

    outcome: Outcome
    state: AlertState | None
    notify: bool


_PROBLEM_OUTCOMES = frozenset({Outcome.NEW, Outcome.REPEAT, Outcome.REOPENED})


def decide(
    finding: Finding,
    state: AlertState | None,
    now: float,
    policy: Policy,
    suppressed_by: str = "",
) -> Decision:
    """Decide what ``finding`` does to the alert in ``state`` at ``now`` (see the module doc)."""
    if finding.kind == "clear":
        if state is None or state.status != FIRING:
            return Decision(Outcome.IGNORED, state, False)
        cleared = replace(state, status=RESOLVED, resolved_at=now)
        return _settle(Outcome.CLEARED, cleared, state, now, policy, suppressed_by, False)
    if state is None:
        opened = _opened(finding, now)
        return _settle(Outcome.NEW, opened, None, now, policy, suppressed_by, False)
    if state.status == FIRING:
        repeated, escalated = _repeat(state, now, policy)
        return _settle(Outcome.REPEAT, repeated, state, now, policy, suppressed_by, escalated)
    reopened = replace(
        state,
        status=FIRING,
        severity=finding.severity,
        base_severity=finding.severity,
        occurrences=state.occurrences + 1,
        last_seen=now,
        resolved_at=None,
    )
    return _settle(Outcome.REOPENED, reopened, state, now, policy, suppressed_by, False)


def _opened(finding: Finding, now: float) -> AlertState:
    return AlertState(
        status=FIRING,
        severity=finding.severity,
        base_severity=finding.severity,
        occurrences=1,
        first_seen=now,
        last_seen=now,
        resolved_at=None,
        transitions=(),
        flapping=False,
        suppressed_by="",
        last_notified_at=None,
    )


def _repeat(state: AlertState, now: float, policy: Policy) -> tuple[AlertState, bool]:
    occurrences = state.occurrences + 1
    severity = state.severity
    n = policy.escalate_after
    if n > 0 and (occurrences - 1) % n == 0 and severity in ALERT_LEVELS:
        severity = raise_level(severity)
    repeated = replace(state, occurrences=occurrences, last_seen=now, severity=severity)
    return repeated, severity != state.severity


def _flap(
    prior: AlertState | None, changed: bool, now: float, policy: Policy
) -> tuple[tuple[float, ...], bool]:
    """The kept transition times and whether the alert flaps after this decision."""
    if policy.flap_count <= 0 or policy.flap_window <= 0:
        return (), False
    times = (prior.transitions if prior else ()) + ((now,) if changed else ())
    floor = now - policy.flap_window
    kept = tuple(t for t in times if t > floor)
    was = prior.flapping if prior else False
    if len(kept) > policy.flap_count:
        return kept, True
    if was and len(kept) * 2 <= policy.flap_count:
        return kept, False
    return kept, was


def _settle(
    outcome: Outcome,
    state: AlertState,
    prior: AlertState | None,
    now: float,
    policy: Policy,
    suppressed_by: str,
    escalated: bool,
) -> Decision:
    """Apply flapping, suppression and notification to an underlying outcome."""
    changed = prior is None or prior.status != state.status
    transitions, flapping = _flap(prior, changed, now, policy)
    state = replace(state, transitions=transitions, flapping=flapping, suppressed_by=suppressed_by)
    if suppressed_by and outcome in _PROBLEM_OUTCOMES:
        return Decision(Outcome.SUPPRESSED, state, False)
    if flapping or suppressed_by:
        return Decision(Outcome.FLAPPING if flapping and changed else outcome, state, False)
    notify = _wants_notify(outcome, prior, now, policy, escalated)
    if notify:
        state = replace(state, last_notified_at=now)
    return Decision(outcome, state, notify)


def _wants_notify(
    outcome: Outcome, prior: AlertState | None, now: float, policy: Policy, escalated: bool
) -> bool:
    if prior is None:
        return True
    if outcome is Outcome.CLEARED:
        return prior.last_notified_at is not None
    if outcome is Outcome.REPEAT and prior.suppressed_by:
        return True
    cooling = prior.last_notified_at is not None and now - prior.last_notified_at < policy.cooldown
    if cooling:
        return False
    if outcome is Outcome.REOPENED:
        return True
    return escalated or prior.flapping
