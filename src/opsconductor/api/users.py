"""Users: created, listed, changed, disabled and deleted by admins."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from opsconductor.api.context import AppContext
from opsconductor.api.deps import Context, Principal, Session, authorize, people_only
from opsconductor.api.events import Cursor, Limit
from opsconductor.api.security import gatekeeper
from opsconductor.auth import refresh as refresh_tokens
from opsconductor.auth.roles import Role
from opsconductor.auth.sessions import close_user_sessions
from opsconductor.auth.users import (
    PRINTABLE,
    NewUser,
    count_admins,
    create_user,
    delete_user,
    get_user,
    list_users,
    public,
    set_password,
    update_user,
)
from opsconductor.errors import Conflict
from opsconductor.store.bulk import transaction_lock
from opsconductor.store.pagination import check_limit, keyed_page, resume_after

router = APIRouter(prefix="/users", tags=["users"])
Reader = Annotated[Principal, Depends(authorize("users:read"))]
Writer = Annotated[Principal, Depends(authorize("users:write"))]


class UserIn(BaseModel):
    """A new user."""

    username: str = Field(min_length=2, max_length=64)
    password: str = Field(min_length=1, max_length=256)
    role: Role
    full_name: str = Field("", max_length=200, pattern=PRINTABLE)
    email: str = Field("", max_length=200, pattern=PRINTABLE)


class UserPatch(BaseModel):
    """A change to a user; absent fields stay as they are."""

    role: Role | None = None
    disabled: bool | None = None
    full_name: str | None = Field(None, max_length=200, pattern=PRINTABLE)
    email: str | None = Field(None, max_length=200, pattern=PRINTABLE)
    password: str | None = Field(None, min_length=1, max_length=256)
    unlock: bool | None = Field(None, description="clear a lockout after failed logins")


class LastAdmin(Conflict):
    """A change that would leave no enabled admin (HTTP 409)."""


@router.get("", summary="List users")
async def list_all(
    session: Session, _: Reader, cursor: Cursor = None, limit: Limit = 100
) -> dict[str, Any]:
    """Users by name, with a cursor."""
    check_limit(limit)
    rows = await list_users(session, resume_after(cursor, "users"), limit + 1)
    page, next_cursor = keyed_page(rows, limit, "users", lambda row: str(row.username))
    return {"items": [public(row) for row in page], "next_cursor": next_cursor}


@router.post("", summary="Create a user", status_code=201)
async def create(body: UserIn, session: Session, caller: Writer) -> dict[str, Any]:
    """A new user with a role; the password must meet the policy."""
    people_only(caller)
    new = NewUser(body.username, body.password, body.role.value, body.full_name, body.email)
    user = await create_user(session, new, time.time())
    await session.commit()
    return user


@router.get("/{user_id}", summary="Read a user")
async def read(user_id: str, session: Session, _: Reader) -> dict[str, Any]:
    """One user."""
    return public(await get_user(session, user_id))


@router.patch("/{user_id}", summary="Change a user")
async def change(
    user_id: str, body: UserPatch, session: Session, context: Context, caller: Writer
) -> dict[str, Any]:
    """Role, name, e-mail, enabled, password, unlock; disabling the user or setting their
    password ends their logins and console sessions."""
    people_only(caller)
    now = time.time()
    changes = body.model_dump(exclude_none=True, exclude={"password", "unlock"})
    if "role" in changes:
        changes["role"] = changes["role"].value
    if body.unlock:
        changes |= {"locked_until": None, "failed_logins": 0}
    async with one_change_of_users_at_a_time(context, session):
        user = await get_user(session, user_id)
        demoted = changes.get("role", user.role) != "admin" or changes.get("disabled", False)
        if user.role == "admin" and not user.disabled and demoted:
            await _keep_an_admin(session)
        if changes:
            await update_user(session, user_id, changes)
        if body.password is not None:
            await set_password(session, user, body.password, now)
        if body.password is not None or changes.get("disabled"):
            await refresh_tokens.revoke_user(session, user_id, now)
            await close_user_sessions(session, user_id)
        await session.commit()
    _forget(context, user_id)
    return public(await get_user(session, user_id))


@router.delete("/{user_id}", summary="Delete a user", status_code=204)
async def delete(user_id: str, session: Session, context: Context, caller: Writer) -> None:
    """Remove a user and end their logins (not the last admin, not yourself)."""
    people_only(caller)
    if caller.id == user_id:
        raise LastAdmin("you cannot delete yourself")
    async with one_change_of_users_at_a_time(context, session):
        user = await get_user(session, user_id)
        if user.role == "admin" and not user.disabled:
            await _keep_an_admin(session)
        await refresh_tokens.revoke_user(session, user_id, time.time())
        await close_user_sessions(session, user_id)
        await delete_user(session, user_id)
        await session.commit()
    _forget(context, user_id)


async def _keep_an_admin(session: AsyncSession) -> None:
    if await count_admins(session) <= 1:
        raise LastAdmin("this is the last enabled admin; make another admin first")


@contextlib.asynccontextmanager
async def one_change_of_users_at_a_time(
    context: AppContext, session: AsyncSession
) -> AsyncIterator[None]:
    """Serialize changes to users, so that two at once cannot leave no admin: a lock of this
    process, and on PostgreSQL a transaction lock every API process takes."""
    gate = await gatekeeper(context)
    async with gate.user_changes:
        await transaction_lock(session, _LOCK)
        yield


_LOCK = 0x75736572  # "user"


def _forget(context: AppContext, user_id: str) -> None:
    if context.gate is not None:
        context.gate.forget(user_id)
