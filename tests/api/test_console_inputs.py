"""The console's pages called in process on SQLite and PostgreSQL: hostile query strings
(crafted cursors, numbers too large for the database, unknown names, NUL characters) answered
4xx — the error page — never 5xx; the live tail's catching up; what a role's page shows."""

from __future__ import annotations

import re
import time

import pytest
from tests.api.conftest import Api
from tests.api.test_alerts_api import alert_row, event, finding_row, insert

from opsconductor.auth import roles
from opsconductor.ids import new_ulid, ulid_block, ulid_floor
from opsconductor.store import add_events
from opsconductor.store.pagination import encode_cursor
from opsconductor.store.tables import alerts, findings
from opsconductor.web.pages import events as events_page

PAGE = {"Accept": "text/html"}
NUL = "a\x00b"
LATE = "7" + "Z" * 25
"""The largest ULID: its time (year 10889) is past what a date can hold."""
BEYOND = "Z" * 26
"""Not a ULID (more than 128 bits) though written in its alphabet."""

HOSTILE: dict[str, list[dict[str, str]]] = {
    "/events": [
        {"cursor": encode_cursor(("", LATE))},
        {"cursor": encode_cursor(("", BEYOND))},
        {"cursor": encode_cursor((LATE, LATE))},
        {"cursor": encode_cursor(("", "not-an-id"))},
        {"cursor": encode_cursor((12.5, "x"))},
        {"cursor": "!!!not base64!!!"},
        {"cursor": "x" * 500},
        {"severity": "loud"},
        {"severity": NUL},
        {"window": "forever"},
        {"window": NUL},
        {"q": NUL},
        {"q": "x" * 201},
        {"device": NUL},
        {"program": NUL},
        {"domain": NUL},
        {"source": NUL},
    ],
    "/events/tail": [
        {},
        {"after": LATE},
        {"after": BEYOND},
        {"after": "0" * 25},
        {"after": "a" * 25 + "\x00"},
        {"after": "U" * 26},
        {"after": "0" * 26, "severity": "loud"},
        {"after": "0" * 26, "window": "forever"},
        {"after": "0" * 26, "q": NUL},
        {"after": "0" * 26, "device": NUL},
    ],
    "/findings": [
        {"cursor": encode_cursor(("id", BEYOND))},
        {"cursor": encode_cursor((1e308, "x"))},
        {"cursor": "!!!"},
        {"severity": "loud"},
        {"severity": NUL},
        {"device": NUL},
        {"domain": NUL},
        {"rule": NUL},
        {"agent": NUL},
    ],
    "/devices": [
        {"cursor": encode_cursor(("id", BEYOND))},
        {"cursor": encode_cursor((NUL, NUL))},
        {"cursor": "!!!"},
        {"q": NUL},
        {"group": NUL},
        {"site": NUL},
        {"tag": NUL},
        {"q": "x" * 201},
    ],
    "/alerts": [
        {"cursor": encode_cursor(("id", BEYOND))},
        {"cursor": encode_cursor(("id", NUL))},
        {"cursor": "!!!"},
        {"sort": "occurrences", "cursor": encode_cursor((1e308, "x"))},
        {"sort": "occurrences", "cursor": encode_cursor((1e300, NUL))},
        {"sort": "occurrences", "cursor": encode_cursor((0.5, new_ulid()))},
        {"sort": "severity", "cursor": encode_cursor((-1e308, "x"))},
        {"sort": "last_seen", "cursor": encode_cursor((1e308, "x"))},
        {"sort": "last_seen", "cursor": encode_cursor(("text", "x"))},
        {"severity": "loud"},
        {"status": NUL},
        {"q": NUL},
        {"device": NUL},
        {"domain": NUL},
    ],
    "/admin/audit": [
        {"cursor": encode_cursor(("audit", "²"))},
        {"cursor": encode_cursor(("audit", "9" * 30))},
        {"cursor": encode_cursor(("audit", "-1"))},
        {"cursor": encode_cursor(("audit", ""))},
        {"cursor": encode_cursor(("other", "1"))},
        {"cursor": encode_cursor((1.0, "1"))},
        {"cursor": "!!!"},
        {"actor": NUL},
        {"action": NUL},
        {"outcome": NUL},
    ],
}
CASES = [(path, params) for path, many in HOSTILE.items() for params in many]


@pytest.mark.parametrize(("path", "params"), CASES, ids=[f"{p}{q}" for p, q in CASES])
async def test_hostile_query_values_are_refused_not_failed(
    api: Api, path: str, params: dict[str, str]
) -> None:
    answer = await api.client.get(path, params=params, headers=PAGE)
    assert answer.status_code < 500, (answer.status_code, answer.text[-800:])
    if answer.status_code >= 400:
        assert answer.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize(
    ("path", "params", "message"),
    [
        ("/events", {"cursor": encode_cursor(("", LATE))}, "invalid cursor"),
        ("/events", {"cursor": encode_cursor(("", BEYOND))}, "invalid cursor"),
        ("/events/tail", {"after": LATE}, "invalid"),
        ("/events/tail", {"after": BEYOND}, "invalid"),
        ("/admin/audit", {"cursor": encode_cursor(("audit", "²"))}, "invalid cursor"),
        ("/admin/audit", {"cursor": encode_cursor(("audit", "9" * 30))}, "invalid cursor"),
        ("/events", {"severity": "loud"}, "severity"),
        ("/events", {"window": "forever"}, "window"),
    ],
)
async def test_crafted_values_get_a_clear_400(
    api: Api, path: str, params: dict[str, str], message: str
) -> None:
    answer = await api.client.get(path, params=params, headers=PAGE)
    assert answer.status_code == 400, (answer.status_code, answer.text[-800:])
    assert message.lower() in answer.text.lower()


async def _store_lines(api: Api, messages: list[str]) -> list[str]:
    """Store one event per message, ids minted now and ascending; their ids."""
    ids = ulid_block(len(messages), time.time())
    async with api.sessions() as session, session.begin():
        await add_events(session, [event(i, m) for i, m in zip(ids, messages, strict=True)])
    return ids


async def _follow(api: Api, after: str, **params: str) -> tuple[list[str], list[dict[str, object]]]:
    """Ask the tail after ``after`` again while it says ``more``: every id sent, each answer."""
    sent: list[str] = []
    answers: list[dict[str, object]] = []
    for _ in range(50):
        body = (await api.client.get("/events/tail", params={"after": after, **params})).json()
        answers.append(body)
        shown = re.findall(r'data-id="([0-9A-Z]{26})"', str(body["html"]))
        assert shown == sorted(shown, reverse=True), "rows newest first"
        assert body["count"] == len(shown)
        sent.extend(shown)
        after = str(body["newest"])
        if not body["more"]:
            return sent, answers
    raise AssertionError("the tail never caught up")


async def test_the_tail_sends_every_row_of_a_burst_oldest_first(api: Api) -> None:
    after = ulid_floor(time.time() - 60)
    ids = await _store_lines(api, [f"m{n}" for n in range(300)])
    sent, answers = await _follow(api, after)
    assert answers[0]["more"] is True and answers[0]["count"] == events_page.TAIL_LIMIT
    first = re.findall(r'data-id="([0-9A-Z]{26})"', str(answers[0]["html"]))
    assert set(first) == set(ids[:200]), "the oldest 200 first"
    assert set(sent) == set(ids)
    again, _ = await _follow(api, str(answers[-1]["newest"]))
    assert set(again) <= set(ids), "only the look-back of rows shown already"


async def test_a_filtered_tail_goes_on_where_its_row_budget_ran_out(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(events_page, "SCAN_BUDGET", 50)
    after = ulid_floor(time.time() - 60)
    ids = await _store_lines(
        api, [("keep" if n % 10 == 0 else "skip") + str(n) for n in range(300)]
    )
    sent, answers = await _follow(api, after, q="keep")
    assert len(answers) > 1 and answers[0]["more"] is True
    assert set(sent) == set(ids[::10])


async def test_a_service_user_shows_its_own_role(api: Api) -> None:
    await api.token_for("service", "feeder")
    answer = await api.client.get("/admin/users", headers=PAGE)
    assert answer.status_code == 200
    row = answer.text.split('data-user="feeder"', 1)[1].split("</tr>", 1)[0]
    options = dict(re.findall(r'<option value="(\w+)"( selected)?', row))
    assert set(options) == {role.value for role in roles.Role}
    assert [name for name, chosen in options.items() if chosen] == ["service"]
    form = answer.text.split('id="new-user"', 1)[1].split("</form>", 1)[0]
    assert 'value="viewer" selected' in form


async def test_the_alert_page_shows_finding_and_evidence_only_to_roles_that_read_them(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    line_id, finding_id, alert_id = ulid_block(3, time.time())
    async with api.sessions() as session, session.begin():
        await add_events(session, [event(line_id, "evidence-line-77")])
    await insert(api, findings, [finding_row(finding_id, evidence=[line_id], alert_id=alert_id)])
    await insert(api, alerts, [alert_row(alert_id, last_finding_id=finding_id)])
    shown = await api.client.get(f"/alerts/{alert_id}", headers=PAGE)
    assert "Latest finding" in shown.text and "evidence-line-77" in shown.text

    viewer = {**PAGE, "Authorization": f"Bearer {await api.token_for('viewer')}"}
    grants = dict(roles.GRANTS)
    monkeypatch.setattr(
        roles, "GRANTS", {**grants, roles.Role.VIEWER: grants[roles.Role.VIEWER] - {"events:read"}}
    )
    no_events = await api.client.get(f"/alerts/{alert_id}", headers=viewer)
    assert no_events.status_code == 200
    assert "Latest finding" in no_events.text and f"/findings/{finding_id}" in no_events.text
    assert "evidence-line-77" not in no_events.text and "Evidence" not in no_events.text
    monkeypatch.setattr(roles, "GRANTS", {**grants, roles.Role.VIEWER: frozenset({"alerts:read"})})
    bare = await api.client.get(f"/alerts/{alert_id}", headers=viewer)
    assert bare.status_code == 200
    assert "SSH brute force" in bare.text
    assert "Latest finding" not in bare.text and finding_id not in bare.text
    assert "evidence-line-77" not in bare.text
