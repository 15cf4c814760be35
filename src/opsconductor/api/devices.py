"""Devices API: list with filters, read, create, change and delete; groups, sites and tags.

Every change is announced on ``control.reload.devices`` after its commit, so the alert
engine sees new sites and groups (maintenance window scopes) without a restart.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator

from opsconductor.api.deps import Context, Principal, Session, authorize
from opsconductor.api.events import Cursor, Limit, PageOut
from opsconductor.api.publish import publish_reload
from opsconductor.errors import InputError, NotFound
from opsconductor.inventory.repository import (
    DeviceFilter,
    create_device,
    delete_device,
    facet_counts,
    find_devices,
    update_device,
)
from opsconductor.store.devices import DeviceRow
from opsconductor.store.devices import get_device as load_device

router = APIRouter(tags=["devices"])

MAX_LABELS = 64
"""Most groups or tags one device may carry."""

Name = Annotated[str, Field(min_length=1, max_length=200)]
Label = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\s,][^,]*$")]
Labels = Annotated[list[Label], Field(max_length=MAX_LABELS)]
Description = Annotated[str, Field(max_length=2000)]


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(value.strip() for value in values))


class DeviceChange(BaseModel):
    """What an operator may change of a device (its address and hostname are its identity)."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    site: Annotated[str, Field(max_length=200)] | None = None
    groups: Labels | None = None
    tags: Labels | None = None
    description: Description | None = None

    @field_validator("name", "site")
    @classmethod
    def _stripped(cls, value: str | None) -> str | None:
        if value is not None and value.strip() != value:
            raise ValueError("must not start or end with whitespace")
        return value

    @field_validator("groups", "tags")
    @classmethod
    def _deduplicated(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _unique(value)


class DeviceIn(DeviceChange):
    """A device to add: its address (an IP) and hostname, and what describes it."""

    address: Annotated[str, Field(min_length=2, max_length=64)]
    hostname: Annotated[str, Field(max_length=253, pattern=r"^[A-Za-z0-9_.\-]*$")] = ""

    @field_validator("address")
    @classmethod
    def _ip(cls, value: str) -> str:
        try:
            return str(ipaddress.ip_address(value.strip()))
        except ValueError:
            raise ValueError(f"{value!r} is not an IPv4 or IPv6 address") from None


class FacetOut(BaseModel):
    """One distinct value and how many devices have it."""

    value: str
    count: int


def device_out(row: DeviceRow) -> dict[str, Any]:
    """A device as the API shows it (lists never null)."""
    item = dataclasses.asdict(row)
    item["groups"] = list(row.groups or [])
    item["tags"] = list(row.tags or [])
    return item


async def _facet(session: Session, facet: str) -> list[FacetOut]:
    return [FacetOut(value=v, count=n) for v, n in await facet_counts(session, facet)]


@router.get("/devices", response_model=PageOut, summary="List devices")
async def list_devices(
    session: Session,
    _: Annotated[Principal, Depends(authorize("devices:read"))],
    site: Annotated[str | None, Query(max_length=200, description="Exact site.")] = None,
    group: Annotated[str | None, Query(max_length=64, description="Has this group.")] = None,
    tag: Annotated[str | None, Query(max_length=64, description="Has this tag.")] = None,
    q: Annotated[
        str | None, Query(max_length=200, description="Text in name, address or hostname.")
    ] = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> PageOut:
    """Devices matching every given filter, by name."""
    flt = DeviceFilter(site=site, group=group, tag=tag, text=q or None)
    page = await find_devices(session, flt, cursor=cursor, limit=limit)
    return PageOut(items=[device_out(row) for row in page.items], next_cursor=page.next_cursor)


@router.get("/devices/groups", response_model=list[FacetOut], summary="Device groups")
async def list_groups(
    session: Session, _: Annotated[Principal, Depends(authorize("devices:read"))]
) -> list[FacetOut]:
    """Every group with the number of devices in it."""
    return await _facet(session, "groups")


@router.get("/devices/sites", response_model=list[FacetOut], summary="Device sites")
async def list_sites(
    session: Session, _: Annotated[Principal, Depends(authorize("devices:read"))]
) -> list[FacetOut]:
    """Every site with the number of devices at it."""
    return await _facet(session, "site")


@router.get("/devices/tags", response_model=list[FacetOut], summary="Device tags")
async def list_tags(
    session: Session, _: Annotated[Principal, Depends(authorize("devices:read"))]
) -> list[FacetOut]:
    """Every tag with the number of devices carrying it."""
    return await _facet(session, "tags")


@router.get("/devices/{device_id}", summary="One device")
async def get_device(
    device_id: str,
    session: Session,
    _: Annotated[Principal, Depends(authorize("devices:read"))],
) -> dict[str, Any]:
    """The device with this id."""
    row = await load_device(session, device_id)
    if row is None:
        raise NotFound(f"no device {device_id!r}")
    return device_out(row)


@router.post("/devices", status_code=201, summary="Add a device")
async def post_device(
    body: DeviceIn,
    context: Context,
    session: Session,
    _: Annotated[Principal, Depends(authorize("devices:write"))],
) -> dict[str, Any]:
    """Add a device before it sends anything; 409 if its address and hostname are known."""
    row = await create_device(session, body.model_dump(exclude_none=True), time.time())
    await session.commit()
    await publish_reload(context, "devices", {"device": row.id})
    return device_out(row)


@router.patch("/devices/{device_id}", summary="Change a device")
async def patch_device(
    device_id: str,
    body: DeviceChange,
    context: Context,
    session: Session,
    _: Annotated[Principal, Depends(authorize("devices:write"))],
) -> dict[str, Any]:
    """Change the given fields of a device."""
    changes = body.model_dump(exclude_unset=True)
    nulls = sorted(key for key, value in changes.items() if value is None)
    if nulls:
        raise InputError(f"{', '.join(nulls)}: may not be null")
    row = await update_device(session, device_id, changes)
    if row is None:
        raise NotFound(f"no device {device_id!r}")
    await session.commit()
    await publish_reload(context, "devices", {"device": device_id})
    return device_out(row)


@router.delete("/devices/{device_id}", status_code=204, summary="Delete a device")
async def remove_device(
    device_id: str,
    context: Context,
    session: Session,
    _: Annotated[Principal, Depends(authorize("devices:write"))],
) -> Response:
    """Forget a device; its events stay, and a log from it adds it again."""
    if not await delete_device(session, device_id):
        raise NotFound(f"no device {device_id!r}")
    await session.commit()
    await publish_reload(context, "devices", {"device": device_id})
    return Response(status_code=204)
