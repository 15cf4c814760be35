"""System settings API: the registry's keys with defaults, changes checked and announced."""

from __future__ import annotations

from tests.api.conftest import Api


async def test_settings_list_their_defaults(api: Api) -> None:
    response = await api.client.get("/api/v1/settings")
    assert response.status_code == 200
    items = {item["key"]: item for item in response.json()["items"]}
    assert "alert_cooldown_seconds" in items
    cooldown = items["alert_cooldown_seconds"]
    assert cooldown["value"] == cooldown["default"] == 900.0
    assert cooldown["overridden"] is False
    assert cooldown["type"] == "float"
    assert not any("secret" in key or "password" in key for key in items)


async def test_a_setting_is_changed_and_reset(api: Api) -> None:
    path = "/api/v1/settings/event_retention_days"
    changed = await api.client.put(path, json={"value": 3})
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["value"] == 3.0
    assert body["overridden"] is True
    assert body["updated_by"] == "admin"
    assert (await api.client.get(path)).json()["value"] == 3.0
    (reload,) = await api.control.wait_for(1)
    assert reload.subject == "control.reload.settings"
    again = await api.client.put(path, json={"value": 5})
    assert again.json()["value"] == 5.0
    reset = await api.client.delete(path)
    assert reset.status_code == 200
    assert reset.json()["overridden"] is False
    assert reset.json()["value"] == 7.0


async def test_bad_settings_are_refused(api: Api) -> None:
    unknown = await api.client.put("/api/v1/settings/nope", json={"value": 1})
    assert unknown.status_code == 404
    assert unknown.json()["error"] == "not_found"
    assert (await api.client.get("/api/v1/settings/nope")).status_code == 404
    assert (await api.client.delete("/api/v1/settings/nope")).status_code == 404
    for value in (-1, "ten", True, None, 1e9, [1]):
        response = await api.client.put(
            "/api/v1/settings/alert_cooldown_seconds", json={"value": value}
        )
        assert response.status_code == 422, value
        assert response.json()["error"] == "validation_failed"
        assert "alert_cooldown_seconds" in response.json()["detail"]
    whole = await api.client.put("/api/v1/settings/ui_refresh_seconds", json={"value": 2.5})
    assert whole.status_code == 422
    missing = await api.client.put("/api/v1/settings/ui_refresh_seconds", json={})
    assert missing.status_code == 422
