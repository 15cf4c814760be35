"""Addons API: list, read, install (a manifest), enable/disable and delete addons.

Every change commits, then publishes ``control.reload.addons`` so running receivers reload.
An invalid manifest is 422 with one ``{loc, msg, type}`` entry per field at fault.
"""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, HTTPException, Query, Response
from pydantic import BaseModel, ConfigDict, StrictBool

from opsconductor.addons import repository as repo
from opsconductor.addons.manifest import parse_manifest
from opsconductor.api.deps import Context, Principal, Session, authorize
from opsconductor.api.publish import publish_reload
from opsconductor.errors import AddonError

router = APIRouter(tags=["addons"])

Reader = Annotated[Principal, Depends(authorize("addons:read"))]
Writer = Annotated[Principal, Depends(authorize("addons:write"))]
ManifestDocument = Annotated[
    dict[str, Any],
    Body(
        description="An addon manifest (see docs/addons.md and docs/addon-manifest.schema.json).",
        examples=[
            {
                "id": "site.hook",
                "name": "Site hook",
                "version": "1.0.0",
                "method": "webhook",
                "parser": {"kind": "json", "fields": {"host": "host", "event": "event"}},
                "severity": {"default": "warning"},
                "fingerprint": ["host", "event"],
                "device": {"field": "host"},
                "auth": {"type": "hmac", "algorithm": "sha256"},
            }
        ],
    ),
]


class AddonOut(BaseModel):
    """An installed addon: its manifest and its bookkeeping."""

    id: str
    name: str
    version: str
    method: str
    enabled: bool
    builtin: bool
    installed_at: float
    updated_at: float
    webhook_path: str | None
    manifest: dict[str, Any]

    @classmethod
    def of(cls, row: repo.AddonRow) -> AddonOut:
        """The response shape of a stored addon."""
        match = row.manifest.get("match") or {}
        path = f"/api/v1/webhooks/{match.get('path') or row.id}"
        return cls(
            id=row.id,
            name=row.name,
            version=row.version,
            method=row.method,
            enabled=row.enabled,
            builtin=row.builtin,
            installed_at=row.installed_at,
            updated_at=row.updated_at,
            webhook_path=path if row.method == "webhook" else None,
            manifest=row.manifest,
        )


class AddonList(BaseModel):
    """Every addon matching the filters, ordered by id."""

    items: list[AddonOut]


class AddonInstalled(AddonOut):
    """An installed addon and what installing did."""

    outcome: Literal["installed", "updated", "unchanged"]


class AddonPatch(BaseModel):
    """The parts of an addon that change without reinstalling it."""

    model_config = ConfigDict(extra="forbid")

    enabled: StrictBool


def _not_found(addon_id: str) -> HTTPException:
    return HTTPException(404, f"no addon {addon_id!r}")


@router.get("/addons", response_model=AddonList, summary="List addons")
async def list_addons(
    session: Session,
    _: Reader,
    enabled: Annotated[bool | None, Query()] = None,
    method: Annotated[
        str | None, Query(description="snmp_trap, webhook, syslog or api_poll.", max_length=20)
    ] = None,
) -> AddonList:
    """Installed addons (built-in and custom), ordered by id."""
    rows = await repo.list_addons(session, enabled=enabled)
    return AddonList(items=[AddonOut.of(r) for r in rows if method in (None, r.method)])


@router.get("/addons/{addon_id}", response_model=AddonOut, summary="Read an addon")
async def get_addon(addon_id: str, session: Session, _: Reader) -> AddonOut:
    """The addon with this id, with its manifest."""
    row = await repo.get_addon(session, addon_id)
    if row is None:
        raise _not_found(addon_id)
    return AddonOut.of(row)


@router.post(
    "/addons",
    response_model=AddonInstalled,
    status_code=201,
    summary="Install an addon",
    responses={200: {"model": AddonInstalled, "description": "A stored addon updated or kept."}},
)
async def install_addon(
    document: ManifestDocument,
    response: Response,
    session: Session,
    context: Context,
    _: Writer,
    force: Annotated[
        bool,
        Query(
            description="Replace a built-in addon by this manifest, or a stored one by a "
            "different manifest of the same version."
        ),
    ] = False,
) -> AddonInstalled:
    """Validate and store a manifest: 201 for a new addon (enabled), 200 when a new version
    replaced the stored one (its enabled state kept) or nothing changed. 422 lists every
    problem by field; 409 when it would replace a built-in or change a manifest without
    raising its version (unless ``force``)."""
    try:
        manifest = parse_manifest(document)
    except AddonError as exc:
        raise HTTPException(422, exc.detail()) from exc
    row, outcome = await repo.install(session, manifest, time.time(), force=force)
    if outcome is not repo.Install.SAME:
        await session.commit()
        await publish_reload(context, "addons", {"addon_id": row.id})
    if outcome is not repo.Install.NEW:
        response.status_code = 200
    return AddonInstalled(**AddonOut.of(row).model_dump(), outcome=outcome.value)


@router.patch("/addons/{addon_id}", response_model=AddonOut, summary="Enable or disable an addon")
async def patch_addon(
    addon_id: str, patch: AddonPatch, session: Session, context: Context, _: Writer
) -> AddonOut:
    """Switch an addon on or off (``{"enabled": false}``); built-ins too."""
    row, changed = await repo.set_enabled(session, addon_id, patch.enabled, time.time())
    if row is None:
        raise _not_found(addon_id)
    if changed:
        await session.commit()
        await publish_reload(context, "addons", {"addon_id": addon_id})
    return AddonOut.of(row)


@router.delete("/addons/{addon_id}", status_code=204, summary="Delete an addon")
async def delete_addon(addon_id: str, session: Session, context: Context, _: Writer) -> Response:
    """Delete a custom addon; a built-in one is 409 (disable it instead)."""
    if not await repo.delete_addon(session, addon_id):
        raise _not_found(addon_id)
    await session.commit()
    await publish_reload(context, "addons", {"addon_id": addon_id})
    return Response(status_code=204)
