"""Every change through the API is in the audit log, and the log's chain can be checked."""

from __future__ import annotations

from tests.api.conftest import Api

from opsconductor.api.audit import ANONYMOUS_PER_MINUTE

RULE = {
    "id": "test.audited", "agent": "system", "title": "t", "severity": "info",
    "kind": "match", "match": {"message": "audited"},
}  # fmt: skip


async def test_changes_are_recorded_with_who_what_and_outcome(api: Api) -> None:
    assert (await api.client.post("/api/v1/rules", json=RULE)).status_code == 201
    assert (await api.client.post("/api/v1/rules", json=RULE)).status_code == 409
    assert (await api.client.delete("/api/v1/rules/test.audited")).status_code == 204
    await api.client.get("/api/v1/rules")  # reads are not recorded
    page = (await api.client.get("/api/v1/audit")).json()
    seen = [(r["actor"], r["action"], r["target"], r["outcome"]) for r in page["items"]]
    assert seen == [
        ("admin", "DELETE /api/v1/rules/{rule_id}", "/api/v1/rules/test.audited", "204"),
        ("admin", "POST /api/v1/rules", "/api/v1/rules", "409"),
        ("admin", "POST /api/v1/rules", "/api/v1/rules", "201"),
    ]
    verdict = (await api.client.get("/api/v1/audit/verify")).json()
    assert verdict == {"intact": True, "records": 3, "fault": None}


async def test_log_intake_is_not_audited(api: Api) -> None:
    await api.client.post("/api/v1/logs", content=b"hello\n")
    assert (await api.client.get("/api/v1/audit")).json()["items"] == []


async def test_the_log_pages_newest_first(api: Api) -> None:
    for n in range(5):
        await api.client.post("/api/v1/rules", json={**RULE, "id": f"test.a{n}"})
    first = (await api.client.get("/api/v1/audit", params={"limit": 3})).json()
    rest = (
        await api.client.get("/api/v1/audit", params={"limit": 3, "cursor": first["next_cursor"]})
    ).json()
    seqs = [r["seq"] for r in first["items"] + rest["items"]]
    assert seqs == [5, 4, 3, 2, 1] and rest["next_cursor"] is None
    bad = await api.client.get("/api/v1/audit", params={"cursor": "nonsense"})
    assert bad.status_code == 400


async def test_a_flood_without_credentials_is_counted_not_written(api: Api) -> None:
    anonymous = {"Authorization": ""}
    for _ in range(ANONYMOUS_PER_MINUTE + 10):
        await api.client.post("/api/v1/rules", json={}, headers=anonymous)
    refused = await api.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": "ocr_forged"}, headers=anonymous
    )
    assert refused.status_code == 401
    anonymous_records = 0
    cursor = None
    while True:
        params = {"actor": "anonymous", "limit": 1000, **({"cursor": cursor} if cursor else {})}
        page = (await api.client.get("/api/v1/audit", params=params)).json()
        anonymous_records += len(page["items"])
        if not (cursor := page["next_cursor"]):
            break
    assert anonymous_records == ANONYMOUS_PER_MINUTE + 1  # the refresh attempt is kept
    metrics = (await api.client.get("/metrics")).text
    assert "opsc_audit_anonymous_skipped_total 10.0" in metrics
