"""``opsconductor users`` and ``opsconductor keys`` on real SQLite and PostgreSQL databases."""

from __future__ import annotations

import getpass
import json
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, Protocol, TypeVar

import pytest
import sqlalchemy as sa
from click.testing import Result
from sqlalchemy.ext.asyncio import AsyncSession
from tests.conftest import create_test_database, drop_test_database, run_in_thread
from typer.testing import CliRunner

from opsconductor.auth.keys import check_key
from opsconductor.auth.passwords import verify_password
from opsconductor.auth.refresh import issue_refresh, rotate
from opsconductor.auth.tokens import TokenError
from opsconductor.auth.users import find_user
from opsconductor.cli import app
from opsconductor.store import create_engine, session_factory
from opsconductor.store.audit import verify_chain
from opsconductor.store.tables import audit_log, users

PASSWORD = "Blue-Kettle-Morning-7"
NEW_PASSWORD = "Quiet-River-Lantern-3"
_T = TypeVar("_T")


class Cli(Protocol):
    """Runs ``opsconductor ARGS…`` against the test's database."""

    def __call__(self, *args: str, stdin: str | None = None) -> Result: ...


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path, clean_env: None) -> Iterator[str]:
    """The URL of an empty database: SQLite in the data directory, or a new PostgreSQL one."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'data' / 'opsconductor.db'}"
        return
    url = run_in_thread(create_test_database)
    try:
        yield url
    finally:
        run_in_thread(lambda: drop_test_database(url))


@pytest.fixture
def cli(database: str, tmp_path: Path) -> Cli:
    """The command, configured for ``database`` through the environment."""
    env = {"OPSC_DATA_DIR": str(tmp_path / "data"), "OPSC_LOG_LEVEL": "WARNING"}
    if database.startswith("postgresql"):
        env["OPSC_DATABASE_URL"] = database
    runner = CliRunner()

    def invoke(*args: str, stdin: str | None = None) -> Result:
        return runner.invoke(app, list(args), input=stdin, env=env)

    return invoke


def in_session(url: str, work: Callable[[AsyncSession], Awaitable[_T]]) -> _T:
    """Run ``work`` in a committed session on ``url``."""

    async def main() -> _T:
        engine = create_engine(url)
        try:
            async with session_factory(engine)() as session:
                result = await work(session)
                await session.commit()
                return result
        finally:
            await engine.dispose()

    return run_in_thread(main)


def ok(result: Result) -> Result:
    """``result`` after checking that the command succeeded."""
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return result


def add(cli: Cli, username: str, role: str) -> None:
    """Add a user with ``PASSWORD`` given on stdin."""
    ok(cli("users", "add", username, "--role", role, "--password-stdin", stdin=PASSWORD + "\n"))


def listed(cli: Cli, *what: str) -> dict[str, dict[str, Any]]:
    """``… list --json`` keyed by username or key prefix."""
    lines = ok(cli(*what, "list", "--json")).stdout.splitlines()
    rows = [json.loads(line) for line in lines]
    return {row.get("username") or row["prefix"]: row for row in rows}


def test_add_list_and_change_a_password(cli: Cli, database: str) -> None:
    result = ok(
        cli(
            "users", "add", "kim", "--role", "operator", "--full-name", "Kim Lee",
            "--email", "kim@example.net", "--password-stdin", stdin=PASSWORD + "\n",
        )
    )  # fmt: skip
    assert "added user kim (operator)" in result.stdout
    kim = listed(cli, "users")["kim"]
    assert (kim["role"], kim["full_name"], kim["disabled"]) == ("operator", "Kim Lee", False)
    assert "password_hash" not in kim and PASSWORD not in json.dumps(kim)
    table = ok(cli("users", "list")).stdout
    assert "kim" in table and "operator" in table and "1 users" in table

    async def lock_and_log_in(session: AsyncSession) -> str:
        until = time.time() + 3600
        await session.execute(sa.update(users).values(locked_until=until, failed_logins=9))
        user = await find_user(session, "kim")
        return await issue_refresh(session, user.id, None, time.time(), 3600)

    token = in_session(database, lock_and_log_in)
    ok(cli("users", "passwd", "kim", "--password-stdin", stdin=NEW_PASSWORD + "\n"))
    user = in_session(database, lambda session: find_user(session, "kim"))
    assert verify_password(user.password_hash, NEW_PASSWORD)
    assert (user.locked_until, user.failed_logins) == (None, 0)
    with pytest.raises(TokenError, match="revoked"):
        in_session(database, lambda session: rotate(session, token, time.time(), 3600))


def test_the_password_is_typed_twice_at_a_hidden_prompt(cli: Cli, database: str) -> None:
    typed = f"{PASSWORD}\n{PASSWORD}x\n{PASSWORD}\n{PASSWORD}\n"
    result = ok(cli("users", "add", "ana", "--role", "viewer", stdin=typed))
    assert PASSWORD not in result.stdout + result.stderr  # hidden, never echoed
    assert "do not match" in result.stderr
    user = in_session(database, lambda session: find_user(session, "ana"))
    assert verify_password(user.password_hash, PASSWORD)


def test_refusals_exit_1_with_the_reason(cli: Cli) -> None:
    short = cli("users", "add", "kim", "--role", "viewer", "--password-stdin", stdin="short\n")
    assert short.exit_code == 1
    assert "password must have at least 12 characters" in short.stderr
    named = cli(
        "users", "add", "kim", "--role", "viewer", "--password-stdin", stdin="kim-12345678\n"
    )
    assert named.exit_code == 1 and "must not contain the username" in named.stderr
    assert "kim" not in listed(cli, "users")
    add(cli, "kim", "viewer")
    again = cli("users", "add", "kim", "--role", "viewer", "--password-stdin", stdin=PASSWORD)
    assert again.exit_code == 1 and "exists" in again.stderr
    nobody = cli("users", "passwd", "nobody", "--password-stdin", stdin=NEW_PASSWORD + "\n")
    assert nobody.exit_code == 1 and "no user 'nobody'" in nobody.stderr
    bad_role = cli("users", "add", "lee", "--role", "wizard", "--password-stdin", stdin=PASSWORD)
    assert bad_role.exit_code == 2


def test_disable_enable_and_the_last_admin(cli: Cli, database: str) -> None:
    add(cli, "root1", "admin")
    refused = cli("users", "disable", "root1")
    assert refused.exit_code == 1 and "last enabled admin" in refused.stderr
    assert listed(cli, "users")["root1"]["disabled"] is False
    add(cli, "root2", "admin")

    async def log_in(session: AsyncSession) -> str:
        user = await find_user(session, "root1")
        return await issue_refresh(session, user.id, None, time.time(), 3600)

    token = in_session(database, log_in)
    ok(cli("users", "disable", "root1"))
    assert listed(cli, "users")["root1"]["disabled"] is True
    with pytest.raises(TokenError, match="revoked"):
        in_session(database, lambda session: rotate(session, token, time.time(), 3600))
    last = cli("users", "disable", "root2")
    assert last.exit_code == 1 and "last enabled admin" in last.stderr
    ok(cli("users", "enable", "root1"))
    assert listed(cli, "users")["root1"]["disabled"] is False
    ok(cli("users", "disable", "root2"))


def test_a_key_is_shown_once_works_and_is_revoked(cli: Cli, database: str) -> None:
    created = ok(cli("keys", "create", "ci runner", "--role", "service"))
    assert "will not be shown again" in created.stdout
    quiet = ok(cli("keys", "create", "backup", "--role", "viewer", "--expires-in-days", "30", "-q"))
    key = quiet.stdout.strip()
    assert quiet.stdout == key + "\n" and key.startswith("opsc_")
    row = in_session(database, lambda session: check_key(session, key, time.time()))
    assert row is not None and (row.name, row.role) == ("backup", "viewer")
    assert row.expires_at == pytest.approx(time.time() + 30 * 86400, abs=120)

    shown = listed(cli, "keys")
    assert set(shown) == {row.prefix, created.stdout.split()[2]}
    assert shown[row.prefix]["created_by"] == f"cli:{getpass.getuser()}"
    everything = ok(cli("keys", "list", "--json")).stdout + ok(cli("keys", "list")).stdout
    assert key not in everything and key.rsplit("_", 1)[1] not in everything
    assert row.key_hash not in everything and "key_hash" not in everything

    ok(cli("keys", "revoke", row.prefix))
    assert in_session(database, lambda session: check_key(session, key, time.time())) is None
    assert listed(cli, "keys")[row.prefix]["revoked_at"] is not None
    missing = cli("keys", "revoke", "opsc_00000000")
    assert missing.exit_code == 1 and "no API key" in missing.stderr


def test_every_change_is_in_the_audit_log(cli: Cli, database: str) -> None:
    add(cli, "root1", "admin")
    add(cli, "kim", "operator")
    ok(cli("users", "passwd", "kim", "--password-stdin", stdin=NEW_PASSWORD + "\n"))
    ok(cli("users", "disable", "kim"))
    ok(cli("users", "enable", "kim"))
    assert cli("users", "disable", "root1").exit_code == 1  # refused: not recorded
    prefix = ok(cli("keys", "create", "ci", "--role", "service", "-q")).stdout[:13]
    ok(cli("keys", "revoke", prefix))

    async def read(session: AsyncSession) -> list[Any]:
        return list(await session.execute(sa.select(audit_log).order_by(audit_log.c.seq)))

    rows = in_session(database, read)
    assert [(row.action, row.target) for row in rows] == [
        ("users add", "root1"), ("users add", "kim"), ("users passwd", "kim"),
        ("users disable", "kim"), ("users enable", "kim"), ("keys create", prefix),
        ("keys revoke", prefix),
    ]  # fmt: skip
    actor = f"cli:{getpass.getuser()}"
    assert {(row.actor, row.source, row.outcome) for row in rows} == {(actor, "cli", "ok")}
    assert rows[0].detail == {"role": "admin"}
    assert all(NEW_PASSWORD not in json.dumps(row.detail) for row in rows)
    assert in_session(database, verify_chain).intact
