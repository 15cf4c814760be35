"""The permission matrix, walked: every route × every role, plus no token, a forged and an
expired token, a revoked refresh token and API keys of the wrong role; and the generated
``docs/permissions.md`` matches the code."""

from __future__ import annotations

import re
import time

import httpx
import jwt
from tests.api.conftest import Api
from tests.conftest import ROOT

from opsconductor.api.app import create_app
from opsconductor.api.context import AppContext
from opsconductor.api.matrix import AUTHENTICATED, PUBLIC, RouteRule, markdown, route_rules
from opsconductor.api.security import gatekeeper
from opsconductor.auth.roles import Role
from opsconductor.bus.memory import MemoryBus
from opsconductor.config import Settings
from opsconductor.observability import Metrics

GUARDED = [
    rule
    for rule in route_rules(create_app(AppContext(Settings(), MemoryBus(), Metrics())))
    if rule.method != "WS" and rule.requirement != PUBLIC
]


def test_the_permissions_document_is_generated_from_the_code() -> None:
    app = create_app(AppContext(Settings(), MemoryBus(), Metrics()))
    documented = (ROOT / "docs" / "permissions.md").read_text(encoding="utf-8")
    assert documented == markdown(app), "run: opsconductor permissions > docs/permissions.md"


def test_every_management_route_is_guarded() -> None:
    app = create_app(AppContext(Settings(), MemoryBus(), Metrics()))
    public = {(r.method, r.path) for r in route_rules(app) if r.requirement == PUBLIC}
    assert public == {
        ("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/api/docs"),
        ("POST", "/api/v1/auth/login"), ("POST", "/api/v1/auth/refresh"),
        ("GET", "/login"), ("POST", "/login"), ("POST", "/logout"),
    }  # fmt: skip
    assert len(GUARDED) > 50


async def _call(client: httpx.AsyncClient, rule: RouteRule, headers: dict[str, str]) -> int:
    path = re.sub(r"\{[^}]+\}", "x", rule.path)
    body = {} if rule.method in ("POST", "PUT", "PATCH") else None
    response = await client.request(rule.method, path, json=body, headers=headers)
    if response.status_code in (401, 403):
        assert set(response.json()) >= {"error", "detail"}, response.text
    if response.status_code == 401:
        assert response.headers["www-authenticate"] == "Bearer"
    return response.status_code


async def test_every_route_answers_every_role_as_documented(api: Api) -> None:
    tokens = {role: await api.token_for(role.value) for role in Role}
    wrong: list[str] = []
    for rule in GUARDED:
        for role, token in tokens.items():
            status = await _call(api.client, rule, {"Authorization": f"Bearer {token}"})
            expected_refusal = not rule.allows(role)
            if expected_refusal != (status == 403) or status == 401:
                wrong.append(f"{role.value} {rule.method} {rule.path}: {status}")
    assert not wrong, "\n".join(wrong)


async def test_bad_credentials_are_401_on_every_route(api: Api) -> None:
    gate = await gatekeeper(api.context)
    old = time.time() - 2 * gate.issuer.lifetime
    expired, _ = gate.issuer.issue("someone", "admin", "admin", old)
    forged = jwt.encode(
        {"iss": "opsconductor", "sub": "x", "role": "admin", "typ": "access",
         "exp": int(time.time()) + 600},
        "a key that is not the deployment's signing key", algorithm="HS256",
    )  # fmt: skip
    variants = {
        "none": {"Authorization": ""},  # (the client sends the admin's token by default)
        "expired": {"Authorization": f"Bearer {expired}"},
        "forged": {"Authorization": f"Bearer {forged}"},
        "garbage": {"Authorization": "Bearer not-a-token"},
        "unknown key": {"X-API-Key": "opsc_00000000_" + "a" * 43},
        "basic": {"Authorization": "Basic YWRtaW46YWRtaW4="},
    }
    wrong = [
        f"{name} {rule.method} {rule.path}: {status}"
        for rule in GUARDED
        for name, headers in variants.items()
        if (status := await _call(api.client, rule, headers)) != 401
    ]
    assert not wrong, "\n".join(wrong)


async def test_api_keys_are_held_to_their_role(api: Api) -> None:
    created = await api.client.post("/api/v1/keys", json={"name": "collector", "role": "service"})
    assert created.status_code == 201, created.text
    key = created.json()["key"]
    assert key.startswith(created.json()["prefix"] + "_")
    forms = ({"X-API-Key": key}, {"Authorization": f"Bearer {key}"})
    wrong: list[str] = []
    for rule in GUARDED:
        if rule.requirement == AUTHENTICATED:
            continue
        for headers in forms:
            status = await _call(api.client, rule, headers)
            if (status == 403) == rule.allows(Role.SERVICE) or status == 401:
                wrong.append(f"{next(iter(headers))} {rule.method} {rule.path}: {status}")
    assert not wrong, "\n".join(wrong)
    revoked = await api.client.delete(f"/api/v1/keys/{created.json()['id']}")
    assert revoked.status_code == 200
    for headers in forms:
        refused = await api.client.get("/api/v1/events", headers=headers)
        assert refused.status_code == 401, refused.text


async def test_a_revoked_refresh_token_is_refused(api: Api) -> None:
    await api.token_for("viewer", "vera")
    anonymous = {"Authorization": ""}
    login = await api.client.post(
        "/api/v1/auth/login",
        json={"username": "vera", "password": "Opsc-Test-Secret-42"},
        headers=anonymous,
    )
    assert login.status_code == 200, login.text
    tokens = login.json()
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    out = await api.client.post(
        "/api/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]}, headers=bearer
    )
    assert out.status_code == 204
    again = await api.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}, headers=anonymous
    )
    assert again.status_code == 401
    assert again.json() == {"error": "unauthorized", "detail": "refresh token revoked"}
