"""The ``agents`` table: each agent's definition, the operator's enabled flag, and its status
as its heartbeats report it.

The agents stage registers the definitions at start (``register_agents``): name, domain,
subjects, and a description unless an operator wrote one; ``enabled`` stays as the operator
left it. A disabled agent keeps no rules, so it reports nothing; the API announces the change
on ``control.reload.agents`` and the agents stage reloads. The store records the agents'
heartbeats (``record_heartbeats``). The functions run in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from opsconductor.agents.agent import AGENT_CLASSES, AGENT_DOMAINS
from opsconductor.agents.rules import AGENTS
from opsconductor.bus import subjects
from opsconductor.messages import Heartbeat
from opsconductor.store.bulk import insert_for
from opsconductor.store.pagination import row_as
from opsconductor.store.tables import agents


@dataclass(frozen=True, slots=True)
class AgentDefinition:
    """What the code says an agent is."""

    name: str
    domain: str
    description: str
    subjects: list[str]


@dataclass(frozen=True, slots=True)
class AgentRow:
    """An agent as the table holds it."""

    name: str
    domain: str
    description: str
    enabled: bool
    subjects: list[str]
    status: str
    last_seen: float | None
    detail: dict[str, Any]
    updated_at: float


def agent_definitions() -> list[AgentDefinition]:
    """Every built-in agent: its first domain, the first line of its docstring, and the
    subjects it reads (its domains' events) and writes (its findings)."""
    out = []
    for name in AGENTS:
        domains = AGENT_DOMAINS[name]
        doc = (AGENT_CLASSES[name].__doc__ or name).strip().splitlines()[0]
        reads = [f"{subjects.EVENTS}.{domain}.*" for domain in domains]
        out.append(AgentDefinition(name, domains[0], doc, [*reads, subjects.findings(name)]))
    return out


async def register_agents(
    session: AsyncSession, definitions: Sequence[AgentDefinition], now: float
) -> None:
    """Insert new agents, refresh the definition of known ones; keep ``enabled`` and an
    operator's description."""
    insert = insert_for(session)
    for definition in definitions:
        stmt = insert(agents).values(
            name=definition.name,
            domain=definition.domain,
            description=definition.description,
            subjects=definition.subjects,
            updated_at=now,
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[agents.c.name],
            set_={
                "domain": stmt.excluded.domain,
                "subjects": stmt.excluded.subjects,
                "description": sa.case(
                    (agents.c.description == "", stmt.excluded.description),
                    else_=agents.c.description,
                ),
            },
        )
        await session.execute(stmt)


async def record_heartbeats(session: AsyncSession, beats: Sequence[Heartbeat]) -> int:
    """Write the newest beat of each agent to its row (older beats change nothing); the
    number of rows changed."""
    newest: dict[str, Heartbeat] = {}
    for beat in beats:
        if beat.kind == "agent" and (
            beat.component not in newest or newest[beat.component].at < beat.at
        ):
            newest[beat.component] = beat
    changed = 0
    for name, beat in sorted(newest.items()):
        stmt = (
            sa.update(agents)
            .where(agents.c.name == name)
            .where(sa.or_(agents.c.last_seen.is_(None), agents.c.last_seen < beat.at))
            .values(status=beat.status, last_seen=beat.at, detail=dict(beat.detail))
        )
        result = await session.execute(stmt)
        changed += int(getattr(result, "rowcount", 0) or 0)
    return changed


async def list_agents(session: AsyncSession) -> list[AgentRow]:
    """Every agent, by name."""
    rows = await session.execute(sa.select(agents).order_by(agents.c.name))
    return [row_as(AgentRow, row) for row in rows]


async def load_agent(session: AsyncSession, name: str) -> AgentRow | None:
    """The agent ``name``, or ``None``."""
    row = (await session.execute(sa.select(agents).where(agents.c.name == name))).first()
    return None if row is None else row_as(AgentRow, row)


async def update_agent(
    session: AsyncSession, name: str, changes: Mapping[str, Any], now: float
) -> AgentRow | None:
    """Change ``enabled`` and/or ``description`` of an agent; ``None`` if there is none."""
    if changes:
        stmt = sa.update(agents).where(agents.c.name == name).values(**changes, updated_at=now)
        await session.execute(stmt)
    return await load_agent(session, name)


async def disabled_agents(session: AsyncSession) -> frozenset[str]:
    """The names of the agents an operator disabled."""
    rows = await session.execute(sa.select(agents.c.name).where(sa.not_(agents.c.enabled)))
    return frozenset(name for (name,) in rows)
