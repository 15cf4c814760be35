"""Applying findings to alerts, lifting ended suppressions, and the operator's actions.

Everything here runs in the caller's transaction and never commits; the ``AlertChange``
messages returned are for the caller to publish after its commit.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from opsconductor.alerts import repository as repo
from opsconductor.alerts.actions import (
    acknowledge,
    assign,
    comment,
    resolve,
    row_change,
    unacknowledge,
)
from opsconductor.alerts.decision import (
    FIRING,
    RESOLVED,
    AlertState,
    Decision,
    Outcome,
    Policy,
    decide,
)
from opsconductor.alerts.suppression import Suppressor, alert_labels, labels_of
from opsconductor.ids import encode, new_ulid, ulid_block
from opsconductor.messages import AlertChange, Finding

__all__ = [
    "AlertEngine",
    "acknowledge",
    "assign",
    "comment",
    "recorded_changes",
    "release_suppressions",
    "resolve",
    "unacknowledge",
]

_QUIET = frozenset({Outcome.REPEAT, Outcome.SUPPRESSED})


def change_id(finding: Finding, change: str) -> str:
    """The id of the change ``finding`` caused: a ULID of its detection time whose random part
    is a hash of the finding id and the change, so the same facts give the same id."""
    millis = max(0, int(finding.detected_at * 1000)) & ((1 << 48) - 1)
    digest = hashlib.blake2b(f"{finding.id}:{change}".encode(), digest_size=10).digest()
    return encode((millis << 80) | int.from_bytes(digest, "big"))


def is_quiet(prior: AlertState | None, decision: Decision) -> bool:
    """A repeat that changed nothing but counts: no history row, no change of its own."""
    state = decision.state
    return (
        decision.outcome in _QUIET
        and not decision.notify
        and prior is not None
        and state is not None
        and (prior.status, prior.severity, prior.flapping, prior.suppressed_by)
        == (state.status, state.severity, state.flapping, state.suppressed_by)
    )


def _detail(outcome: Outcome, prior: AlertState | None, state: AlertState) -> str:
    if prior is not None and prior.severity != state.severity and outcome is not Outcome.REOPENED:
        return f"severity {prior.severity} → {state.severity} at {state.occurrences} occurrences"
    if outcome is Outcome.SUPPRESSED:
        return f"held by {state.suppressed_by}"
    if outcome is Outcome.FLAPPING:
        return f"flapping: {len(state.transitions)} status changes"
    if prior is not None and prior.flapping and not state.flapping:
        return "no longer flapping"
    if prior is not None and prior.suppressed_by and not state.suppressed_by:
        return f"no longer held by {prior.suppressed_by}"
    return f"{state.status}, {state.occurrences} occurrences"


@dataclass
class _Fold:
    """What one fingerprint's findings of a batch did: the row, history and changes."""

    ids: Iterator[str]
    write: repo.AlertWrite | None = None
    history: list[repo.HistoryEntry] = field(default_factory=list)
    changes: list[AlertChange] = field(default_factory=list)
    quiet_tail: bool = False  # the last change only moved counts: the next one replaces it


class AlertEngine:
    """Applies batches of findings to alerts.

    ``policy_for`` maps a rule id to its ``Policy`` (cooldown, flap detection, escalation).
    ``process`` stores the findings idempotently, folds each fingerprint's new findings
    through ``decide`` in order, writes each touched alert with one upsert, keeps a history
    row for every change except repeats that only counted, and returns the changes.
    """

    def __init__(self, policy_for: Callable[[str], Policy]) -> None:
        self._policy_for = policy_for

    async def process(
        self,
        session: AsyncSession,
        findings: Sequence[Finding],
        now: float,
        suppressor: Suppressor,
    ) -> list[AlertChange]:
        """Apply ``findings`` at ``now``; a finding already stored (a redelivery) changes
        nothing. Returns the changes to publish after the caller's commit."""
        groups: dict[str, list[Finding]] = {}
        seen: set[str] = set()
        for finding in findings:
            if finding.id not in seen:
                seen.add(finding.id)
                groups.setdefault(finding.fingerprint, []).append(finding)
        if not groups:
            return []
        stored = await repo.load_alerts(session, groups)
        alert_ids = {fp: _alert_id(stored.get(fp), group, now) for fp, group in groups.items()}
        pairs = [(f, alert_ids[fp]) for fp, group in groups.items() for f in group]
        inserted = await repo.insert_findings(session, pairs)
        history_ids = iter(ulid_block(len(inserted), now))
        folds = []
        for fp, group in groups.items():
            fresh = [f for f in group if f.id in inserted]
            alert_id = alert_ids[fp]
            if fresh and alert_id is not None:
                fold = _Fold(history_ids)
                self._fold(fold, alert_id, stored.get(fp), fresh, now, suppressor)
                folds.append(fold)
        await repo.upsert_alerts(session, [f.write for f in folds if f.write is not None])
        await repo.insert_history(session, [entry for fold in folds for entry in fold.history])
        return [change for fold in folds for change in fold.changes]

    def _fold(
        self,
        fold: _Fold,
        alert_id: str,
        stored: repo.StoredAlert | None,
        group: list[Finding],
        now: float,
        suppressor: Suppressor,
    ) -> None:
        current = stored.state if stored else None
        reopened = False
        display: Finding | None = None
        last: Finding | None = None
        for finding in group:
            holder = suppressor.suppressed_by(alert_labels(finding), now) if suppressor else ""
            decision = decide(finding, current, now, self._policy_for(finding.rule_id), holder)
            if decision.state is None or decision.outcome is Outcome.IGNORED:
                continue
            reopened = reopened or (current is not None and current.status == RESOLVED
                                    and decision.state.status == FIRING)  # fmt: skip
            self._record(fold, alert_id, finding, current, decision, now)
            current, last = decision.state, finding
            if finding.kind != "clear":
                display = finding
        if current is not None and last is not None:
            fold.write = repo.AlertWrite(
                alert_id, display or last, last.id, current, reopened, display is None, now
            )

    @staticmethod
    def _record(
        fold: _Fold,
        alert_id: str,
        finding: Finding,
        prior: AlertState | None,
        decision: Decision,
        now: float,
    ) -> None:
        state = decision.state
        assert state is not None
        change = _change(alert_id, finding, decision, state, now)
        quiet = is_quiet(prior, decision)
        if quiet and fold.quiet_tail:
            fold.changes[-1] = change  # one count update per batch, not one per finding
        else:
            fold.changes.append(change)
        fold.quiet_tail = quiet
        if quiet:
            return
        fold.history.append(
            repo.HistoryEntry(
                next(fold.ids),
                alert_id,
                now,
                decision.outcome.value,
                state.status,
                state.severity,
                "system",
                _detail(decision.outcome, prior, state),
                finding.id,
            )
        )


def _alert_id(stored: repo.StoredAlert | None, group: list[Finding], now: float) -> str | None:
    """The existing alert's id; a new one when the group can open an alert; else ``None``."""
    if stored is not None:
        return stored.id
    return new_ulid(now) if any(f.kind != "clear" for f in group) else None


def _change(
    alert_id: str, finding: Finding, decision: Decision, state: AlertState, now: float
) -> AlertChange:
    outcome = decision.outcome.value
    return AlertChange(
        id=change_id(finding, outcome), alert_id=alert_id, fingerprint=finding.fingerprint,
        change=outcome, status=state.status, severity=state.severity,
        occurrences=state.occurrences, rule_id=finding.rule_id, device_id=finding.device_id,
        title=finding.title, at=now, notify=decision.notify, suppressed_by=state.suppressed_by,
        finding_id=finding.id,
    )  # fmt: skip


def row_labels(row: Any) -> dict[str, str]:
    """The labels matchers see for a stored alert row."""
    return labels_of(row.labels or {}, row.device_id, row.host, row.rule_id, row.agent,
                     row.domain, row.severity)  # fmt: skip


async def release_suppressions(
    session: AsyncSession, now: float, suppressor: Suppressor
) -> list[AlertChange]:
    """Re-check every alert marked suppressed. Where the mark no longer holds it is lifted
    (history ``unsuppressed``) and a still-firing alert that does not flap is announced:
    change ``unsuppressed`` with ``notify`` true. Where another silence or window now holds
    it, the mark moves (history and change ``suppressed``, no notification)."""
    changes = []
    entries = []
    for row in await repo.suppressed_alerts(session):
        holder = suppressor.suppressed_by(row_labels(row), now)
        if holder == row.suppressed_by:
            continue
        notify = not holder and row.status == FIRING and not row.flapping
        values: dict[str, Any] = {"suppressed_by": holder, "updated_at": now}
        if notify:
            values["last_notified_at"] = now
        after = await repo.update_alert(session, row.id, **values)
        change = "suppressed" if holder else "unsuppressed"
        detail = f"held by {holder}" if holder else f"no longer held by {row.suppressed_by}"
        entries.append(repo.HistoryEntry(new_ulid(now), row.id, now, change, row.status,
                                         row.severity, "system", detail, None))  # fmt: skip
        if after is not None and (holder or notify):
            changes.append(row_change(after, change, now, notify))
    await repo.insert_history(session, entries)
    return changes


async def recorded_changes(session: AsyncSession, findings: Sequence[Finding]) -> list[AlertChange]:
    """The changes already-stored ``findings`` made, rebuilt from the alert history, with the
    ids they were first published with: what a redelivered batch publishes again, since the
    first attempt may have committed and then died before publishing. ``occurrences`` and
    ``suppressed_by`` are the alert's as it is now; ``notify`` holds if the alert's last
    notification is that change's."""
    by_id = {finding.id: finding for finding in findings}
    rows = await repo.history_of_findings(session, list(by_id))
    return [_recorded(by_id[row.finding_id], row) for row in rows]


def _recorded(finding: Finding, row: Any) -> AlertChange:
    return AlertChange(
        id=change_id(finding, row.change), alert_id=row.alert_id, fingerprint=row.fingerprint,
        change=row.change, status=row.status, severity=row.severity,
        occurrences=row.occurrences, rule_id=row.rule_id, device_id=row.device_id,
        title=row.title, at=row.at, notify=row.last_notified_at == row.at,
        suppressed_by=row.suppressed_by, finding_id=finding.id,
    )  # fmt: skip
