"""Webhook payloads → ExternalAlert records: every shared webhook file, the mapping rules."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest

from opsconductor.addons.payloads import (
    MAX_ALERTS,
    MAX_LABEL_BYTES,
    ExternalAlert,
    PayloadError,
    device_hint,
    label_fingerprint,
    parse_alertmanager,
    parse_time,
    severity_level,
)
from opsconductor.addons.payloads_grafana import parse_grafana
from opsconductor.errors import InputError

Parser = Callable[[bytes], list[ExternalAlert]]
MSTEAMS = "alertmanager/prometheus-msteams_testdata"


def at(text: str) -> float:
    """Epoch seconds of an ISO time (microseconds)."""
    return datetime.fromisoformat(text).astimezone(UTC).timestamp()


def load(shared_data: Path, name: str) -> bytes:
    """The body of a shared webhook file (the body part of a captured HTTP request)."""
    data = (shared_data / "webhooks" / name).read_bytes()
    if name.endswith(".txt"):
        head, _, body = data.partition(b"\n\n")
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.splitlines()
            if line.lower().startswith(b"content-length:")
        )
        return body[:length]
    return data


def parser_for(name: str) -> Parser:
    return parse_grafana if name.startswith("grafana/") else parse_alertmanager


# --- every shared file, record by record ---------------------------------------------------


def check_issue1423(records: list[ExternalAlert]) -> None:
    assert [r.status for r in records] == ["firing", "resolved"]
    # Both alerts carry the same (empty) alertname: the same alert, firing then resolved.
    assert {r.fingerprint for r in records} == {
        label_fingerprint("alertmanager", {"alertname": ""})
    }
    for record in records:
        assert record.title == "Alertmanager alert"
        assert (record.severity, record.device, record.starts_at, record.ends_at) == (
            "warning",
            None,
            None,
            None,
        )
        assert record.labels == {"alertname": ""}


def check_alertmonitor(records: list[ExternalAlert]) -> None:
    ips = ["172.29.254.30", "172.29.254.50", "172.29.254.66"]
    assert [r.status for r in records] == ["firing"] * 3
    assert [r.device for r in records] == ips
    assert [r.summary for r in records] == [f"{ip} does not reply to ICMP pings" for ip in ips]
    assert len({r.fingerprint for r in records}) == 3
    for record in records:
        assert record.title == "ICMP ping failed"
        assert record.severity == "major"
        assert record.fingerprint == label_fingerprint("alertmanager", record.labels)
        assert record.starts_at == pytest.approx(at("2019-09-27T16:27:56.612666+00:00"), abs=1e-6)
        assert record.ends_at is None
        assert record.external_url == "http://:9093"
        assert record.group_key.startswith('{}/{severity=~"^(?:^(critical|major')
        assert record.generator_url.startswith("http://9ed35ff90bf8:9090/graph?g0.expr=")
        assert record.raw["labels"]["instance"] == record.device


def check_zulip_am(records: list[ExternalAlert]) -> None:
    assert [r.fingerprint for r in records] == ["a1bc48475b20e73d", "c2ea85182f28cbd9"]
    assert [r.status for r in records] == ["firing", "firing"]
    assert [r.annotations["description"] for r in records] == [
        "CPU core temperature is 34.75C",
        "CPU core temperature is 17.625C",
    ]
    for record in records:
        assert (record.title, record.summary) == (
            "High CPU Temperature",
            "High CPU core temperature",
        )
        assert (record.severity, record.device) == ("critical", "andromeda")
        assert record.starts_at == pytest.approx(at("2020-02-06T00:17:58.432911+00:00"), abs=1e-6)


def check_zulip_am_resolved(records: list[ExternalAlert]) -> None:
    [record] = records
    assert (record.status, record.fingerprint) == ("resolved", "a1bc48475b20e73d")
    assert (record.title, record.severity, record.device) == (
        "High CPU Temperature",
        "critical",
        "andromeda",
    )


def check_node_event(count: int) -> Callable[[list[ExternalAlert]], None]:
    def check(records: list[ExternalAlert]) -> None:
        assert len(records) == count
        assert len({r.fingerprint for r in records}) == count
        for record in records:
            # No per-alert status: the group's; severity "page" is critical; the host is in
            # a label named "user3tance", which names no device.
            assert record.status == "firing"
            assert (record.title, record.severity, record.device) == ("NodeEvent", "critical", None)
            assert record.summary.startswith("Server is down. `")
            assert record.labels["env2"] == "environmentc"
            assert record.fingerprint == label_fingerprint("alertmanager", record.labels)
            assert record.external_url == "http://docker.for.mac.host.internal:9093"

    return check


def check_memory(count: int) -> Callable[[list[ExternalAlert]], None]:
    def check(records: list[ExternalAlert]) -> None:
        assert [r.title for r in records] == ["high_memory_load"] + [
            f"high_memory_load{n}" for n in range(2, count + 1)
        ]
        for record in records:
            assert (record.status, record.severity, record.device) == ("firing", "warning", None)
            assert record.labels["monitor"] == "master"  # from commonLabels
            assert record.summary == "Server High Memory usage"
            assert record.starts_at == pytest.approx(at("2018-03-07T11:33:21.873077+00:00"))

    return check


def check_one_memory(runbook: bool) -> Callable[[list[ExternalAlert]], None]:
    def check(records: list[ExternalAlert]) -> None:
        [record] = records
        assert (record.status, record.title, record.severity) == (
            "firing",
            "high_memory_load",
            "warning",
        )
        assert record.device == "instance-with-hyphen_and_underscore"
        # The alert's own summary wins over commonAnnotations ("Prometheus Test" in one file).
        assert record.summary == "Server High Memory usage"
        assert ("runbook" in record.annotations) is runbook

    return check


def check_grafana_unified_docs(records: list[ExternalAlert]) -> None:
    assert [r.fingerprint for r in records] == ["c6eadffa33fcdf37", "bc97ff14869b13e3"]
    assert [r.title for r in records] == ["High memory usage", "High CPU usage"]
    assert [r.status for r in records] == ["firing", "firing"]
    assert [r.starts_at for r in records] == [
        pytest.approx(at("2021-10-12T09:51:03.157076+02:00")),
        pytest.approx(at("2021-10-12T09:56:03.157076+02:00")),
    ]
    for record in records:
        assert (record.source, record.severity, record.device) == ("grafana", "warning", None)
        assert record.labels["team"] == "blue"
        assert record.annotations["values"] == "B=44.23943737541908, C=1"
        assert record.annotations["silence_url"].startswith("https://play.grafana.org/alerting/")
        assert "dashboard_url" not in record.annotations  # sent empty
        assert record.external_url == "https://play.grafana.org/"


def check_grafana_v9_mixed(records: list[ExternalAlert]) -> None:
    assert [r.status for r in records] == ["resolved", "resolved", "firing"]
    assert [r.fingerprint for r in records] == [
        "aaafafe0953f0962",
        "fb31814ac93dbe7d",
        "6f9cd313db421ef1",
    ]
    assert [r.device for r in records] == ["badhost.example.com", "otherhost.example.com", None]
    assert [r.title for r in records] == ["Test alert", "Test alert", "Second webhook test"]
    assert [r.ends_at for r in records] == [
        pytest.approx(at("2022-06-17T01:08:28.652747+00:00")),
        pytest.approx(at("2022-06-17T01:08:28.652747+00:00")),
        None,
    ]
    assert records[0].annotations["value_string"].startswith("[ var='B' labels={__name__=")
    assert {r.severity for r in records} == {"warning"}


def legacy_check(
    title: str, identity: dict[str, str], summary: str
) -> Callable[[list[ExternalAlert]], None]:
    def check(records: list[ExternalAlert]) -> None:
        [record] = records
        assert (record.source, record.status, record.title) == ("grafana", "firing", title)
        assert (record.severity, record.device, record.summary) == ("warning", None, summary)
        assert record.fingerprint == label_fingerprint("grafana", identity)
        assert (record.starts_at, record.ends_at) == (None, None)

    return check


def assert_empty(records: list[ExternalAlert]) -> None:
    assert records == []  # a paused rule says nothing about the device


TESTING = "Someone is testing the alert notification within grafana."
EXPECTED: dict[str, Callable[[list[ExternalAlert]], None]] = {
    "alertmanager/alertmanager_issue1423_mixed_status_minimal.json": check_issue1423,
    "alertmanager/alertmonitor_icmp_firing.json": check_alertmonitor,
    "alertmanager/zulip_alertmanager_alert.json": check_zulip_am,
    "alertmanager/zulip_alertmanager_single_alert_resolved.json": check_zulip_am_resolved,
    f"{MSTEAMS}/alert__testdata__large_prom_post_request.json": check_node_event(19),
    f"{MSTEAMS}/alert__testdata__prom_post_request_12_alerts.json": check_memory(12),
    f"{MSTEAMS}/alert__testdata__prom_post_request_2_alerts.json": check_memory(2),
    f"{MSTEAMS}/alert__testdata__prom_post_request_label.json": check_one_memory(True),
    f"{MSTEAMS}/alert__testdata__prom_post_request_without_common_summary.json": (
        check_one_memory(False)
    ),
    f"{MSTEAMS}/pkg__card__testdata__prom_post_request.json": check_one_memory(True),
    f"{MSTEAMS}/pkg__card__testdata__prom_post_request_too_large.json": check_node_event(19),
    f"{MSTEAMS}/pkg__card__testdata__prom_post_request_too_many_sections.json": (
        check_node_event(12)
    ),
    "grafana/cerebro_grafana_legacy_captured_http_request.txt": legacy_check(
        "Test notification", {"alertname": "Test notification", "rule_id": "0"}, TESTING
    ),
    "grafana/grafana_docs_unified_webhook_example.json": check_grafana_unified_docs,
    "grafana/zulip_grafana_legacy_alerting.json": legacy_check(
        "Test rule",
        {
            "alertname": "Test rule",
            "rule_id": "0",
            "org_id": "0",
            "dashboard_id": "1",
            "panel_id": "1",
        },
        TESTING,
    ),
    "grafana/zulip_grafana_legacy_no_data_v7.json": legacy_check(
        "No Data alert",
        {
            "alertname": "No Data alert",
            "rule_id": "3",
            "org_id": "1",
            "dashboard_id": "2",
            "panel_id": "6",
        },
        "The panel has no data.",
    ),
    "grafana/zulip_grafana_legacy_paused_v7.json": assert_empty,
    "grafana/zulip_grafana_v9_mixed_firing_resolved.json": check_grafana_v9_mixed,
}
NOT_PAYLOADS = {"alertmanager/alertmanager_webhook_schema_v4.md"}


def test_every_shared_file_has_expectations(shared_data: Path) -> None:
    root = shared_data / "webhooks"
    present = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    assert present - NOT_PAYLOADS == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_shared_file(shared_data: Path, name: str) -> None:
    body = load(shared_data, name)
    records = parser_for(name)(body)
    EXPECTED[name](records)
    assert parser_for(name)(json.loads(body)) == records  # decoded bodies map the same
    msgspec.json.encode(records)  # every record can travel on the bus


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_truncated_shared_file_is_a_payload_error(shared_data: Path, name: str) -> None:
    body = load(shared_data, name).rstrip()
    for cut in {1, len(body) // 3, len(body) // 2, len(body) - 1}:
        with pytest.raises(PayloadError, match=r"^body: not valid JSON"):
            parser_for(name)(body[:cut])


def test_resolution_matches_its_firing_across_files(shared_data: Path) -> None:
    firing = parse_alertmanager(load(shared_data, "alertmanager/zulip_alertmanager_alert.json"))
    resolved = parse_alertmanager(
        load(shared_data, "alertmanager/zulip_alertmanager_single_alert_resolved.json")
    )
    assert resolved[0].fingerprint == firing[0].fingerprint
    two = parse_alertmanager(
        load(shared_data, f"{MSTEAMS}/alert__testdata__prom_post_request_2_alerts.json")
    )
    twelve = parse_alertmanager(
        load(shared_data, f"{MSTEAMS}/alert__testdata__prom_post_request_12_alerts.json")
    )
    assert [r.fingerprint for r in two] == [r.fingerprint for r in twelve[:2]]
    large = parse_alertmanager(
        load(shared_data, f"{MSTEAMS}/alert__testdata__large_prom_post_request.json")
    )
    too_large = parse_alertmanager(
        load(shared_data, f"{MSTEAMS}/pkg__card__testdata__prom_post_request_too_large.json")
    )
    # The two files differ in one label value of the first alert only.
    assert large[0].fingerprint != too_large[0].fingerprint
    assert [r.fingerprint for r in large[1:]] == [r.fingerprint for r in too_large[1:]]


def test_alertmanager_fingerprint_without_sender_one_is_stable_across_status(
    shared_data: Path,
) -> None:
    body = json.loads(load(shared_data, "alertmanager/alertmonitor_icmp_firing.json"))
    firing = parse_alertmanager(body)
    for alert in body["alerts"]:
        alert["status"] = "resolved"
        alert["endsAt"] = "2019-09-27T17:00:00Z"
    resolved = parse_alertmanager(body)
    assert [r.fingerprint for r in resolved] == [r.fingerprint for r in firing]
    assert {r.status for r in resolved} == {"resolved"}
    assert resolved[0].ends_at == at("2019-09-27T17:00:00+00:00")


# --- Grafana legacy states ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "status", "title"),
    [
        ("alerting", "firing", "No Data alert"),
        ("ok", "resolved", "No Data alert"),
        ("no_data", "firing", "No data: No Data alert"),
    ],
)
def test_grafana_legacy_states(shared_data: Path, state: str, status: str, title: str) -> None:
    body = json.loads(load(shared_data, "grafana/zulip_grafana_legacy_no_data_v7.json"))
    [reference] = parse_grafana(body)
    [record] = parse_grafana(body | {"state": state, "tags": {"severity": "critical"}})
    assert (record.status, record.title) == (status, title)
    assert record.fingerprint == reference.fingerprint  # tags are not identity
    assert record.severity == ("warning" if state == "no_data" else "critical")


@pytest.mark.parametrize("state", ["paused", "pending", "unknown"])
def test_grafana_legacy_states_without_records(shared_data: Path, state: str) -> None:
    body = json.loads(load(shared_data, "grafana/zulip_grafana_legacy_alerting.json"))
    assert parse_grafana(body | {"state": state}) == []


def test_grafana_legacy_eval_matches_and_bad_state(shared_data: Path) -> None:
    body = load(shared_data, "grafana/cerebro_grafana_legacy_captured_http_request.txt")
    [record] = parse_grafana(body)
    assert record.annotations["eval_matches"] == "High value=100, Higher Value=200"
    assert record.generator_url == "https://localhost:3000/"
    with pytest.raises(PayloadError, match=r"^state: expected one of alerting"):
        parse_grafana(json.loads(body) | {"state": "exploded"})
    with pytest.raises(PayloadError, match=r"^evalMatches\[1\]\.value: expected a number"):
        parse_grafana(json.loads(body) | {"evalMatches": [{"value": 1}, {"value": "x"}]})
    with pytest.raises(PayloadError, match=r"^body: neither unified"):
        parse_grafana(b'{"hello": "world"}')


# --- mapping rules --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "level"),
    [
        ("critical", "critical"), ("CRITICAL", "critical"), ("crit", "critical"),
        ("page", "critical"), ("fatal", "critical"), ("emergency", "critical"),
        ("p1", "critical"), ("major", "major"), ("high", "major"), ("error", "major"),
        ("err", "major"), (" Error ", "major"), ("minor", "minor"), ("medium", "minor"),
        ("warning", "warning"), ("warn", "warning"), ("low", "warning"), ("info", "info"),
        ("informational", "info"), ("notice", "info"), ("debug", "info"), ("none", "info"),
        ("", "warning"), (None, "warning"), ("bogus", "warning"), ("5", "warning"),
    ],
)  # fmt: skip
def test_severity_table(word: str | None, level: str) -> None:
    assert severity_level(word) == level


def test_severity_table_of_a_manifest_comes_first() -> None:
    table = {"Sev-A": "critical", "low": "info", "weird": "nonsense"}
    assert severity_level("sev-a", table) == "critical"
    assert severity_level("LOW", table) == "info"
    assert severity_level("weird", table) == "warning"
    assert severity_level("high", table) == "major"


@pytest.mark.parametrize(
    ("labels", "device"),
    [
        ({"instance": "router1:9100"}, "router1"),
        ({"instance": "10.0.0.1:161"}, "10.0.0.1"),
        ({"instance": "[2001:db8::1]:9100"}, "2001:db8::1"),
        ({"instance": "2001:db8::1"}, "2001:db8::1"),
        ({"instance": "http://sw1.example.net:8080/metrics"}, "sw1.example.net"),
        ({"instance": "name:with:colons"}, "name:with:colons"),
        ({"instance": "", "host": "h1"}, "h1"),
        ({"hostname": "h2", "device": "d"}, "h2"),
        ({"device": "ap-3"}, "ap-3"),
        ({"job": "x"}, None),
    ],
)
def test_device_hint(labels: dict[str, str], device: str | None) -> None:
    assert device_hint(labels) == device


def test_times() -> None:
    assert parse_time("0001-01-01T00:00:00Z", "t") is None
    assert parse_time("0001-01-01T00:00:00+05:00", "t") is None
    assert parse_time("1970-01-01T00:00:01.5Z", "t") == 1.5
    assert parse_time("1970-01-01T01:00:00+01:00", "t") == 0.0
    assert parse_time("2020-02-06T00:17:58.432911368Z", "t") == pytest.approx(1580948278.432911)
    for bad in ("yesterday", "2020-13-01T00:00:00Z", "2020-01-01T00:00:60Z", "2020-01-01"):
        with pytest.raises(PayloadError, match=r"^alerts\[0\]\.startsAt: "):
            parse_time(bad, "alerts[0].startsAt")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "body: not valid JSON"),
        (b"[]", "body: expected an object, got an array"),
        (b"{}", "alerts: missing"),
        (b'{"alerts": {}}', "alerts: expected an array, got an object"),
        (b'{"alerts": [1]}', r"alerts\[0\]: expected an object, got a number"),
        (
            b'{"status": "firing", "alerts": [{}, {}, {"labels": []}]}',
            r"alerts\[2\]\.labels: expected an object, got an array",
        ),
        (b'{"alerts": [{"labels": {"a": 1}}]}', r"alerts\[0\]\.labels\.a: expected a string"),
        (b'{"alerts": [{"status": "gone"}]}', r"alerts\[0\]\.status: expected 'firing' or"),
        (b'{"alerts": [{}]}', r"alerts\[0\]\.status: expected 'firing' or 'resolved', got null"),
        (b'{"status": "firing", "alerts": [{"fingerprint": 7}]}', r"alerts\[0\]\.fingerprint"),
        (b'{"status": "firing", "alerts": [{"startsAt": 7}]}', r"alerts\[0\]\.startsAt"),
        (b'{"commonLabels": [], "alerts": []}', "commonLabels: expected an object"),
        (b"[" * 100_000, "body: not valid JSON"),
    ],
)
def test_alertmanager_errors_say_what_and_where(body: bytes, message: str) -> None:
    with pytest.raises(PayloadError, match=f"^{message}"):
        parse_alertmanager(body)


def test_bounds() -> None:
    alert = {"status": "firing", "labels": {"alertname": "x"}}
    assert len(parse_alertmanager({"alerts": [alert] * MAX_ALERTS})) == MAX_ALERTS
    with pytest.raises(PayloadError, match="more than the 1000 accepted"):
        parse_alertmanager({"alerts": [alert] * (MAX_ALERTS + 1)})
    fits = {"status": "firing", "labels": {"big": "é" * (MAX_LABEL_BYTES // 2)}}
    assert len(parse_alertmanager({"alerts": [fits]})) == 1
    over = {"status": "firing", "labels": {"big": "é" * (MAX_LABEL_BYTES // 2) + "x"}}
    with pytest.raises(PayloadError, match=r"^alerts\[0\]\.labels\.big: label value over 4096"):
        parse_alertmanager({"alerts": [over]})
    with pytest.raises(PayloadError, match=r"^commonLabels\.big: label value over"):
        parse_alertmanager({"commonLabels": over["labels"], "alerts": []})
    assert issubclass(PayloadError, InputError)
