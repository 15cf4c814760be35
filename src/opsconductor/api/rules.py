"""Rules API: list, read, create, replace, switch on/off, delete and validate rule documents.

Every change commits, then publishes ``control.reload.rules`` so running agents reload.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Query, Response

from opsconductor.agents import repository as repo
from opsconductor.agents.rules import Rule, parse_rule
from opsconductor.api.deps import Context, Principal, Session, authorize
from opsconductor.api.events import Cursor, Limit
from opsconductor.api.publish import publish_reload
from opsconductor.api.schemas_rules import RuleOut, RulePage, RulePatch, RuleValidation
from opsconductor.errors import RuleError

router = APIRouter(tags=["rules"])

Reader = Annotated[Principal, Depends(authorize("rules:read"))]
Writer = Annotated[Principal, Depends(authorize("rules:write"))]
RuleDocument = Annotated[
    dict[str, Any],
    Body(
        description="A rule document (see docs/rules.md).",
        examples=[
            {
                "id": "security.ssh_login_failed",
                "agent": "security",
                "title": "Failed SSH login on {host}",
                "severity": "warning",
                "kind": "match",
                "match": {"program": "dropbear", "message": "bad password attempt"},
                "fingerprint": ["device_id"],
            }
        ],
    ),
]


def _parse(document: dict[str, Any]) -> Rule:
    """The validated rule, or 422 with the validation's message."""
    try:
        return parse_rule(document)
    except RuleError as exc:
        raise HTTPException(422, str(exc)) from exc


def _not_found(rule_id: str) -> HTTPException:
    return HTTPException(404, f"no rule {rule_id!r}")


@router.get("/rules", response_model=RulePage, summary="List rules")
async def list_rules(
    session: Session,
    _: Reader,
    agent: Annotated[str | None, Query(description="wifi, security, health, wan, system")] = None,
    kind: Annotated[str | None, Query(description="match, threshold, absence, state")] = None,
    enabled: Annotated[bool | None, Query()] = None,
    origin: Annotated[
        str | None, Query(description="`user`, `pack:<name>`, or `pack` for any pack.")
    ] = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> RulePage:
    """Rules matching every given filter, ordered by id."""
    flt = repo.RuleFilter(agent=agent, kind=kind, enabled=enabled, origin=origin)
    page = await repo.list_rules(session, flt, cursor=cursor, limit=limit)
    return RulePage(items=[RuleOut.of(row) for row in page.items], next_cursor=page.next_cursor)


@router.post("/rules/validate", response_model=RuleValidation, summary="Validate a rule")
async def validate_rule(document: RuleDocument, _: Reader) -> RuleValidation:
    """Check a rule document without storing it: 200 when valid, 422 with the reason if not."""
    return RuleValidation(valid=True, rule=repo.rule_document(_parse(document)))


@router.get("/rules/{rule_id}", response_model=RuleOut, summary="Read a rule")
async def get_rule(rule_id: str, session: Session, _: Reader) -> RuleOut:
    """The rule with this id."""
    row = await repo.get_rule(session, rule_id)
    if row is None:
        raise _not_found(rule_id)
    return RuleOut.of(row)


@router.post("/rules", response_model=RuleOut, status_code=201, summary="Create a rule")
async def create_rule(
    document: RuleDocument, session: Session, context: Context, _: Writer
) -> RuleOut:
    """Store a new rule (409 when its id is taken); agents load it within seconds."""
    rule = _parse(document)
    row = await repo.create_rule(session, rule, time.time())
    if row is None:
        raise HTTPException(409, f"a rule {rule.id!r} exists already; PUT /rules/{rule.id}")
    await session.commit()
    await publish_reload(context, "rules", {"rule_id": row.id})
    return RuleOut.of(row)


@router.put("/rules/{rule_id}", response_model=RuleOut, summary="Replace a rule")
async def replace_rule(
    rule_id: str, document: RuleDocument, session: Session, context: Context, _: Writer
) -> RuleOut:
    """Replace the document of an existing rule; the body's id, if given, must be the path's."""
    given = document.setdefault("id", rule_id)
    if given != rule_id:
        raise HTTPException(400, f"the body's id {given!r} is not the path's {rule_id!r}")
    row = await repo.replace_rule(session, _parse(document), time.time())
    if row is None:
        raise _not_found(rule_id)
    await session.commit()
    await publish_reload(context, "rules", {"rule_id": rule_id})
    return RuleOut.of(row)


@router.patch("/rules/{rule_id}", response_model=RuleOut, summary="Enable or disable a rule")
async def patch_rule(
    rule_id: str, patch: RulePatch, session: Session, context: Context, _: Writer
) -> RuleOut:
    """Switch a rule on or off (``{"enabled": false}``) without resending its document."""
    row, changed = await repo.set_rule_enabled(session, rule_id, patch.enabled, time.time())
    if row is None:
        raise _not_found(rule_id)
    if changed:
        await session.commit()
        await publish_reload(context, "rules", {"rule_id": rule_id})
    return RuleOut.of(row)


@router.delete("/rules/{rule_id}", status_code=204, summary="Delete a rule")
async def delete_rule(rule_id: str, session: Session, context: Context, _: Writer) -> Response:
    """Delete a rule. A pack's rule returns at the next start; disable it to keep it off."""
    if not await repo.delete_rule(session, rule_id):
        raise _not_found(rule_id)
    await session.commit()
    await publish_reload(context, "rules", {"rule_id": rule_id})
    return Response(status_code=204)
