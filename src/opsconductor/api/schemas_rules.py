"""API shapes of the rules routes."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator

from opsconductor.agents.repository import RuleRow
from opsconductor.agents.trial import MAX_LINES, TrialFinding, TrialLine, TrialResult
from opsconductor.messages import Event
from opsconductor.severity import facility_name, severity_name

MAX_EPOCH = 253402300799
"""The latest time a trial's range may name (epoch seconds): 9999-12-31T23:59:59Z. Later
times (and infinity, NaN) are refused with 422 rather than overflowing the range's ids."""


class RuleOut(BaseModel):
    """A stored rule: the document (``definition``) and its bookkeeping."""

    id: str
    agent: str
    kind: str
    enabled: bool
    origin: str
    revision: int
    created_at: float
    updated_at: float
    definition: dict[str, Any]

    @classmethod
    def of(cls, row: RuleRow) -> RuleOut:
        """The response shape of a stored rule."""
        return cls(
            id=row.id,
            agent=row.agent,
            kind=row.kind,
            enabled=row.enabled,
            origin=row.origin,
            revision=row.revision,
            created_at=row.created_at,
            updated_at=row.updated_at,
            definition=row.definition,
        )


class RulePage(BaseModel):
    """A page of rules and the cursor of the next page (null on the last)."""

    items: list[RuleOut]
    next_cursor: str | None


class RulePatch(BaseModel):
    """The parts of a rule that change without replacing its document."""

    model_config = ConfigDict(extra="forbid")

    enabled: StrictBool


class RuleProblem(BaseModel):
    """One reason a rule document is not valid: the field (``match.message``) and what is
    wrong with it (``rule`` when it is about the whole document)."""

    field: str
    message: str


class RuleValidation(BaseModel):
    """The verdict on a rule document: valid, and the document as it would be stored; with
    ``?verdict=true`` an invalid one is ``valid: false`` with the reason and its problems."""

    valid: bool
    rule: dict[str, Any] | None
    detail: str | None = None
    problems: list[RuleProblem] = Field(default_factory=list)


class RuleTrialIn(BaseModel):
    """A rule to try and what to try it on: pasted ``lines`` or stored events of a time range
    (``since``, ``until`` — epoch seconds of receipt, finite, from 0 to ``MAX_EPOCH`` — and
    optionally one ``device_id``)."""

    model_config = ConfigDict(extra="forbid")

    rule: dict[str, Any] = Field(description="A rule document, as for POST /rules.")
    lines: list[str] | None = Field(
        default=None, max_length=MAX_LINES, description=f"Raw syslog lines (at most {MAX_LINES})."
    )
    since: float | None = Field(
        default=None,
        ge=0,
        le=MAX_EPOCH,
        allow_inf_nan=False,
        description="Start of the stored range (epoch s, 0 to 253402300799).",
    )
    until: float | None = Field(
        default=None,
        ge=0,
        le=MAX_EPOCH,
        allow_inf_nan=False,
        description="End of the stored range (epoch s, 0 to 253402300799; default: now).",
    )
    device_id: str | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def _one_source(self) -> RuleTrialIn:
        if (self.lines is None) == (self.since is None):
            raise ValueError("give either lines or a time range (since, until)")
        if self.lines is not None and (self.until is not None or self.device_id is not None):
            raise ValueError("until and device_id go with since, not with lines")
        if self.since is not None and self.until is not None and self.until <= self.since:
            raise ValueError("until must be after since")
        return self


class TrialEvent(BaseModel):
    """What a line parsed into (the fields a rule is most often about)."""

    id: str
    timestamp: float
    host: str
    device_id: str
    program: str
    domain: str
    severity: str | None
    facility: str | None
    format: str
    parse_status: str
    message: str

    @classmethod
    def of(cls, event: Event) -> TrialEvent:
        """The shape of ``event``."""
        return cls(
            id=event.id, timestamp=event.timestamp, host=event.host, device_id=event.device_id,
            program=event.program, domain=event.domain, severity=severity_name(event.severity),
            facility=facility_name(event.facility), format=event.format,
            parse_status=event.parse_status, message=event.message,
        )  # fmt: skip


class TrialLineOut(BaseModel):
    """One pasted line (or stored event): parsed or why not, and whether the rule matched it
    (``roles``: which of its condition sets, ``match``, ``clear``, ``down``, ``up``)."""

    index: int
    text: str
    parsed: bool
    error: str | None
    matched: bool
    roles: list[str]
    event: TrialEvent | None

    @classmethod
    def of(cls, line: TrialLine) -> TrialLineOut:
        """The shape of ``line``."""
        return cls(
            index=line.index, text=line.text, parsed=line.event is not None, error=line.error,
            matched=line.matched, roles=list(line.roles),
            event=None if line.event is None else TrialEvent.of(line.event),
        )  # fmt: skip


class TrialFindingOut(BaseModel):
    """A finding the rule would raise; ``evidence`` are indexes into ``lines``."""

    kind: str
    title: str
    summary: str
    severity: str
    labels: dict[str, str]
    fingerprint: str
    count: int
    window_seconds: float
    device_id: str
    host: str
    domain: str
    observed_at: float
    reason: str
    evidence: list[int]

    @classmethod
    def of(cls, found: TrialFinding) -> TrialFindingOut:
        """The shape of ``found``."""
        f = found.detection.finding
        return cls(
            kind=f.kind, title=f.title, summary=f.summary, severity=f.severity, labels=f.labels,
            fingerprint=f.fingerprint, count=f.count, window_seconds=f.window_seconds,
            device_id=f.device_id, host=f.host, domain=f.domain, observed_at=f.observed_at,
            reason=found.detection.reason, evidence=found.evidence,
        )  # fmt: skip


class RuleTrialOut(BaseModel):
    """What the rule made of the lines: each line, the findings, totals, and whether the
    range held more events than a trial takes (then only the newest were tried)."""

    rule: dict[str, Any]
    lines: list[TrialLineOut]
    findings: list[TrialFindingOut]
    totals: dict[str, int]
    truncated: bool

    @classmethod
    def of(cls, document: dict[str, Any], result: TrialResult) -> RuleTrialOut:
        """The shape of a trial of the rule ``document``."""
        return cls(
            rule=document,
            lines=[TrialLineOut.of(line) for line in result.lines],
            findings=[TrialFindingOut.of(found) for found in result.findings],
            totals=result.totals,
            truncated=result.truncated,
        )
