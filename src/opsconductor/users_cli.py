"""``opsconductor users`` and ``opsconductor keys``: people who log in and the API keys of
service accounts, managed from the machine the product runs on.

Every change is written to the audit log in the same transaction, with the actor
``cli:<OS user>`` and the source ``cli``, so the trail is complete whoever changes users.
"""

from __future__ import annotations

import getpass
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from opsconductor.auth import keys as api_keys
from opsconductor.auth import refresh
from opsconductor.auth import users as accounts
from opsconductor.auth.passwords import check_policy
from opsconductor.auth.roles import Role
from opsconductor.cli_support import ConfigOption, console, with_session
from opsconductor.config import Settings
from opsconductor.errors import InputError, OpsConductorError
from opsconductor.store.audit import AuditEntry, append_audit

users_app = typer.Typer(help="Users who log in.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys of service accounts.", no_args_is_help=True)
out = Console()

_PAGE = 500
RoleOption = Annotated[
    Role, typer.Option("--role", help="admin, operator, viewer or service.", show_default=False)
]
Username = Annotated[str, typer.Argument(help="The user's login name.", show_default=False)]
PasswordStdin = Annotated[
    bool,
    typer.Option(
        "--password-stdin", help="Read the password from the first line of standard input."
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="One JSON document per line.")]


def cli_actor() -> str:
    """Who the audit log names for a command: ``cli:<OS user>``."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return f"cli:uid{os.getuid()}"


async def _audit(
    session: AsyncSession, action: str, target: str, detail: Mapping[str, Any], now: float
) -> None:
    """Append one successful command to the audit log (the caller commits)."""
    entry = AuditEntry(now, cli_actor(), "", action, target, "cli", "ok", detail)
    await append_audit(session, entry)


def _fail(message: str) -> NoReturn:
    console.print(f"[red]error:[/red] {message}", markup=True, highlight=False)
    raise typer.Exit(1)


def _read_password(username: str, from_stdin: bool) -> str:
    """The new password: one line of stdin, or typed twice at a hidden prompt; checked
    against the policy before the database is opened."""
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            _fail("no password on standard input")
    else:
        password = str(
            typer.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
        )
    try:
        check_policy(password, username)
    except OpsConductorError as exc:
        _fail(str(exc))
    return password


def _when(at: float | None) -> str:
    """A UNIX time as ``YYYY-MM-DDTHH:MMZ`` (UTC); empty for none."""
    return "" if at is None else time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime(at))


def _change(config: Path | None, work: Callable[[AsyncSession, float], Awaitable[Any]]) -> Any:
    """Run ``work(session, now)`` on the configured database and commit it."""

    async def run(_settings: Settings, session: AsyncSession) -> Any:
        result = await work(session, time.time())
        await session.commit()
        return result

    return with_session(config, run)


async def _user(session: AsyncSession, username: str) -> Any:
    """The row of ``username``, or ``NoSuchUser``."""
    row = await accounts.find_user(session, username)
    if row is None:
        raise accounts.NoSuchUser(f"no user {username!r}")
    return row


@users_app.command("add")
def users_add(
    username: Username,
    role: RoleOption,
    full_name: Annotated[str, typer.Option(help="The person's name.")] = "",
    email: Annotated[str, typer.Option(help="The person's e-mail address.")] = "",
    password_stdin: PasswordStdin = False,
    config: ConfigOption = None,
) -> None:
    """Add a user with a role; the password is typed twice, or read from stdin."""
    try:
        accounts.check_username(username)
    except InputError as exc:
        _fail(str(exc))
    password = _read_password(username, password_stdin)
    new = accounts.NewUser(username, password, role.value, full_name, email)

    async def work(session: AsyncSession, now: float) -> None:
        await accounts.create_user(session, new, now)
        await _audit(session, "users add", username, {"role": role.value}, now)

    _change(config, work)
    out.print(f"added user {username} ({role.value})")


async def _all_users(session: AsyncSession) -> list[Any]:
    rows: list[Any] = []
    while page := await accounts.list_users(session, rows[-1].username if rows else None, _PAGE):
        rows.extend(page)
        if len(page) < _PAGE:
            break
    return rows


@users_app.command("list")
def users_list(as_json: JsonOption = False, config: ConfigOption = None) -> None:
    """List the users: name, role, enabled, 2FA, locked until, last login."""
    rows = with_session(config, lambda _s, session: _all_users(session))
    if as_json:
        for row in rows:
            print(json.dumps(accounts.public(row)))
        return
    now = time.time()
    table = Table("username", "role", "enabled", "2FA", "locked until", "last login")
    for row in rows:
        locked = row.locked_until if row.locked_until and row.locked_until > now else None
        table.add_row(
            row.username,
            row.role,
            "no" if row.disabled else "yes",
            "yes" if row.totp_enabled else "no",
            _when(locked),
            _when(row.last_login_at),
        )
    out.print(table)
    out.print(f"{len(rows)} users")


@users_app.command("passwd")
def users_passwd(
    username: Username, password_stdin: PasswordStdin = False, config: ConfigOption = None
) -> None:
    """Set a user's password; clears a lockout and ends the user's logins."""
    password = _read_password(username, password_stdin)

    async def work(session: AsyncSession, now: float) -> None:
        user = await _user(session, username)
        await accounts.set_password(session, user, password, now)
        await refresh.revoke_user(session, user.id, now)
        await _audit(session, "users passwd", username, {}, now)

    _change(config, work)
    out.print(f"password of {username} changed; their logins have ended")


def _set_enabled(config: Path | None, username: str, enabled: bool) -> None:
    """Enable or disable ``username``; never the last enabled admin."""
    action = "users enable" if enabled else "users disable"

    async def work(session: AsyncSession, now: float) -> None:
        user = await _user(session, username)
        last_admin = user.role == Role.ADMIN and not user.disabled
        if not enabled and last_admin and await accounts.count_admins(session) <= 1:
            raise InputError(f"{username} is the last enabled admin; make another admin first")
        await accounts.update_user(session, user.id, {"disabled": not enabled})
        if not enabled:
            await refresh.revoke_user(session, user.id, now)
        await _audit(session, action, username, {"was_disabled": bool(user.disabled)}, now)

    _change(config, work)
    out.print(f"{username} {'enabled' if enabled else 'disabled'}")


@users_app.command("disable")
def users_disable(username: Username, config: ConfigOption = None) -> None:
    """Disable a user and end their logins (refused for the last enabled admin)."""
    _set_enabled(config, username, enabled=False)


@users_app.command("enable")
def users_enable(username: Username, config: ConfigOption = None) -> None:
    """Enable a disabled user."""
    _set_enabled(config, username, enabled=True)


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Argument(help="What uses the key.", show_default=False)],
    role: RoleOption,
    expires_in_days: Annotated[
        int | None, typer.Option(min=1, max=3650, help="Days until it expires (default: never).")
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print only the key, for scripts.")
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Create an API key; the key is printed once and never shown again."""

    async def work(session: AsyncSession, now: float) -> tuple[str, dict[str, Any]]:
        expires = None if expires_in_days is None else now + expires_in_days * 86400.0
        new = api_keys.NewKey(name, role.value, cli_actor(), expires)
        key, row = await api_keys.create_key(session, new, now)
        detail = {"id": row["id"], "name": row["name"], "role": row["role"]}
        await _audit(session, "keys create", row["prefix"], detail, now)
        return key, row

    key, row = _change(config, work)
    if not quiet:
        out.print(f"API key {row['prefix']} ({row['name']}, role {row['role']}):", markup=False)
    print(key, flush=True)
    if not quiet:
        out.print("[yellow]Store it now: it will not be shown again.[/yellow]")


async def _all_keys(session: AsyncSession) -> list[Any]:
    rows: list[Any] = []
    while page := await api_keys.list_keys(session, rows[-1].id if rows else None, _PAGE):
        rows.extend(page)
        if len(page) < _PAGE:
            break
    return rows


@keys_app.command("list")
def keys_list(as_json: JsonOption = False, config: ConfigOption = None) -> None:
    """List the API keys, newest first; never their secrets."""
    rows = with_session(config, lambda _s, session: _all_keys(session))
    if as_json:
        for row in rows:
            print(json.dumps(api_keys.public(row)))
        return
    table = Table("prefix", "name", "role", "created by", "expires", "revoked", "last used")
    table.columns[0].no_wrap = True
    for row in rows:
        table.add_row(
            row.prefix,
            row.name,
            row.role,
            row.created_by,
            _when(row.expires_at) or "never",
            _when(row.revoked_at),
            _when(row.last_used_at),
        )
    out.print(table)
    out.print(f"{len(rows)} keys")


@keys_app.command("revoke")
def keys_revoke(
    key_id_or_prefix: Annotated[
        str, typer.Argument(help="The key's id or prefix (opsc_ab12cd34).", show_default=False)
    ],
    config: ConfigOption = None,
) -> None:
    """Revoke an API key at once: the next request with it is refused."""

    async def work(session: AsyncSession, now: float) -> Any:
        row = await api_keys.find_key(session, key_id_or_prefix)
        revoked = await api_keys.revoke_key(session, row.id, now)
        detail = {"id": row.id, "name": row.name, "was_revoked": row.revoked_at is not None}
        await _audit(session, "keys revoke", row.prefix, detail, now)
        return revoked

    row = _change(config, work)
    out.print(f"revoked API key {row.prefix} ({row.name})", markup=False)
