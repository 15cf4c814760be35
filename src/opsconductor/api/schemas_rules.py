"""API shapes of the rules routes."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, StrictBool

from opsconductor.agents.repository import RuleRow


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


class RuleValidation(BaseModel):
    """The verdict on a rule document: valid, and the document as it would be stored."""

    valid: bool
    rule: dict[str, Any]
