"""``POST /api/v1/alerts/bulk``: one action on many alerts, answered id by id, published
grouped by kind after the commit."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.api.conftest import Api
from tests.api.test_alerts_api import T0, alert_row, insert

from opsconductor.ids import new_ulid, ulid_block
from opsconductor.messages import AlertChangeBatch
from opsconductor.store.tables import alerts

PATH = "/api/v1/alerts/bulk"


@pytest.fixture
def ids() -> Iterator[str]:
    """Ascending ULIDs."""
    return iter(ulid_block(1000, T0))


async def changes_on_bus(api: Api, count: int) -> list[tuple[str, str, str]]:
    """``(subject, change, alert_id)`` of every change in the first ``count`` batches."""
    found = []
    for delivery in await api.alerts.wait_for(count):
        assert isinstance(delivery.message, AlertChangeBatch)
        found += [(delivery.subject, c.change, c.alert_id) for c in delivery.message.changes]
    return found


async def test_bulk_acknowledge_answers_each_id(api: Api, ids: Iterator[str]) -> None:
    a1, a2, a3 = next(ids), next(ids), next(ids)
    await insert(api, alerts, [alert_row(a1), alert_row(a2), alert_row(a3)])
    unknown = new_ulid()
    body = {"ids": [a1, unknown, a2, a1], "action": "acknowledge"}
    response = await api.client.post(PATH, json=body)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert (answer["done"], answer["failed"]) == (2, 1)
    results = answer["results"]
    assert [r["id"] for r in results] == [a1, unknown, a2]
    assert [r["ok"] for r in results] == [True, False, True]
    assert results[1]["error"] == "not_found"
    assert results[0]["acknowledged_by"] == "admin"
    assert results[0]["status"] == "firing"

    for alert_id, acked in ((a1, "admin"), (a2, "admin"), (a3, None)):
        stored = (await api.client.get(f"/api/v1/alerts/{alert_id}")).json()
        assert stored["acknowledged_by"] == acked
    detail = (await api.client.get(f"/api/v1/alerts/{a1}")).json()
    assert [h["change"] for h in detail["history"]] == ["acknowledged"]

    published = await changes_on_bus(api, 1)
    assert sorted(published) == sorted(
        [("alerts.acknowledged", "acknowledged", a1), ("alerts.acknowledged", "acknowledged", a2)]
    )


async def test_bulk_resolve_with_comment_and_unacknowledge(api: Api, ids: Iterator[str]) -> None:
    a1, a2 = next(ids), next(ids)
    await insert(
        api,
        alerts,
        [alert_row(a1, acknowledged_by="kim", acknowledged_at=T0), alert_row(a2)],
    )
    resolved = await api.client.post(
        PATH, json={"ids": [a1, a2], "action": "resolve", "comment": "maintenance done"}
    )
    assert resolved.status_code == 200, resolved.text
    assert [r["status"] for r in resolved.json()["results"]] == ["resolved", "resolved"]
    detail = (await api.client.get(f"/api/v1/alerts/{a2}")).json()
    assert detail["status"] == "resolved"
    assert detail["history"][-1]["detail"] == "maintenance done"

    unacked = await api.client.post(
        PATH, json={"ids": [a1], "action": "unacknowledge", "comment": "not mine"}
    )
    assert unacked.status_code == 200, unacked.text
    assert unacked.json()["results"][0]["acknowledged_by"] is None
    history = (await api.client.get(f"/api/v1/alerts/{a1}")).json()["history"]
    assert [h["change"] for h in history] == ["resolved", "unacknowledged", "commented"]
    assert history[-1]["detail"] == "not mine"

    published = await changes_on_bus(api, 3)
    kinds = sorted(change for _, change, _ in published)
    assert kinds == ["commented", "resolved", "resolved", "unacknowledged"]


async def test_bulk_refuses_bad_bodies(api: Api, ids: Iterator[str]) -> None:
    alert_id = next(ids)
    await insert(api, alerts, [alert_row(alert_id)])
    for body in (
        {"ids": [], "action": "acknowledge"},
        {"ids": [alert_id], "action": "delete"},
        {"ids": [alert_id]},
        {"ids": [new_ulid() for _ in range(501)], "action": "acknowledge"},
        {"ids": [alert_id], "action": "resolve", "comment": "x" * 10_001},
        {"ids": [alert_id], "action": "resolve", "other": 1},
    ):
        response = await api.client.post(PATH, json=body)
        assert response.status_code == 422, body
        assert response.json()["error"] == "validation_failed"
    assert api.alerts.deliveries == []
    stored = (await api.client.get(f"/api/v1/alerts/{alert_id}")).json()
    assert stored["acknowledged_by"] is None


async def test_bulk_takes_500_alerts(api: Api, ids: Iterator[str]) -> None:
    many = [next(ids) for _ in range(500)]
    await insert(api, alerts, [alert_row(alert_id) for alert_id in many])
    response = await api.client.post(PATH, json={"ids": many, "action": "acknowledge"})
    assert response.status_code == 200, response.text
    assert response.json()["done"] == 500
    published = await changes_on_bus(api, 5)
    assert len(published) == 500


async def test_bulk_needs_alerts_write(api: Api, ids: Iterator[str]) -> None:
    alert_id = next(ids)
    await insert(api, alerts, [alert_row(alert_id)])
    body = {"ids": [alert_id], "action": "acknowledge"}
    viewer = {"Authorization": f"Bearer {await api.token_for('viewer')}"}
    assert (await api.client.post(PATH, json=body, headers=viewer)).status_code == 403
    operator = {"Authorization": f"Bearer {await api.token_for('operator')}"}
    answer = await api.client.post(PATH, json=body, headers=operator)
    assert answer.status_code == 200, answer.text
    assert answer.json()["results"][0]["acknowledged_by"] == "operator-user"
