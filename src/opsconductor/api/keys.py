"""API keys for service accounts: created (the secret shown once), listed and revoked."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from opsconductor.api.deps import Principal, Session, authorize, people_only
from opsconductor.api.events import Cursor, Limit
from opsconductor.auth.keys import NewKey, create_key, get_key, list_keys, public, revoke_key
from opsconductor.auth.roles import Role
from opsconductor.auth.users import PRINTABLE
from opsconductor.store.pagination import check_limit, keyed_page, resume_after

router = APIRouter(prefix="/keys", tags=["keys"])
Reader = Annotated[Principal, Depends(authorize("keys:read"))]
Writer = Annotated[Principal, Depends(authorize("keys:write"))]


class KeyIn(BaseModel):
    """A new API key: a name saying what uses it, a role, and optionally an expiry."""

    name: str = Field(min_length=1, max_length=100, pattern=PRINTABLE)
    role: Role = Role.SERVICE
    expires_at: float | None = Field(
        None, allow_inf_nan=False, description="UNIX time; absent: never expires"
    )
    expires_in_days: float | None = Field(None, gt=0, le=3650)


@router.get("", summary="List API keys")
async def list_all(
    session: Session, _: Reader, cursor: Cursor = None, limit: Limit = 100
) -> dict[str, Any]:
    """Keys newest first, with a cursor; never their secrets."""
    check_limit(limit)
    rows = await list_keys(session, resume_after(cursor, "keys"), limit + 1)
    page, next_cursor = keyed_page(rows, limit, "keys", lambda row: str(row.id))
    return {"items": [public(row) for row in page], "next_cursor": next_cursor}


@router.post("", summary="Create an API key (its secret is shown once)", status_code=201)
async def create(body: KeyIn, session: Session, caller: Writer) -> dict[str, Any]:
    """The new key: ``key`` holds the secret, which is never shown again."""
    people_only(caller)
    now = time.time()
    expires = body.expires_at
    if body.expires_in_days is not None:
        expires = now + body.expires_in_days * 86400
    new = NewKey(body.name, body.role.value, caller.name, expires)
    key, row = await create_key(session, new, now)
    await session.commit()
    return {**row, "key": key}


@router.get("/{key_id}", summary="Read an API key")
async def read(key_id: str, session: Session, _: Reader) -> dict[str, Any]:
    """One key, without its secret."""
    return public(await get_key(session, key_id))


@router.delete("/{key_id}", summary="Revoke an API key")
async def revoke(key_id: str, session: Session, caller: Writer) -> dict[str, Any]:
    """Revoke at once: the next request with it is refused."""
    people_only(caller)
    row = await revoke_key(session, key_id, time.time())
    await session.commit()
    return public(row)
