"""System status and stage control.

``GET /system/status`` shows every component: the stages this process runs (from the runtime)
and, from the heartbeats this process heard, those elsewhere; bus and database reachability,
versions, and the messages waiting per consumer. ``POST /system/control/{action}`` starts,
stops or restarts a stage of this process, or announces a reload of it on
``control.reload.<stage>`` (which reaches every process).
"""

from __future__ import annotations

import logging
import platform
import time
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncEngine

from opsconductor import __version__
from opsconductor.api.context import AppContext, StageNotHere, UnknownStage
from opsconductor.api.deps import Context, Principal, authorize
from opsconductor.api.publish import publish_reload
from opsconductor.heartbeats import is_stale
from opsconductor.stages import STAGES
from opsconductor.store import ping

log = logging.getLogger(__name__)

router = APIRouter(tags=["system"])

Action = Literal["start", "stop", "restart", "reload"]


class StageIn(BaseModel):
    """The stage a control action is for."""

    model_config = ConfigDict(extra="forbid")

    stage: Annotated[str, Field(min_length=1, max_length=64)]


async def database_version(engine: AsyncEngine) -> str | None:
    """``SQLite 3.x`` or ``PostgreSQL 16.x``; ``None`` when the database does not answer."""
    query = "select sqlite_version()" if engine.dialect.name == "sqlite" else "show server_version"
    name = "SQLite" if engine.dialect.name == "sqlite" else "PostgreSQL"
    try:
        async with engine.connect() as conn:
            version = (await conn.execute(sa.text(query))).scalar_one()
    except Exception as exc:
        log.debug("database version unavailable: %s", exc)
        return None
    return f"{name} {version}"


def bus_version(context: AppContext) -> str | None:
    """The NATS server's version when the bus is JetStream (else ``None``)."""
    version = getattr(context.bus, "server_version", None)
    return str(version) if version else None


def components(context: AppContext, now: float) -> list[dict[str, Any]]:
    """Each component: the stages running here, then whatever else sent a heartbeat."""
    interval = context.settings.agent_tick_seconds
    out: dict[str, dict[str, Any]] = {}
    board = context.heartbeats
    for name, beat in sorted((board.latest if board else {}).items()):
        out[name] = {
            "name": name,
            "kind": beat.kind,
            "status": beat.status,
            "last_seen": beat.at,
            "stale": is_stale(beat.at, interval, now),
            "local": False,
            "detail": beat.detail,
        }
    for name in context.control.running() if context.control else []:
        known = out.get(name, {"detail": {}})
        out[name] = {
            "name": name,
            "kind": "stage",
            "status": "ok",
            "last_seen": now,
            "stale": False,
            "local": True,
            "detail": known["detail"],
        }
    return sorted(out.values(), key=lambda item: (item["kind"] != "stage", item["name"]))


@router.get("/system/status", summary="Components, reachability, versions and lag")
async def system_status(
    context: Context, _: Annotated[Principal, Depends(authorize("system:read"))]
) -> dict[str, Any]:
    """What runs, what answers, which versions, and how far behind each consumer is."""
    now = time.time()
    engine = context.engine
    return {
        "deployment": "distributed" if context.settings.distributed else "embedded",
        "at": now,
        "components": components(context, now),
        "running": context.control.running() if context.control else [],
        "bus": {
            "kind": "jetstream" if context.settings.distributed else "memory",
            "reachable": await context.bus.healthy(),
        },
        "database": {
            "kind": engine.dialect.name if engine else None,
            "reachable": await ping(engine) if engine else False,
        },
        "versions": {
            "product": __version__,
            "python": platform.python_version(),
            "database": await database_version(engine) if engine else None,
            "nats": bus_version(context),
        },
        "lag": context.bus.pending(),
    }


@router.post("/system/control/{action}", summary="Start, stop, restart or reload a stage")
async def control_stage(
    action: Action,
    body: StageIn,
    context: Context,
    _: Annotated[Principal, Depends(authorize("system:control"))],
) -> dict[str, Any]:
    """Act on a stage; answers with what runs in this process afterwards."""
    stage = body.stage
    if stage not in STAGES:
        raise UnknownStage(f"no stage {stage!r}; stages: {', '.join(STAGES)}")
    if action == "reload":
        await publish_reload(context, stage, {"stage": stage})
    elif stage == "api" and action != "start":
        raise StageNotHere("the API serves this request: it cannot stop itself")
    elif context.control is None:
        raise StageNotHere(
            f"this process cannot {action} stages; use the process manager (systemd, "
            f"Kubernetes…) of the process running {stage!r}"
        )
    else:
        await getattr(context.control, action)(stage)
    running = context.control.running() if context.control else []
    return {"action": action, "stage": stage, "running": running, "ok": True}
