"""Login, refresh rotation and reuse, logout, lockout, per-address limit, TOTP, password
changes, disabled users, and the audit trail of login attempts."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pyotp
from tests.api.conftest import Api
from tests.conftest import ADMIN_PASSWORD

ANONYMOUS = {"Authorization": ""}


async def _login(api: Api, username: str, password: str = ADMIN_PASSWORD, **extra: Any) -> Any:
    body = {"username": username, "password": password, **extra}
    return await api.client.post("/api/v1/auth/login", json=body, headers=ANONYMOUS)


async def _refresh(api: Api, token: str) -> Any:
    return await api.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": token}, headers=ANONYMOUS
    )


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_login_gives_tokens_that_work(api: Api) -> None:
    await api.token_for("operator", "olga")
    response = await _login(api, "olga")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 15 * 60
    assert body["refresh_token"].startswith("ocr_")
    assert body["user"]["username"] == "olga" and "password_hash" not in body["user"]
    me = await api.client.get("/api/v1/auth/me", headers=_bearer(body["access_token"]))
    assert (me.json()["username"], me.json()["role"]) == ("olga", "operator")


async def test_wrong_password_and_unknown_user_look_the_same(api: Api) -> None:
    await api.token_for("viewer", "vic")
    wrong = await _login(api, "vic", "Not-The-Password-1")
    unknown = await _login(api, "nobody", "Not-The-Password-1")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


async def test_refresh_rotates_and_a_reused_token_revokes_the_login(api: Api) -> None:
    await api.token_for("viewer", "rita")
    first = (await _login(api, "rita")).json()
    second = await _refresh(api, first["refresh_token"])
    assert second.status_code == 200, second.text
    assert second.json()["refresh_token"] != first["refresh_token"]
    stolen = await _refresh(api, first["refresh_token"])  # spent: someone copied it
    assert stolen.status_code == 401
    assert "reused" in stolen.json()["detail"]
    after = await _refresh(api, second.json()["refresh_token"])  # the family is revoked
    assert after.status_code == 401
    other = await _login(api, "rita")  # a new login is a new family
    assert (await _refresh(api, other.json()["refresh_token"])).status_code == 200


async def test_an_account_locks_after_repeated_failures(api: Api) -> None:
    await api.token_for("viewer", "lou")
    statuses = [(await _login(api, "lou", f"Wrong-Password-{i}")).status_code for i in range(5)]
    assert statuses == [401] * 5
    for password in ("Wrong-Password-9", ADMIN_PASSWORD):  # same answer: a lock confirms nothing
        locked = await _login(api, "lou", password)
        assert locked.status_code == 423
    unlock = await api.client.get("/api/v1/users")
    [lou] = [u for u in unlock.json()["items"] if u["username"] == "lou"]
    assert lou["locked_until"] > time.time()
    freed = await api.client.patch(f"/api/v1/users/{lou['id']}", json={"unlock": True})
    assert freed.status_code == 200
    assert (await _login(api, "lou")).status_code == 200


async def test_one_address_is_refused_after_many_failures(api: Api) -> None:
    for i in range(20):
        await _login(api, f"ghost{i}", "Wrong-Password-1")
    refused = await _login(api, "admin")
    assert refused.status_code == 429
    assert refused.json()["retry_after"] > 0


async def test_two_factor_login(api: Api) -> None:
    token = await api.token_for("operator", "tara")
    me = _bearer(token)
    wrong = await api.client.post(
        "/api/v1/auth/totp/setup", json={"password": "Not-My-Password-1"}, headers=me
    )
    assert wrong.status_code == 403  # a stolen token alone cannot bind a second factor
    setup = await api.client.post(
        "/api/v1/auth/totp/setup", json={"password": ADMIN_PASSWORD}, headers=me
    )
    secret = setup.json()["secret"]
    assert setup.json()["otpauth_uri"].startswith("otpauth://totp/OpsConductor:tara")
    bad = await api.client.post("/api/v1/auth/totp/enable", json={"code": "000000"}, headers=me)
    assert bad.status_code == 422
    code = pyotp.TOTP(secret).now()
    on = await api.client.post("/api/v1/auth/totp/enable", json={"code": code}, headers=me)
    assert on.status_code == 204
    needs = await _login(api, "tara")
    assert needs.status_code == 401 and needs.json()["totp_required"] is True
    assert (await _login(api, "tara", totp="123456")).status_code == 401
    # the code that enabled 2FA is spent; the next step's code works once, and only once
    later = pyotp.TOTP(secret).at(time.time() + 30)
    assert (await _login(api, "tara", totp=code)).status_code == 401
    assert (await _login(api, "tara", totp=later)).status_code == 200
    replayed = await _login(api, "tara", totp=later)
    assert replayed.status_code == 401 and replayed.json()["detail"] == "invalid one-time code"


async def test_password_change_checks_policy_and_ends_other_logins(api: Api) -> None:
    await api.token_for("viewer", "pat")
    tokens = (await _login(api, "pat")).json()
    me = _bearer(tokens["access_token"])
    weak = {"current_password": ADMIN_PASSWORD, "new_password": "short"}
    assert (
        await api.client.post("/api/v1/auth/password", json=weak, headers=me)
    ).status_code == 422
    wrong = {"current_password": "Not-It-At-All-9", "new_password": "A-Much-Better-One-7"}
    assert (
        await api.client.post("/api/v1/auth/password", json=wrong, headers=me)
    ).status_code == 403
    good = {"current_password": ADMIN_PASSWORD, "new_password": "A-Much-Better-One-7"}
    assert (
        await api.client.post("/api/v1/auth/password", json=good, headers=me)
    ).status_code == 204
    assert (await _refresh(api, tokens["refresh_token"])).status_code == 401
    assert (await _login(api, "pat", "A-Much-Better-One-7")).status_code == 200


async def test_a_disabled_user_is_refused_at_once(api: Api) -> None:
    token = await api.token_for("operator", "dan")
    assert (await api.client.get("/api/v1/events", headers=_bearer(token))).status_code == 200
    [dan] = [
        u for u in (await api.client.get("/api/v1/users")).json()["items"] if u["username"] == "dan"
    ]
    await api.client.patch(f"/api/v1/users/{dan['id']}", json={"disabled": True})
    assert (await api.client.get("/api/v1/events", headers=_bearer(token))).status_code == 401
    assert (await _login(api, "dan")).status_code == 401


async def test_the_last_admin_cannot_be_demoted_or_disabled(api: Api) -> None:
    [admin] = (await api.client.get("/api/v1/users")).json()["items"]
    for change in ({"role": "viewer"}, {"disabled": True}):
        refused = await api.client.patch(f"/api/v1/users/{admin['id']}", json=change)
        assert refused.status_code == 409, refused.text


async def test_users_are_validated_and_never_show_secrets(api: Api) -> None:
    bad = [
        {"username": "Bad Name", "password": "A-Good-Password-1", "role": "viewer"},
        {"username": "ok", "password": "short", "role": "viewer"},
        {"username": "ok", "password": "A-Good-Password-1", "role": "root"},
        {"username": "okname", "password": "okname-is-in-it-1", "role": "viewer"},
    ]
    for body in bad:
        response = await api.client.post("/api/v1/users", json=body)
        assert response.status_code in (400, 422), (body, response.text)
    good = {"username": "ok", "password": "A-Good-Password-1", "role": "viewer"}
    assert (await api.client.post("/api/v1/users", json=good)).status_code == 201
    assert (await api.client.post("/api/v1/users", json=good)).status_code == 409
    text = (await api.client.get("/api/v1/users")).text
    assert "argon2" not in text and "password_hash" not in text and "totp_secret" not in text


async def test_login_attempts_are_in_the_audit_log(api: Api) -> None:
    await api.token_for("viewer", "audra")
    await _login(api, "audra", "Wrong-Password-1")
    await _login(api, "audra")
    records = (await api.client.get("/api/v1/audit", params={"actor": "audra"})).json()["items"]
    seen = [(r["action"], r["outcome"], r["detail"].get("outcome")) for r in records]
    assert seen == [
        ("POST /api/v1/auth/login", "200", "ok"),
        ("POST /api/v1/auth/login", "401", "bad_credentials"),
    ]
    assert all(r["source"] for r in records)
    assert "Wrong-Password" not in str(records)


async def test_responses_carry_security_headers_and_big_bodies_are_refused(api: Api) -> None:
    response = await api.client.get("/api/v1/events")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"
    huge = {"name": "x" * 2_000_000, "role": "service"}
    too_big = await api.client.post("/api/v1/keys", json=huge)
    assert too_big.status_code == 413
    assert too_big.json()["error"] == "payload_too_large"


async def test_an_expired_api_key_is_refused(api: Api) -> None:
    body = {"name": "short-lived", "role": "viewer", "expires_in_days": 1 / 86400}
    created = await api.client.post("/api/v1/keys", json=body)
    assert created.status_code == 201, created.text
    key = {"X-API-Key": created.json()["key"]}
    listed = (await api.client.get("/api/v1/keys")).text
    assert created.json()["key"] not in listed and "key_hash" not in listed
    await asyncio.sleep(1.1)
    assert (await api.client.get("/api/v1/events", headers=key)).status_code == 401


async def test_users_and_keys_are_listed_a_page_at_a_time(api: Api) -> None:
    for name in ("k1", "k2", "k3"):
        await api.client.post("/api/v1/keys", json={"name": name})
    for who in ("uma", "ugo"):
        await api.token_for("viewer", who)
    for path, total in (("/api/v1/keys", 3), ("/api/v1/users", 3)):
        first = (await api.client.get(path, params={"limit": 2})).json()
        assert len(first["items"]) == 2 and first["next_cursor"]
        rest = await api.client.get(path, params={"limit": 2, "cursor": first["next_cursor"]})
        assert len(rest.json()["items"]) == total - 2 and rest.json()["next_cursor"] is None
    keys_cursor = (await api.client.get("/api/v1/keys", params={"limit": 1})).json()["next_cursor"]
    other = await api.client.get("/api/v1/users", params={"cursor": keys_cursor})
    assert other.status_code == 400  # a keys cursor is not a users cursor


async def test_two_refreshes_of_one_token_at_once_leave_one_winner(api: Api) -> None:
    """The second of two concurrent refreshes finds the token spent: reuse, family revoked."""
    await api.token_for("viewer", "rhea")
    token = (await _login(api, "rhea")).json()["refresh_token"]
    answers = await asyncio.gather(*(_refresh(api, token) for _ in range(4)))
    winners = [a.json()["refresh_token"] for a in answers if a.status_code == 200]
    assert len(winners) <= 1
    for successor in winners:
        assert (await _refresh(api, successor)).status_code == 401  # the family is revoked


async def test_an_api_key_cannot_mint_keys_or_users(api: Api) -> None:
    created = await api.client.post("/api/v1/keys", json={"name": "ci", "role": "admin"})
    key = {"X-API-Key": created.json()["key"]}
    attempts = [
        ("POST", "/api/v1/keys", {"name": "longer-lived", "role": "admin"}),
        ("POST", "/api/v1/users", {"username": "sneaky", "password": "A-Good-Password-1",
                                   "role": "admin"}),
        ("DELETE", f"/api/v1/keys/{created.json()['id']}", None),
    ]  # fmt: skip
    for method, path, body in attempts:
        response = await api.client.request(method, path, json=body, headers=key)
        assert response.status_code == 403, (path, response.text)
    assert (await api.client.get("/api/v1/keys", headers=key)).status_code == 200
    nan = await api.client.post(
        "/api/v1/keys", content=b'{"name": "x", "expires_at": NaN}',
        headers={"content-type": "application/json"},
    )  # fmt: skip
    assert nan.status_code == 422


async def test_two_admins_removed_at_once_leave_one(api: Api) -> None:
    await api.token_for("admin", "ada")
    users = (await api.client.get("/api/v1/users")).json()["items"]
    ids = [u["id"] for u in users if u["role"] == "admin"]
    assert len(ids) == 2
    answers = await asyncio.gather(
        api.client.patch(f"/api/v1/users/{ids[0]}", json={"role": "viewer"}),
        api.client.patch(f"/api/v1/users/{ids[1]}", json={"disabled": True}),
    )
    assert sorted(a.status_code for a in answers) == [200, 409]


async def test_concurrent_failures_all_count(api: Api) -> None:
    await api.token_for("viewer", "cora")
    await asyncio.gather(*(_login(api, "cora", f"Wrong-Password-{i}") for i in range(5)))
    assert (await _login(api, "cora")).status_code == 423


async def test_a_burst_from_one_address_cannot_pass_the_limit(api: Api) -> None:
    answers = await asyncio.gather(*(_login(api, "nobody", "Wrong-Password-1") for _ in range(30)))
    statuses = [a.status_code for a in answers]
    assert statuses.count(401) <= 20 and statuses.count(429) >= 10


async def test_an_allowlisted_role_cannot_log_in_from_elsewhere(api: Api) -> None:
    await api.token_for("operator", "otto")
    api.context.settings = api.context.settings.model_copy(
        update={"ip_allowlist": {"operator": ["10.0.0.0/8"]}}
    )
    api.context.gate = None
    refused = await _login(api, "otto")
    assert refused.status_code == 403
