"""API shapes of the findings and alerts routes."""

from __future__ import annotations

import dataclasses
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from opsconductor.alerts.queries import AlertRow, FindingRow, HistoryRow


class FindingOut(BaseModel):
    """A finding as an agent concluded it, and the alert it landed on."""

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
    count: int
    window_seconds: float
    observed_at: float
    detected_at: float
    alert_id: str | None

    @classmethod
    def of(cls, row: FindingRow) -> FindingOut:
        """The response shape of a stored finding."""
        return cls(**dataclasses.asdict(row))


class FindingDetail(FindingOut):
    """A finding with its evidence: the events behind it still stored, in evidence order."""

    events: list[dict[str, Any]]


class FindingPage(BaseModel):
    """A page of findings and the cursor of the next page (null on the last)."""

    items: list[FindingOut]
    next_cursor: str | None


class HistoryOut(BaseModel):
    """One change of an alert: the engine's decision or an operator's action."""

    id: str
    at: float
    change: str
    status: str
    severity: str
    actor: str
    detail: str
    finding_id: str | None

    @classmethod
    def of(cls, row: HistoryRow) -> HistoryOut:
        """The response shape of a history entry."""
        item = dataclasses.asdict(row)
        del item["alert_id"]
        return cls(**item)


class AlertOut(BaseModel):
    """An alert: one problem (fingerprint), its state and the operator's marks."""

    id: str
    fingerprint: str
    rule_id: str
    agent: str
    domain: str
    device_id: str
    host: str
    title: str
    summary: str
    labels: dict[str, str]
    status: str
    severity: str
    base_severity: str
    flapping: bool
    suppressed_by: str
    occurrences: int
    first_seen: float
    last_seen: float
    resolved_at: float | None
    last_notified_at: float | None
    acknowledged_by: str | None
    acknowledged_at: float | None
    assignee: str | None
    last_finding_id: str
    updated_at: float

    @classmethod
    def of(cls, row: AlertRow) -> AlertOut:
        """The response shape of a stored alert."""
        item = dataclasses.asdict(row)
        del item["transitions"]
        return cls(**item)


class AlertDetail(AlertOut):
    """An alert with every change it went through, oldest first."""

    history: list[HistoryOut]


class AlertPage(BaseModel):
    """A page of alerts and the cursor of the next page (null on the last)."""

    items: list[AlertOut]
    next_cursor: str | None


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ResolveIn(_Body):
    """Resolving an alert by hand, optionally saying why."""

    comment: str = Field("", max_length=10_000)


class CommentIn(_Body):
    """A comment added to an alert's history."""

    text: str = Field(min_length=1, max_length=10_000)


class AssignIn(_Body):
    """Who takes care of an alert (an empty name unassigns it)."""

    assignee: str = Field(max_length=200)


Moment = float | str
"""A time: epoch seconds, or ISO 8601 (a time without a zone is UTC)."""


class SilenceIn(_Body):
    """A silence: every alert whose labels satisfy all matchers is held in the time range."""

    matchers: list[dict[str, Any]] = Field(
        description='Conditions `{"label", "op", "value"}`, ops `=`, `!=`, `=~`, `!~`.',
        examples=[[{"label": "device_id", "op": "=", "value": "ap-1"}]],
    )
    starts_at: Moment | None = Field(None, description="Default: now.")
    ends_at: Moment
    comment: str = Field("", max_length=10_000)


class SilenceOut(BaseModel):
    """A stored silence and whether it is ``pending``, ``active`` or ``expired`` now."""

    id: str
    matchers: list[dict[str, Any]]
    starts_at: float
    ends_at: float
    author: str
    comment: str
    created_at: float
    updated_at: float
    state: str


class SilencePage(BaseModel):
    """A page of silences and the cursor of the next page (null on the last)."""

    items: list[SilenceOut]
    next_cursor: str | None


class WindowIn(_Body):
    """A recurring maintenance window over devices, groups or sites."""

    name: str = Field(min_length=1, max_length=200)
    scope: dict[str, list[str]] = Field(
        description="`devices` (ids), `groups`, `sites`: at least one non-empty.",
        examples=[{"sites": ["hq"]}],
    )
    schedule: dict[str, Any] = Field(
        description="Weekly or cron, with a duration and a time zone.",
        examples=[
            {
                "kind": "weekly",
                "days": ["sat"],
                "start": "02:00",
                "duration": 7200,
                "timezone": "Europe/Berlin",
            }
        ],
    )
    enabled: bool = True
    comment: str = Field("", max_length=10_000)


class WindowOut(BaseModel):
    """A stored maintenance window and whether it is open now."""

    id: str
    name: str
    scope: dict[str, Any]
    schedule: dict[str, Any]
    enabled: bool
    author: str
    comment: str
    created_at: float
    updated_at: float
    open_now: bool


class WindowPage(BaseModel):
    """A page of maintenance windows and the cursor of the next page (null on the last)."""

    items: list[WindowOut]
    next_cursor: str | None
