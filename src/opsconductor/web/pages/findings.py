"""Console pages: findings — a filtered keyset list and one finding with its log lines."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from opsconductor.alerts import queries
from opsconductor.api.deps import Principal, Session, authorize
from opsconductor.errors import NotFound
from opsconductor.severity import ALERT_LEVELS_WORST_FIRST
from opsconductor.web.render import page

router = APIRouter(include_in_schema=False)
Reader = Annotated[Principal, Depends(authorize("findings:read"))]
Text = Annotated[str | None, Query(max_length=200)]

PAGE_SIZE = 50
LEVELS = ALERT_LEVELS_WORST_FIRST


@router.get("/findings", response_class=HTMLResponse)
async def findings_page(
    request: Request,
    session: Session,
    caller: Reader,
    severity: Text = None,
    domain: Text = None,
    agent: Text = None,
    rule: Text = None,
    device: Text = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> HTMLResponse:
    """Findings newest first, 50 a page, narrowed by severity, domain, agent, rule, device."""
    chosen = {
        "severity": severity if severity in LEVELS else "", "domain": (domain or "").strip(),
        "agent": (agent or "").strip(), "rule": (rule or "").strip(),
        "device": (device or "").strip(),
    }  # fmt: skip
    flt = queries.FindingFilter(
        severity=(chosen["severity"],) if chosen["severity"] else None,
        domain=chosen["domain"] or None, agent=chosen["agent"] or None,
        rule_id=chosen["rule"] or None, device_id=chosen["device"] or None,
    )  # fmt: skip
    found = await queries.list_findings(session, flt, cursor=cursor, limit=PAGE_SIZE)
    query = {k: v for k, v in chosen.items() if v}
    next_url = (
        "/findings?" + urlencode({**query, "cursor": found.next_cursor})
        if found.next_cursor
        else None
    )
    return page(
        request, "findings.html", caller, title="Findings", rows=found.items, chosen=chosen,
        levels=LEVELS, next_url=next_url,
        first_url=("/findings?" + urlencode(query)) if cursor else None,
    )  # fmt: skip


@router.get("/findings/{finding_id}", response_class=HTMLResponse)
async def finding_page(
    finding_id: str, request: Request, session: Session, caller: Reader
) -> HTMLResponse:
    """One finding: what matched, its labels, and the log lines it was raised on."""
    row = await queries.get_finding(session, finding_id)
    if row is None:
        raise NotFound(f"no finding {finding_id!r}")
    evidence = await queries.finding_events(session, row)
    return page(
        request, "findings_detail.html", caller, title=row.title, f=row, rows=evidence,
        missing=len(set(row.evidence)) - len(evidence),
    )  # fmt: skip
