"""System settings API: read the run-time settings, change one, put one back to its default.

Unknown keys answer 404, values a setting does not accept 422 with the reason. A change is
announced on ``control.reload.settings`` after its commit.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict

from opsconductor.api.deps import Context, Principal, Session, authorize
from opsconductor.api.publish import publish_reload
from opsconductor.system_settings import (
    REGISTRY,
    SettingValue,
    read_setting,
    read_settings,
    reset_setting,
    write_setting,
)

router = APIRouter(tags=["settings"])


class SettingIn(BaseModel):
    """The new value of a setting."""

    model_config = ConfigDict(extra="forbid")

    value: Any


def setting_out(value: SettingValue) -> dict[str, Any]:
    """A setting as the API shows it: value, default, who changed it, and its rules."""
    spec = REGISTRY[value.key]
    item = dataclasses.asdict(value)
    item.update(
        description=spec.description,
        type=spec.kind.__name__,
        minimum=spec.minimum,
        maximum=spec.maximum,
    )
    return item


def _who(request: Request) -> str:
    principal = getattr(request.state, "principal", None)
    return str(getattr(principal, "name", "") or "unknown")


@router.get("/settings", summary="List the run-time settings")
async def get_settings(
    context: Context,
    session: Session,
    _: Annotated[Principal, Depends(authorize("settings:read"))],
) -> dict[str, list[dict[str, Any]]]:
    """Every run-time setting with its value and default."""
    return {"items": [setting_out(v) for v in await read_settings(session, context.settings)]}


@router.get("/settings/{key}", summary="One setting")
async def get_setting(
    key: str,
    context: Context,
    session: Session,
    _: Annotated[Principal, Depends(authorize("settings:read"))],
) -> dict[str, Any]:
    """The setting ``key``."""
    return setting_out(await read_setting(session, context.settings, key))


@router.put("/settings/{key}", summary="Change a setting")
async def put_setting(
    key: str,
    body: SettingIn,
    request: Request,
    context: Context,
    session: Session,
    _: Annotated[Principal, Depends(authorize("settings:write"))],
) -> dict[str, Any]:
    """Store a new value for ``key`` (422 with the reason when it does not fit)."""
    await write_setting(session, key, body.value, _who(request), time.time())
    await session.commit()
    await publish_reload(context, "settings", {"key": key})
    return setting_out(await read_setting(session, context.settings, key))


@router.delete("/settings/{key}", summary="Put a setting back to its default")
async def delete_setting(
    key: str,
    context: Context,
    session: Session,
    _: Annotated[Principal, Depends(authorize("settings:write"))],
) -> dict[str, Any]:
    """Forget the stored value: the default applies again."""
    await reset_setting(session, key)
    await session.commit()
    await publish_reload(context, "settings", {"key": key})
    return setting_out(await read_setting(session, context.settings, key))
