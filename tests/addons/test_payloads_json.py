"""The generic JSON webhook mapping: paths, fingerprints, errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.addons.test_payloads import load

from opsconductor.addons.payloads import PayloadError, label_fingerprint
from opsconductor.addons.payloads_grafana import parse_grafana
from opsconductor.addons.payloads_json import MappingError, parse_json

# --- generic JSON ---------------------------------------------------------------------------

ITEMS = {
    "source": "uptime",
    "data": {
        "items": [
            {"id": "c1", "state": "DOWN", "prio": "P1", "host": "sw1:22", "at": 1700000000000,
             "tags": {"site": "lab", "port": 22}, "text": "sw1 is down"},
            {"id": "c2", "state": "Resolved", "prio": "meh", "host": "sw2", "at": 1700000000,
             "tags": {"site": "lab"}},
        ]
    },
}  # fmt: skip
PATHS = {
    "records": "$.data.items[*]",
    "status": "state",
    "fingerprint": "id",
    "title": "text",
    "severity": "prio",
    "labels": "tags",
    "label.instance": "host",
    "annotation.origin": "$.source",
    "starts_at": "at",
}


def test_json_mapping() -> None:
    first, second = parse_json(json.dumps(ITEMS).encode(), PATHS, severities={"meh": "minor"})
    assert (first.status, first.fingerprint, first.title) == ("firing", "c1", "sw1 is down")
    assert (second.status, second.fingerprint, second.title) == ("resolved", "c2", "JSON alert")
    assert (first.severity, second.severity) == ("critical", "minor")
    assert first.labels == {"site": "lab", "port": "22", "instance": "sw1:22"}
    assert (first.device, second.device) == ("sw1", "sw2")
    assert first.annotations == {"origin": "uptime"}
    assert (first.starts_at, second.starts_at) == (1_700_000_000.0, 1_700_000_000.0)
    assert first.source == "json"
    assert first.raw == ITEMS["data"]["items"][0]


def test_json_fingerprint_from_labels_is_stable_across_status() -> None:
    paths = {k: v for k, v in PATHS.items() if k != "fingerprint"}
    down, up = parse_json(ITEMS, paths, fingerprint_labels=["instance"])
    items = json.loads(json.dumps(ITEMS))
    items["data"]["items"][0]["state"] = "ok"
    again = parse_json(items, paths, fingerprint_labels=["instance"])
    assert again[0].status == "resolved"
    assert again[0].fingerprint == down.fingerprint != up.fingerprint
    assert down.fingerprint == label_fingerprint("json", {"instance": "sw1:22"})


def test_json_whole_body_and_top_level_array() -> None:
    [one] = parse_json(
        {"msg": "disk full", "level": "error"}, {"title": "msg", "severity": "level"}
    )
    assert (one.title, one.severity, one.status) == ("disk full", "major", "firing")
    two = parse_json(b'[{"msg": "a"}, {"msg": "b"}]', {"title": "msg"})
    assert [r.title for r in two] == ["a", "b"]
    listed = parse_json({"list": [{"msg": "c"}]}, {"records": "list", "title": "msg"})
    assert [r.title for r in listed] == ["c"]


def test_json_reproduces_alertmanager(shared_data: Path) -> None:
    body = load(shared_data, "grafana/zulip_grafana_v9_mixed_firing_resolved.json")
    paths = {
        "records": "alerts[*]",
        "status": "status",
        "fingerprint": "fingerprint",
        "labels": "labels",
        "annotations": "annotations",
        "title": "labels.alertname",
        "starts_at": "startsAt",
        "ends_at": "endsAt",
        "generator_url": "generatorURL",
        "group_key": "$.groupKey",
    }
    generic = parse_json(body, paths, resolved_values=["resolved"])
    grafana = parse_grafana(body)
    for field in ("status", "fingerprint", "title", "severity", "device", "labels", "starts_at",
                  "ends_at", "generator_url", "group_key", "summary"):  # fmt: skip
        assert [getattr(r, field) for r in generic] == [getattr(r, field) for r in grafana]


@pytest.mark.parametrize(
    ("paths", "message"),
    [
        ({"title": "a..b"}, "paths.title: bad path"),
        ({"title": "items[*].x"}, r"paths.title: 'items\[\*\]\.x' names many values"),
        ({"colour": "x"}, "paths.colour: not a field"),
    ],
)
def test_json_bad_mapping(paths: dict[str, str], message: str) -> None:
    with pytest.raises(MappingError, match=f"^{message}"):
        parse_json({}, paths)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"x": 1}, "records: 'data.items' reaches nothing"),
        ({"data": {"items": [{}, 3]}}, r"records\[1\]: expected an object, got a number"),
        ({"data": {"items": [{"t": {"a": 1}}]}}, r"records\[0\]\.title: expected a string or"),
        ({"data": {"items": [{"l": []}]}}, r"records\[0\]\.labels: expected an object"),
        ({"data": {"items": [{"s": True}]}}, r"records\[0\]\.starts_at: expected a time"),
        ({"data": {"items": [{"s": 1e300}]}}, r"records\[0\]\.starts_at: 1e\+300 is out of"),
        ({"data": {"items": [{"s": "later"}]}}, r"records\[0\]\.starts_at: 'later' is not"),
        ({"data": {"items": [{"l": {"v": "x" * 4097}}]}}, r"records\[0\]\.labels\.v: label"),
        ({"data": {"items": [{}] * 1001}}, "records: 1001 items, more than the 1000"),
    ],
)
def test_json_errors_say_what_and_where(body: dict[str, Any], message: str) -> None:
    paths = {"records": "data.items", "title": "t", "labels": "l", "starts_at": "s"}
    with pytest.raises(PayloadError, match=f"^{message}"):
        parse_json(body, paths)
