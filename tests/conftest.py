"""Shared test plumbing: real services, free ports, the shared data folder, and deployments.

A test that needs a service or program that is missing skips with the reason; with
``OPSC_REQUIRE_SERVICES=1`` (set by ``.ci/run``) such a skip fails the run instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import socket
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
REQUIRE_SERVICES = os.environ.get("OPSC_REQUIRE_SERVICES") == "1"
PG_ADMIN_DSN = os.environ.get("OPSC_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
NATS_URL = os.environ.get("OPSC_TEST_NATS_URL", "nats://127.0.0.1:4222")
ADMIN_PASSWORD = "Opsc-Test-Secret-42"
"""The first admin's password in every product a test starts (``OPSC_ADMIN_PASSWORD``)."""


@contextlib.asynccontextmanager
async def admin_client(base_url: str, **kwargs: Any) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of a running product, logged in as its first admin."""
    async with httpx.AsyncClient(base_url=base_url, **kwargs) as client:
        response = await client.post(
            "/api/v1/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}
        )
        response.raise_for_status()
        client.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
        yield client


def missing(what: str) -> None:
    """Skip (or, under OPSC_REQUIRE_SERVICES=1, fail) because ``what`` is not available."""
    message = f"needs {what}"
    if REQUIRE_SERVICES:
        pytest.fail(f"{message} (OPSC_REQUIRE_SERVICES=1 turns this skip into a failure)")
    pytest.skip(message)


def need_program(name: str) -> str:
    """The path of an executable, or skip/fail."""
    path = shutil.which(name) or next(
        (p for p in (f"/usr/sbin/{name}", f"/sbin/{name}") if os.access(p, os.X_OK)), None
    )
    if path is None:
        missing(f"the program `{name}` (apt-get install it)")
    assert path is not None
    return path


def escaped_bytes(text: str) -> bytes:
    """The bytes a go-syslog case means: its ``\\xNN`` escapes stand for raw bytes."""
    return re.sub(rb"\\x([0-9a-fA-F]{2})", lambda m: bytes([int(m.group(1), 16)]), text.encode())


def free_port() -> int:
    """A port free for both TCP and UDP on 127.0.0.1."""
    for _ in range(50):
        with socket.socket() as tcp:
            tcp.bind(("127.0.0.1", 0))
            port = int(tcp.getsockname()[1])
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            try:
                udp.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the project (or ``OPSC_SHARED_DATA``)."""
    path = Path(os.environ.get("OPSC_SHARED_DATA", ROOT.parent / "shared" / "data"))
    if not path.is_dir():
        pytest.skip(f"the shared data folder is absent ({path})")
    return path


async def create_test_database() -> str:
    """A new, empty ``opsc_test_<random>`` database; returns its SQLAlchemy (asyncpg) URL."""
    import asyncpg

    name = f"opsc_test_{uuid.uuid4().hex[:12]}"
    try:
        conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        missing(f"PostgreSQL at {PG_ADMIN_DSN} ({exc})")
        raise
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    return f"{base}/{name}"


async def drop_test_database(url: str) -> None:
    """Drop a database made by ``create_test_database``."""
    import asyncpg

    name = url.rsplit("/", 1)[1]
    conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=5)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


_T = TypeVar("_T")


def run_in_thread(work: Callable[[], Coroutine[Any, Any, _T]]) -> _T:
    """Run ``work()`` to completion on a private loop in a thread (callers may be in a loop)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, work()).result()


def migrated_pg_database() -> Iterator[str]:
    """For session fixtures: a new PostgreSQL database with every migration applied; yields
    its URL and drops it afterwards."""
    from opsconductor.store import upgrade

    url = run_in_thread(create_test_database)
    try:
        run_in_thread(lambda: upgrade(url))
        yield url
    finally:
        run_in_thread(lambda: drop_test_database(url))


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    url = await create_test_database()
    yield url
    await drop_test_database(url)


@pytest.fixture
async def nats_url() -> AsyncIterator[str]:
    """The NATS server with JetStream, or skip/fail."""
    await _check_nats()
    yield NATS_URL


@pytest.fixture
def unique_prefix() -> str:
    """A stream/subject prefix no other run uses."""
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture(params=["embedded", "distributed"])
def deployment(request: pytest.FixtureRequest) -> str:
    """Run the test once per deployment: in-process bus + SQLite, NATS JetStream + PostgreSQL."""
    return str(request.param)


@pytest.fixture
async def stack_env(
    deployment: str, tmp_path: Path, unique_prefix: str
) -> AsyncIterator[dict[str, str]]:
    """``OPSC_*`` settings for a fresh product instance of the chosen deployment."""
    env = {
        "OPSC_DATA_DIR": str(tmp_path / "data"),
        "OPSC_HTTP_HOST": "127.0.0.1",
        "OPSC_HTTP_PORT": str(free_port()),
        "OPSC_SYSLOG_HOST": "127.0.0.1",
        "OPSC_SYSLOG_UDP_PORT": str(free_port()),
        "OPSC_SYSLOG_TCP_PORT": str(free_port()),
        "OPSC_SYSLOG_TLS_PORT": "0",
        "OPSC_BATCH_MAX_DELAY_MS": "20",
        "OPSC_ADMIN_PASSWORD": ADMIN_PASSWORD,
    }
    if deployment == "embedded":
        yield env
        return
    await _check_nats()
    url = await create_test_database()
    env.update(
        {"OPSC_DATABASE_URL": url, "OPSC_NATS_URL": NATS_URL, "OPSC_NATS_PREFIX": unique_prefix}
    )
    yield env
    await drop_test_database(url)
    await _delete_streams(unique_prefix)


async def _check_nats() -> None:
    import nats

    try:
        client = await nats.connect(
            NATS_URL, connect_timeout=2, max_reconnect_attempts=0, allow_reconnect=False
        )
    except Exception as exc:
        missing(f"NATS JetStream at {NATS_URL} ({exc})")
    await client.close()


async def _delete_streams(prefix: str) -> None:
    import nats

    client = await nats.connect(NATS_URL, connect_timeout=2)
    try:
        js = client.jetstream()
        for info in await js.streams_info():
            if info.config.name and info.config.name.lower().startswith(prefix.lower()):
                await js.delete_stream(info.config.name)
    finally:
        await client.close()


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No ``OPSC_*`` variable from the caller's shell leaks into a test."""
    for key in list(os.environ):
        if key.startswith("OPSC_") and key not in ("OPSC_REQUIRE_SERVICES", "OPSC_SHARED_DATA"):
            monkeypatch.delenv(key)
    yield
