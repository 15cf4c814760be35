"""A running product for end-to-end tests, in this process, on either deployment."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from tests.conftest import ADMIN_PASSWORD, admin_client

from opsconductor.config import load_settings
from opsconductor.runtime import Runtime


@contextlib.asynccontextmanager
async def running_product(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Runtime]:
    """Every stage, the API included, started in this process with ``env`` as its settings."""
    for key, value in {"OPSC_ADMIN_PASSWORD": ADMIN_PASSWORD, **env}.items():
        monkeypatch.setenv(key, value)
    runtime = Runtime(load_settings())
    await runtime.start()
    try:
        yield runtime
    finally:
        await runtime.stop()


@pytest.fixture
async def product(
    stack_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, clean_env: None
) -> AsyncIterator[Runtime]:
    """The product on the deployment under test."""
    async with running_product(stack_env, monkeypatch) as runtime:
        yield runtime


@pytest.fixture
async def api(product: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the product's API."""
    assert product.http_url is not None
    async with admin_client(product.http_url, timeout=10) as client:
        yield client


async def wait_for_events(
    api: httpx.AsyncClient, count: int, timeout: float = 15.0, **params: Any
) -> list[dict[str, Any]]:
    """Poll the events API until ``count`` events match ``params``; return them, oldest first."""
    deadline = time.monotonic() + timeout
    items: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        items = await all_events(api, **params)
        if len(items) >= count:
            return list(reversed(items))
        await asyncio.sleep(0.1)
    raise AssertionError(
        f"expected {count} events matching {params}, found {len(items)}: "
        f"{[i.get('message') for i in items][:10]}"
    )


async def all_events(api: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    """Every event matching ``params``, walking the cursor."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, "limit": 1000, **({"cursor": cursor} if cursor else {})}
        response = await api.get("/api/v1/events", params=query)
        response.raise_for_status()
        page = response.json()
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            return items
