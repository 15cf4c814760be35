"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST

from opsconductor.api.deps import Context, Principal, authorize
from opsconductor.store import ping

router = APIRouter(tags=["system"])


@router.get("/healthz", summary="Liveness: the process answers")
async def healthz() -> dict[str, str]:
    """Always ``ok`` while the process serves HTTP."""
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness: bus, database and stages answer")
async def readyz(context: Context) -> JSONResponse:
    """503 until the bus, the database and every stage of this process are ready."""
    checks: dict[str, bool] = {"bus": await context.bus.healthy()}
    if context.engine is not None:
        checks["database"] = await ping(context.engine)
    for name, probe in context.probes.items():
        checks[name] = await probe()
    ready = all(checks.values())
    return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(
    context: Context, _: Annotated[Principal, Depends(authorize("metrics:read"))]
) -> Response:
    """The Prometheus text exposition of this process."""
    return Response(context.metrics.render(), media_type=CONTENT_TYPE_LATEST)
