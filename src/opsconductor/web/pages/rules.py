"""Console pages: the agents and their rules, one rule, and the rule editor.

The editor holds the rule document as JSON (what the rules API takes); it validates through
``POST /api/v1/rules/validate``, tries the rule on pasted lines or recent stored events through
``POST /api/v1/rules/test`` before anything is saved, and saves with ``POST``/``PUT``
(``static/pages/rules.js``). The Test panel (on the editor and on a rule's page) is shown only
to roles with ``rules:write``, as the trial route asks for it; a viewer sees the definition.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.ext.asyncio import AsyncSession

from opsconductor.agents import repository as repo
from opsconductor.agents.registry import list_agents
from opsconductor.agents.rules import AGENTS, KINDS
from opsconductor.api.deps import Context, Principal, Session, authorize
from opsconductor.auth.roles import allowed
from opsconductor.errors import NotFound
from opsconductor.heartbeats import is_stale
from opsconductor.web.render import page

router = APIRouter(include_in_schema=False)
Reader = Annotated[Principal, Depends(authorize("rules:read"))]
Writer = Annotated[Principal, Depends(authorize("rules:write"))]

TEMPLATE: dict[str, Any] = {
    "id": "security.ssh_failed_login",
    "agent": "security",
    "title": "Failed SSH login from {src}",
    "description": "A wrong password was tried over SSH.",
    "severity": "warning",
    "kind": "match",
    "match": {
        "program": ["dropbear", "sshd"],
        "message": "bad password attempt for .* from (?P<src>[0-9a-f.:]+)",
    },
    "fingerprint": ["device_id", "src"],
}
"""The document a new rule starts from."""
SAMPLE_LINES = (
    "<86>Jan 10 10:00:01 gw dropbear[77]: Login attempt: bad password attempt for 'root' "
    "from 10.0.0.5:2222\n<86>Jan 10 10:00:30 gw dropbear[77]: Child connection from "
    "10.0.0.9:40000"
)
RANGES = (("900", "Last 15 min"), ("3600", "Last hour"), ("86400", "Last 24 h"))


def pretty(document: dict[str, Any]) -> str:
    """A rule document as indented JSON, the form the editor shows."""
    return json.dumps(document, indent=2, ensure_ascii=False)


async def _all_rules(session: AsyncSession) -> list[repo.RuleRow]:
    found: list[repo.RuleRow] = []
    cursor: str | None = None
    while True:
        batch = await repo.list_rules(session, repo.RuleFilter(), cursor=cursor, limit=500)
        found.extend(batch.items)
        cursor = batch.next_cursor
        if cursor is None:
            return found


def _matches(row: repo.RuleRow, text: str) -> bool:
    definition = row.definition
    haystack = " ".join(
        str(part)
        for part in (row.id, definition.get("title", ""), definition.get("description", ""))
    )
    return text.lower() in haystack.lower()


@router.get("/rules", response_class=HTMLResponse)
async def rules_page(
    request: Request,
    session: Session,
    context: Context,
    caller: Reader,
    agent: Annotated[str, Query(max_length=40)] = "",
    enabled: Annotated[str, Query(pattern="^(|on|off)$")] = "",
    kind: Annotated[str, Query(max_length=40)] = "",
    q: Annotated[str, Query(max_length=200)] = "",
) -> HTMLResponse:
    """Agents (status, switch on/off) and rules (filters by agent, kind, on/off and text)."""
    rows = await _all_rules(session)
    per_agent = Counter(row.agent for row in rows)
    enabled_per_agent = Counter(row.agent for row in rows if row.enabled)
    shown = [
        row
        for row in rows
        if (not agent or row.agent == agent)
        and (not kind or row.kind == kind)
        and (not enabled or row.enabled == (enabled == "on"))
        and (not q or _matches(row, q))
    ]
    agents: list[dict[str, Any]] = []
    if allowed(caller.role, "agents:read"):
        now, interval = time.time(), context.settings.agent_tick_seconds
        for item in await list_agents(session):
            agents.append(
                {
                    "row": item,
                    "stale": is_stale(item.last_seen, interval, now),
                    "rules": per_agent[item.name],
                    "enabled_rules": enabled_per_agent[item.name],
                }
            )
    return page(
        request, "rules.html", caller, title="Agents & rules", agents=agents, rules=shown,
        total=len(rows), agent_names=AGENTS, kinds=KINDS,
        filters={"agent": agent, "enabled": enabled, "kind": kind, "q": q},
        filtered=bool(agent or enabled or kind or q),
    )  # fmt: skip


@router.get("/rules/new", response_class=HTMLResponse)
async def new_rule(request: Request, session: Session, caller: Writer) -> HTMLResponse:
    """The editor with a starting document (or a copy of ``?from=<rule id>``)."""
    source = request.query_params.get("from")
    document = dict(TEMPLATE)
    if source:
        row = await repo.get_rule(session, source)
        if row is not None:
            document = {**row.definition, "id": f"{row.id}_copy"}
    return page(
        request, "rule_form.html", caller, title="New rule", rule=None,
        document=pretty(document), sample=SAMPLE_LINES, ranges=RANGES,
    )  # fmt: skip


@router.get("/rules/{rule_id}", response_class=HTMLResponse)
async def rule_page(
    request: Request, rule_id: str, session: Session, caller: Reader
) -> HTMLResponse:
    """One rule: its facts, its document, and (for roles with ``rules:write``) a trial of it
    on log lines."""
    row = await repo.get_rule(session, rule_id)
    if row is None:
        raise NotFound(f"no rule {rule_id!r}")
    return page(
        request, "rule.html", caller, title=f"Rule {row.id}", rule=row,
        document=pretty(row.definition), compact=json.dumps(row.definition),
        sample="", ranges=RANGES,
    )  # fmt: skip


@router.get("/rules/{rule_id}/edit", response_class=HTMLResponse)
async def edit_rule(
    request: Request, rule_id: str, session: Session, caller: Writer
) -> HTMLResponse:
    """The editor with the rule's document."""
    row = await repo.get_rule(session, rule_id)
    if row is None:
        raise NotFound(f"no rule {rule_id!r}")
    return page(
        request, "rule_form.html", caller, title=f"Edit {row.id}", rule=row,
        document=pretty(row.definition), sample=SAMPLE_LINES, ranges=RANGES,
    )  # fmt: skip
