"""Agents API: the domain agents, their status from heartbeats, enable and disable.

An agent is ``stale`` when its last heartbeat is older than three heartbeat intervals
(``OPSC_AGENT_TICK_SECONDS``) or it never sent one. Enabling or disabling an agent is
announced on ``control.reload.agents`` after the commit; the agents stage reloads and a
disabled agent stops reporting without a restart.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from opsconductor.agents.registry import AgentRow, list_agents, load_agent, update_agent
from opsconductor.api.deps import Context, Principal, Session, authorize
from opsconductor.api.publish import publish_reload
from opsconductor.errors import NotFound
from opsconductor.heartbeats import is_stale

router = APIRouter(tags=["agents"])


class AgentNotFound(NotFound):
    """No agent has this name (HTTP 404)."""


class AgentChange(BaseModel):
    """What an operator may change of an agent."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool | None = None
    description: Annotated[str, Field(max_length=2000)] | None = None


def agent_out(row: AgentRow, interval: float, now: float) -> dict[str, Any]:
    """An agent as the API shows it, with ``stale`` worked out from ``last_seen``."""
    item = dataclasses.asdict(row)
    item["stale"] = is_stale(row.last_seen, interval, now)
    return item


@router.get("/agents", summary="List the agents")
async def get_agents(
    context: Context,
    session: Session,
    _: Annotated[Principal, Depends(authorize("agents:read"))],
) -> dict[str, list[dict[str, Any]]]:
    """Every agent with its enabled flag, status, last heartbeat and whether it is stale."""
    interval, now = context.settings.agent_tick_seconds, time.time()
    return {"items": [agent_out(row, interval, now) for row in await list_agents(session)]}


@router.get("/agents/{name}", summary="One agent")
async def get_agent(
    name: str,
    context: Context,
    session: Session,
    _: Annotated[Principal, Depends(authorize("agents:read"))],
) -> dict[str, Any]:
    """The agent ``name``."""
    row = await load_agent(session, name)
    if row is None:
        raise AgentNotFound(f"no agent {name!r}")
    return agent_out(row, context.settings.agent_tick_seconds, time.time())


@router.patch("/agents/{name}", summary="Enable, disable or describe an agent")
async def patch_agent(
    name: str,
    body: AgentChange,
    context: Context,
    session: Session,
    _: Annotated[Principal, Depends(authorize("agents:write"))],
) -> dict[str, Any]:
    """Change ``enabled`` and/or ``description``; running agents reload at once."""
    changes = body.model_dump(exclude_none=True)
    row = await update_agent(session, name, changes, time.time())
    if row is None:
        raise AgentNotFound(f"no agent {name!r}")
    await session.commit()
    if "enabled" in changes:
        await publish_reload(context, "agents", {"agent": name})
    return agent_out(row, context.settings.agent_tick_seconds, time.time())
