"""Trying a rule before saving it (``POST /api/v1/rules/test``) — on both databases.

A trial parses pasted lines as the pipeline does, runs the rule alone and answers per line and
per finding; it stores and publishes nothing, and refuses an invalid rule as validation does.
"""

from __future__ import annotations

import json
import time
from typing import Any

from tests.api.conftest import Api
from tests.api.test_rules_api import rule_doc

from opsconductor.agents.trial import MAX_LINES
from opsconductor.ids import ulid_block
from opsconductor.messages import Event
from opsconductor.store.events import EventFilter, add_events, list_events

BAD = (
    "<86>Jan 10 10:00:{:02d} gw dropbear[77]: Login attempt: "
    "bad password attempt for 'root' from 10.0.0.{}:2222"
)
OTHER = "<86>Jan 10 10:00:30 gw dropbear[77]: Child connection from 10.0.0.9:40000"
UNPARSEABLE = "<34>1 not-a-time host app - - - hello"


def threshold(count: int = 3, window: str = "2m") -> dict[str, Any]:
    """A threshold rule: ``count`` failed SSH passwords from one address within ``window``."""
    return rule_doc(
        "security.ssh_trial", kind="threshold", threshold={"count": count, "window": window}
    )


async def trial(api: Api, body: dict[str, Any], status: int = 200) -> dict[str, Any]:
    response = await api.client.post("/api/v1/rules/test", json=body)
    assert response.status_code == status, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def test_a_threshold_rule_needs_its_count_of_lines(api: Api) -> None:
    lines = [BAD.format(1, 5), BAD.format(2, 5), OTHER, UNPARSEABLE, BAD.format(40, 5)]
    answer = await trial(api, {"rule": threshold(), "lines": lines})
    assert answer["rule"]["id"] == "security.ssh_trial"
    assert [line["matched"] for line in answer["lines"]] == [True, True, False, False, True]
    assert [line["parsed"] for line in answer["lines"]] == [True, True, True, False, True]
    unparsed = answer["lines"][3]
    assert unparsed["event"] is None and unparsed["text"] == UNPARSEABLE
    assert "timestamp" in unparsed["error"]
    first = answer["lines"][0]
    assert first["roles"] == ["match"]
    event = first["event"]
    assert (event["host"], event["program"], event["domain"]) == ("gw", "dropbear", "security")
    assert answer["totals"] == {
        "lines": 5, "parsed": 4, "unparsed": 1, "matched": 3,
        "findings": 1, "problems": 1, "clears": 0,
    }  # fmt: skip
    (finding,) = answer["findings"]
    assert finding["kind"] == "problem"
    assert finding["title"] == "Failed SSH login from 10.0.0.5:2222"
    assert finding["severity"] == "warning"
    assert finding["labels"]["src"] == "10.0.0.5:2222"
    assert finding["count"] == 3 and finding["window_seconds"] == 120.0
    assert finding["evidence"] == [0, 1, 4]
    assert len(finding["fingerprint"]) == 32
    assert "threshold 3" in finding["reason"]
    assert answer["truncated"] is False


async def test_too_few_lines_or_too_far_apart_raise_nothing(api: Api) -> None:
    two = await trial(api, {"rule": threshold(), "lines": [BAD.format(1, 5), BAD.format(2, 5)]})
    assert two["findings"] == [] and two["totals"]["matched"] == 2
    apart = [BAD.format(1, 5), BAD.format(2, 5), BAD.format(3, 6)]  # another address
    assert (await trial(api, {"rule": threshold(), "lines": apart}))["findings"] == []
    window = await trial(api, {"rule": threshold(window="1s"), "lines": [BAD.format(1, 5)] * 3})
    assert len(window["findings"]) == 1  # the same second: within one second
    spread = [BAD.format(1, 5), BAD.format(20, 5), BAD.format(40, 5)]
    assert (await trial(api, {"rule": threshold(window="5s"), "lines": spread}))["findings"] == []


async def test_a_match_rule_and_a_disabled_rule_are_tried_alike(api: Api) -> None:
    body = {"rule": rule_doc(enabled=False), "lines": [BAD.format(1, 7), OTHER]}
    answer = await trial(api, body)
    assert [f["title"] for f in answer["findings"]] == ["Failed SSH login from 10.0.0.7:2222"]
    assert answer["findings"][0]["evidence"] == [0]


async def test_a_trial_stores_and_publishes_nothing(api: Api) -> None:
    lines = [BAD.format(i, 5) for i in range(6)]
    answer = await trial(api, {"rule": threshold(), "lines": lines})
    assert answer["totals"]["findings"] == 2
    async with api.sessions() as session:
        page = await list_events(session, EventFilter(), cursor=None, limit=10)
        assert page.items == []
    assert (await api.client.get("/api/v1/rules/security.ssh_trial")).status_code == 404
    assert api.control.deliveries == [] and api.alerts.deliveries == []


async def test_a_bad_rule_is_refused_as_validation_refuses_it(api: Api) -> None:
    bad = rule_doc(kind="threshold")  # no threshold section
    validated = await api.client.post("/api/v1/rules/validate", json=bad)
    assert validated.status_code == 422
    answer = await trial(api, {"rule": bad, "lines": [BAD.format(1, 5)]}, 422)
    assert answer["detail"] == validated.json()["detail"]
    assert "threshold" in answer["detail"]


async def test_the_request_must_name_lines_or_a_range(api: Api) -> None:
    await trial(api, {"rule": threshold()}, 422)
    await trial(api, {"rule": threshold(), "lines": ["x"], "since": 1.0}, 422)
    await trial(api, {"rule": threshold(), "since": 10.0, "until": 5.0}, 422)
    await trial(api, {"rule": threshold(), "lines": ["x"] * (MAX_LINES + 1)}, 422)
    ok = await trial(api, {"rule": threshold(), "lines": ["x"] * MAX_LINES})
    assert ok["totals"]["lines"] == MAX_LINES


def stored(message: str, received: float, event_id: str, device: str = "dev-1") -> Event:
    return Event(
        event_id, received, received, "udp", "10.0.0.1:514", device, "gw", 4, 5, "dropbear",
        "77", "", message, {}, {}, "rfc3164", "ok", "security",
    )  # fmt: skip


async def test_a_time_range_of_stored_events(api: Api) -> None:
    now = time.time()
    text = "Login attempt: bad password attempt for 'root' from 10.0.0.{}:2222"
    moments = [now - 3600, now - 50, now - 40, now - 30, now - 20]
    ids = [ulid_block(1, moment)[0] for moment in moments]
    events = [stored(text.format(5), m, i) for m, i in zip(moments, ids, strict=True)]
    events.append(stored(text.format(5), now - 10, ulid_block(1, now - 10)[0], device="dev-2"))
    async with api.sessions() as session:
        await add_events(session, events)
        await session.commit()

    answer = await trial(api, {"rule": threshold(), "since": now - 900})
    assert answer["totals"]["lines"] == 5  # the hour-old event is outside the range
    assert [line["event"]["id"] for line in answer["lines"]] == [*ids[1:], events[-1].id]
    assert all(line["matched"] for line in answer["lines"])
    (finding,) = answer["findings"]  # dev-1 has 4 within the window, dev-2 only one
    assert finding["evidence"] == [0, 1, 2] and finding["device_id"] == "dev-1"

    one = await trial(api, {"rule": threshold(), "since": now - 900, "device_id": "dev-2"})
    assert one["totals"]["lines"] == 1 and one["findings"] == []
    before = await trial(api, {"rule": threshold(), "since": now - 7200, "until": now - 60})
    assert before["totals"]["lines"] == 1


async def test_only_rule_writers_may_try_rules(api: Api) -> None:
    """A trial runs the caller's regular expressions in the API: rules:write, not rules:read."""
    body = {"rule": rule_doc(), "lines": [BAD.format(1, 5)]}
    roles = ("admin", "operator", "viewer", "service")
    headers = {role: {"Authorization": f"Bearer {await api.token_for(role)}"} for role in roles}
    for role in ("admin", "operator"):
        response = await api.client.post("/api/v1/rules/test", json=body, headers=headers[role])
        assert response.status_code == 200, role
        assert response.json()["totals"]["findings"] == 1
    for role in ("viewer", "service"):
        response = await api.client.post("/api/v1/rules/test", json=body, headers=headers[role])
        assert response.status_code == 403, role
    # a viewer may still read and validate rules
    response = await api.client.post(
        "/api/v1/rules/validate", json=body["rule"], headers=headers["viewer"]
    )
    assert response.status_code == 200


async def test_the_route_says_it_needs_rules_write(api: Api) -> None:
    schema = (await api.client.get("/api/openapi.json")).json()
    route = schema["paths"]["/api/v1/rules/test"]["post"]
    assert "rules:write" in route["summary"] and "rules:write" in route["description"]


async def test_an_infinite_or_absurd_range_is_refused(api: Api) -> None:
    rule = json.dumps(threshold())
    for since, until in [
        ("Infinity", None), ("-Infinity", None), ("NaN", None), ("1e300", None),
        ("-1", None), ("253402300800", None), ("0", "Infinity"), ("0", "NaN"),
        ("0", "1e300"), ("0", "253402300800"),
    ]:  # fmt: skip
        text = f'{{"rule": {rule}, "since": {since}' + (
            "}" if until is None else f', "until": {until}}}'
        )
        response = await api.client.post(
            "/api/v1/rules/test", content=text, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 422, (since, until, response.text)
        fields = {tuple(error["loc"])[-1] for error in response.json()["detail"]}
        assert fields == {"since" if until is None else "until"}, (since, until)
    edges = await trial(api, {"rule": threshold(), "since": 0, "until": 253402300799})
    assert edges["totals"]["lines"] == 0 and edges["truncated"] is False


async def test_validate_with_verdict_lists_the_problems_by_field(api: Api) -> None:
    bad = rule_doc(severity="loud", match={"message": "(?P<src>"})
    response = await api.client.post("/api/v1/rules/validate?verdict=true", json=bad)
    assert response.status_code == 200
    answer = response.json()
    assert answer["valid"] is False and answer["rule"] is None
    assert [p["field"] for p in answer["problems"]] == ["severity", "match.message"]
    assert "bad regular expression" in answer["problems"][1]["message"]
    plain = await api.client.post("/api/v1/rules/validate", json=bad)
    assert plain.status_code == 422 and plain.json()["detail"] == answer["detail"]
    good = await api.client.post("/api/v1/rules/validate?verdict=true", json=rule_doc())
    assert good.json()["valid"] is True and good.json()["problems"] == []
