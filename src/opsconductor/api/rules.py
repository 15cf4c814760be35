"""Rules API: list, read, create, replace, switch on/off, delete and validate rule documents.

Every change commits, then publishes ``control.reload.rules`` so running agents reload.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Query, Response
from sqlalchemy.ext.asyncio import AsyncSession

from opsconductor.agents import repository as repo
from opsconductor.agents.rules import Rule, parse_rule
from opsconductor.agents.trial import (
    MAX_EVENTS,
    parse_lines,
    rule_problems,
    run_trial,
    stored_lines,
    trial_parser,
)
from opsconductor.api.deps import Context, Principal, Session, authorize
from opsconductor.api.events import Cursor, Limit
from opsconductor.api.publish import publish_reload
from opsconductor.api.schemas_rules import (
    RuleOut,
    RulePage,
    RulePatch,
    RuleProblem,
    RuleTrialIn,
    RuleTrialOut,
    RuleValidation,
)
from opsconductor.auth.roles import PERMISSIONS, allowed
from opsconductor.errors import Forbidden, RuleError
from opsconductor.messages import Event
from opsconductor.store.events import EventFilter, list_events
from opsconductor.store.pagination import MAX_LIMIT

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
async def validate_rule(
    document: RuleDocument,
    _: Reader,
    verdict: Annotated[
        bool,
        Query(
            description="Answer an invalid rule with 200, `valid: false` and its problems "
            "by field instead of 422 (for the console, whose browser logs every 4xx)."
        ),
    ] = False,
) -> RuleValidation:
    """Check a rule document without storing it: 200 when valid, 422 with the reason if not."""
    if not verdict:
        return RuleValidation(valid=True, rule=repo.rule_document(_parse(document)))
    try:
        rule = parse_rule(document)
    except RuleError as exc:
        problems = [RuleProblem(field=f, message=m) for f, m in rule_problems(str(exc))]
        return RuleValidation(valid=False, rule=None, detail=str(exc), problems=problems)
    return RuleValidation(valid=True, rule=repo.rule_document(rule))


@router.post(
    "/rules/test",
    response_model=RuleTrialOut,
    summary="Try a rule on log lines (needs rules:write)",
)
async def test_rule(
    body: RuleTrialIn, session: Session, context: Context, caller: Writer
) -> RuleTrialOut:
    """Run a rule document (saved or not, enabled or not) alone on pasted raw syslog lines
    (at most 1000) or on the stored events received in ``since``..``until`` (the newest
    10,000), without storing or publishing anything. Each line is parsed as the pipeline
    parses it (a line that does not parse is reported with the reason); the answer says per
    line whether the rule matched it and lists the findings it would raise. 422 when the rule
    is not valid, with the reason the validate route gives.

    Needs ``rules:write`` (and ``events:read`` for stored events), not only ``rules:read``:
    a trial runs the rule's regular expressions, which the caller chooses, in the API's
    process — the same power as saving a rule the agents run — so only the roles that may
    change rules may try them. ``since`` and ``until`` are epoch seconds from 0 to
    253402300799 (the end of year 9999); infinity, NaN and values out of that range are 422."""
    rule = _parse(body.rule)
    document = repo.rule_document(rule)
    if body.lines is not None:
        s = context.settings
        parser = trial_parser(s.default_timezone, s.classification_file, s.syslog_max_message_bytes)
        return RuleTrialOut.of(document, run_trial(rule, parse_lines(body.lines, parser)))
    if not allowed(caller.role, "events:read"):
        raise Forbidden(f"role {caller.role} may not {PERMISSIONS['events:read']}")
    now = time.time()
    until = now if body.until is None else body.until
    events, truncated = await _stored_events(session, body.since, until, body.device_id)
    result = run_trial(rule, stored_lines(events), end=min(until, now))
    return RuleTrialOut.of(document, dataclasses.replace(result, truncated=truncated))


async def _stored_events(
    session: AsyncSession, since: float | None, until: float, device_id: str | None
) -> tuple[list[Event], bool]:
    """The newest ``MAX_EVENTS`` events received in the range, and whether there were more."""
    flt = EventFilter(device_id=device_id, since=since, until=until)
    found: list[Event] = []
    cursor: str | None = None
    while len(found) <= MAX_EVENTS:
        page = await list_events(session, flt, cursor=cursor, limit=MAX_LIMIT)
        found.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    return found[:MAX_EVENTS], len(found) > MAX_EVENTS


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
