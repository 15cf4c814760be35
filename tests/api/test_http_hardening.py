"""Settings that change who may call: the IP allowlist per role, open metrics, CORS."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import ValidationError
from tests.api.conftest import Api

from opsconductor.api.app import create_app
from opsconductor.api.context import AppContext
from opsconductor.config import Settings
from opsconductor.observability import Metrics


def _reconfigure(api: Api, **settings: object) -> None:
    """Give the running app new settings (the gatekeeper is rebuilt on the next request)."""
    api.context.settings = Settings(data_dir=api.context.settings.data_dir, **settings)
    api.context.gate = None


async def test_a_role_outside_its_allowlist_is_refused(api: Api) -> None:
    viewer = {"Authorization": f"Bearer {await api.token_for('viewer')}"}
    _reconfigure(api, ip_allowlist={"viewer": ["10.0.0.0/8"], "admin": ["127.0.0.0/8"]})
    refused = await api.client.get("/api/v1/events", headers=viewer)
    assert refused.status_code == 403
    assert "address" in refused.json()["detail"]
    assert (await api.client.get("/api/v1/events")).status_code == 200  # admin from loopback


def test_a_bad_allowlist_is_a_configuration_error() -> None:
    with pytest.raises(ValidationError, match="root"):
        Settings(ip_allowlist={"root": ["10.0.0.0/8"]})
    with pytest.raises(ValidationError, match=r"10\.0\.0\.300"):
        Settings(ip_allowlist={"viewer": ["10.0.0.300/8"]})


async def test_metrics_need_a_token_unless_configured_open(api: Api) -> None:
    anonymous = {"Authorization": ""}
    assert (await api.client.get("/metrics", headers=anonymous)).status_code == 401
    _reconfigure(api, metrics_open=True)
    opened = await api.client.get("/metrics", headers=anonymous)
    assert opened.status_code == 200
    assert "opsc_" in opened.text


async def test_cors_answers_only_configured_origins(api: Api) -> None:
    asked = {"Origin": "https://noc.example", "Access-Control-Request-Method": "GET"}
    plain = await api.client.options("/api/v1/events", headers=asked)
    assert "access-control-allow-origin" not in plain.headers
    settings = Settings(
        data_dir=api.context.settings.data_dir, cors_origins=["https://noc.example"]
    )
    context = AppContext(settings, api.bus, Metrics(), None, api.sessions)
    transport = httpx.ASGITransport(app=create_app(context))
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
        allowed = await client.options("/api/v1/events", headers=asked)
        assert allowed.headers["access-control-allow-origin"] == "https://noc.example"
        other = {**asked, "Origin": "https://evil.example"}
        refused = await client.options("/api/v1/events", headers=other)
        assert "access-control-allow-origin" not in refused.headers


async def test_the_api_docs_work_offline(api: Api) -> None:
    page = await api.client.get("/api/docs", headers={"Authorization": ""})
    assert page.status_code == 200
    assert "cdn" not in page.text.lower()
    assert "/api/docs/assets/swagger-ui-bundle.js" in page.text
    bundle = await api.client.get("/api/docs/assets/swagger-ui-bundle.js")
    assert bundle.status_code == 200 and len(bundle.content) > 100_000


async def test_a_nul_character_is_a_400_not_a_500(api: Api) -> None:
    body = {"username": "ad\u0000min", "password": "Whatever-It-Is-1"}
    answer = await api.client.post("/api/v1/auth/login", json=body, headers={"Authorization": ""})
    assert answer.status_code in (400, 401), answer.text
    named = await api.client.post("/api/v1/keys", json={"name": "bad\u0000name"})
    assert named.status_code == 422, named.text


async def test_a_chunked_body_over_the_limit_is_413_and_audited(api: Api) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(3):
            yield b" " * 600_000

    answer = await api.client.post(
        "/api/v1/keys", content=chunks(), headers={"content-type": "application/json"}
    )
    assert answer.status_code == 413, answer.text
    records = (await api.client.get("/api/v1/audit")).json()["items"]
    assert (records[0]["action"], records[0]["outcome"]) == ("POST /api/v1/keys", "413")
