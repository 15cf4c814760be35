"""Silences, maintenance windows and the suppressor: matching, scopes and validation."""

from __future__ import annotations

from typing import Any

import pytest

from opsconductor.alerts.suppression import (
    Matcher,
    Suppressor,
    alert_labels,
    parse_silence,
    parse_window,
)
from opsconductor.errors import InputError
from opsconductor.messages import Finding

T0 = 1_790_000_000.0
LABELS = {"device_id": "dev-1", "host": "ap-1", "rule_id": "wifi.deauth", "src": "10.0.0.7",
          "severity": "major", "iface": ""}  # fmt: skip


@pytest.mark.parametrize(
    ("label", "op", "value", "expected"),
    [
        ("host", "=", "ap-1", True),
        ("host", "=", "ap-2", False),
        ("host", "!=", "ap-2", True),
        ("host", "!=", "ap-1", False),
        ("src", "=~", r"10\.0\.0\.\d+", True),
        ("src", "=~", r"10\.0", False),  # the whole value must match
        ("src", "!~", r"192\..*", True),
        ("src", "!~", r"10\..*", False),
        ("rule_id", "=~", "wifi\\..*|security\\..*", True),
        ("missing", "=", "", True),  # an absent label is ""
        ("missing", "!=", "", False),
        ("iface", "=~", ".*", True),
    ],
)
def test_matcher(label: str, op: str, value: str, expected: bool) -> None:
    assert Matcher(label, op, value).matches(LABELS) is expected


def silence(**overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": "s1", "starts_at": T0, "ends_at": T0 + 3600, "author": "kim", "comment": "",
        "matchers": [{"label": "host", "op": "=", "value": "ap-1"},
                     {"label": "severity", "op": "=~", "value": "major|critical"}],
    }  # fmt: skip
    doc.update(overrides)
    return doc


def test_silence_needs_every_matcher_and_its_time() -> None:
    held = Suppressor([parse_silence(silence())])
    assert held.suppressed_by(LABELS, T0) == "silence:s1"
    assert held.suppressed_by({**LABELS, "severity": "minor"}, T0) == ""
    assert held.suppressed_by(LABELS, T0 - 1) == ""
    assert held.suppressed_by(LABELS, T0 + 3600) == ""  # ends_at is exclusive
    assert held.next_change_after(T0 - 5) == T0
    assert held.next_change_after(T0) == T0 + 3600
    assert held.next_change_after(T0 + 3600) is None


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"matchers": []}, "at least one matcher"),
        ({"matchers": [{"label": "host", "op": "=~", "value": "("}]}, "bad regular expression"),
        ({"matchers": [{"label": "host", "op": "~", "value": "x"}]}, "is not one of"),
        ({"matchers": [{"label": "", "op": "=", "value": "x"}]}, "needs a label"),
        ({"matchers": [{"label": "host", "op": "=~", "value": ".*"}]}, "silence every alert"),
        ({"matchers": "host=ap-1"}, "must be a list"),
        ({"ends_at": T0}, "end after it starts"),
        ({"ends_at": "soon"}, "numeric starts_at and ends_at"),
    ],
)
def test_silence_validation(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_silence(silence(**overrides))


def window(**overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": "w1", "name": "nightly", "enabled": True,
        "scope": {"devices": ["dev-9"], "groups": ["core"], "sites": ["berlin"]},
        "schedule": {"kind": "weekly", "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                     "start": "00:00", "duration": 86400, "timezone": "UTC"},
    }  # fmt: skip
    doc.update(overrides)
    return doc


def test_window_scope_by_device_site_or_group() -> None:
    places = {"dev-1": ("berlin", ()), "dev-2": ("paris", ("core", "edge")), "dev-3": ("rome", ())}
    held = Suppressor(windows=[parse_window(window())], devices=places.get)
    verdicts = {d: held.suppressed_by({"device_id": d}, T0) for d in ("dev-1", "dev-2", "dev-3")}
    assert verdicts == {"dev-1": "maintenance:w1", "dev-2": "maintenance:w1", "dev-3": ""}
    assert held.suppressed_by({"device_id": "dev-9"}, T0) == "maintenance:w1"  # by id
    assert held.suppressed_by({"device_id": "unknown"}, T0) == ""
    assert not Suppressor(windows=[parse_window(window(enabled=False))])


def test_silences_come_before_windows() -> None:
    held = Suppressor(
        [parse_silence(silence())], [parse_window(window(scope={"devices": ["dev-1"]}))]
    )
    assert held.suppressed_by(LABELS, T0) == "silence:s1"
    assert held.suppressed_by({**LABELS, "host": "ap-2"}, T0) == "maintenance:w1"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"scope": {}}, "at least one device, group or site"),
        ({"scope": {"racks": ["r1"]}}, "unknown scope key"),
        ({"scope": {"devices": "dev-1"}}, "list of strings"),
        ({"schedule": {"kind": "weekly", "days": ["mon"], "start": "02:00", "duration": 60,
                       "timezone": "Mars/Olympus"}}, "unknown timezone"),
        ({"schedule": {"kind": "weekly", "days": ["mon", "funday"], "start": "02:00",
                       "duration": 60}}, "unknown day 'funday'"),
        ({"schedule": {"kind": "weekly", "days": [], "start": "02:00", "duration": 60}},
         "non-empty list"),
        ({"schedule": {"kind": "weekly", "days": ["mon"], "start": "25:00", "duration": 60}},
         "HH:MM"),
        ({"schedule": {"kind": "cron", "cron": "0 2 * *", "duration": 60}}, "five fields"),
        ({"schedule": {"kind": "cron", "cron": "0 26 * * *", "duration": 60}}, "invalid cron"),
        ({"schedule": {"kind": "cron", "cron": "0 2 * * 5#3", "duration": 60}}, "standard"),
        ({"schedule": {"kind": "cron", "cron": "0 2 * * *", "duration": 0}}, "more than 0"),
        ({"schedule": {"kind": "cron", "cron": "0 2 * * *", "duration": 8 * 86400}}, "7 days"),
        ({"schedule": {"kind": "yearly", "duration": 60}}, "'weekly' or 'cron'"),
    ],
)  # fmt: skip
def test_window_validation(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_window(window(**overrides))


def test_alert_labels_of_a_finding() -> None:
    finding = Finding(
        id="f", rule_id="wifi.deauth", agent="wifi", domain="wifi", kind="problem",
        device_id="dev-1", host="ap-1", severity="minor", title="", summary="", fingerprint="x",
        labels={"sta": "aa:bb", "host": "spoofed"}, evidence=[], observed_at=T0, detected_at=T0,
    )  # fmt: skip
    labels = alert_labels(finding)
    assert labels["sta"] == "aa:bb" and labels["host"] == "ap-1" and labels["agent"] == "wifi"
