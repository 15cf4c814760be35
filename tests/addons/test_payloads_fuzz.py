"""Fuzzing the webhook payload parsers: any body gives records or one ``PayloadError``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.addons.test_payloads import EXPECTED, load

from opsconductor.addons.payloads import ExternalAlert, PayloadError, parse_alertmanager
from opsconductor.addons.payloads_grafana import parse_grafana
from opsconductor.addons.payloads_json import parse_json

# --- fuzzing: any body gives records or one PayloadError ------------------------------------

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**5000), max_value=10**5000)
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from(["firing", "resolved", "alerting", "ok", "no_data", "0001-01-01T00:00:00Z"])
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=25,
)
KEYS = [
    "alerts",
    "status",
    "labels",
    "annotations",
    "commonLabels",
    "groupLabels",
    "commonAnnotations",
    "startsAt",
    "endsAt",
    "fingerprint",
    "generatorURL",
    "externalURL",
    "groupKey",
    "values",
    "valueString",
    "state",
    "ruleName",
    "ruleId",
    "evalMatches",
    "tags",
    "value",
    "metric",
    "dashboardURL",
    "orgId",
    "message",
    "title",
    "data",
    "items",
]
shaped = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=5), inner, max_size=6)
    ),
    max_leaves=40,
)
JSON_PATHS = {"records": "data.items[*]", "status": "status", "labels": "labels",
              "annotations": "annotations", "title": "title", "fingerprint": "fingerprint",
              "starts_at": "startsAt", "label.host": "$.groupKey", "severity": "state"}  # fmt: skip
PARSERS: dict[str, Callable[[Any], list[ExternalAlert]]] = {
    "alertmanager": parse_alertmanager,
    "grafana": parse_grafana,
    "json": lambda body: parse_json(body, JSON_PATHS),
}


def records_or_payload_error(parser: Callable[[Any], list[ExternalAlert]], body: Any) -> None:
    try:
        records = parser(body)
    except PayloadError:
        return
    assert isinstance(records, list)
    assert all(isinstance(r, ExternalAlert) for r in records)
    for record in records:
        assert record.status in ("firing", "resolved")
        assert record.severity in ("critical", "major", "minor", "warning", "info")
        assert record.fingerprint


@pytest.mark.parametrize("name", sorted(PARSERS))
@settings(max_examples=300, deadline=None)
@given(body=json_values)
def test_fuzz_any_json_value(name: str, body: Any) -> None:
    records_or_payload_error(PARSERS[name], body)
    try:
        encoded = msgspec.json.encode(body)
    except ValueError:  # an integer of more than 4,300 digits
        return
    records_or_payload_error(PARSERS[name], encoded)


@pytest.mark.parametrize("name", sorted(PARSERS))
@settings(max_examples=300, deadline=None)
@given(body=shaped)
def test_fuzz_shaped_json(name: str, body: Any) -> None:
    records_or_payload_error(PARSERS[name], body)


@pytest.mark.parametrize("name", sorted(PARSERS))
@settings(max_examples=300, deadline=None)
@given(body=st.binary(max_size=400))
def test_fuzz_random_bytes(name: str, body: bytes) -> None:
    records_or_payload_error(PARSERS[name], body)


def mutate(value: Any, data: st.DataObject) -> Any:
    """``value`` with one nested value (chosen by hypothesis) replaced by arbitrary JSON."""
    if not isinstance(value, dict | list) or not value or data.draw(st.integers(0, 4)) == 0:
        return data.draw(shaped)
    if isinstance(value, dict):
        key = data.draw(st.sampled_from(sorted(value)))
        return value | {key: mutate(value[key], data)}
    index = data.draw(st.integers(0, len(value) - 1))
    return [*value[:index], mutate(value[index], data), *value[index + 1 :]]


@pytest.mark.parametrize("name", sorted(EXPECTED))
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_fuzz_mutated_shared_files(shared_data: Path, name: str, data: st.DataObject) -> None:
    body = json.loads(load(shared_data, name))
    for parser in PARSERS.values():
        records_or_payload_error(parser, mutate(body, data))
