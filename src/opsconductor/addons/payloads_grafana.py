"""Grafana webhook bodies → ``ExternalAlert`` records: unified alerting and legacy alerting.

Unified alerting (Grafana 8+) sends the Alertmanager v4 shape plus ``state``, ``title``,
``message``, ``orgId`` and, per alert, ``fingerprint``, ``values``/``valueString`` and
silence/dashboard/panel URLs; it maps exactly as Alertmanager does, those extras becoming the
annotations ``values``, ``value_string``, ``silence_url``, ``dashboard_url`` and ``panel_url``.

Legacy alerting (Grafana ≤ 10) sends one rule per body: ``ruleName``, ``ruleId``, ``state``,
``evalMatches``, ``message``, ``ruleUrl``, ``tags``. See ``parse_grafana`` for the states.
"""

from __future__ import annotations

from typing import Any

from opsconductor.addons.payloads import (
    ExternalAlert,
    Level,
    PayloadError,
    Status,
    cut,
    decode_body,
    device_hint,
    expect_list,
    expect_object,
    kind,
    label_fingerprint,
    map_grouped,
    optional_str,
    severity_level,
    short,
    string_map,
)

LEGACY_STATES = ("alerting", "ok", "no_data", "paused", "pending", "unknown")
LEGACY_IDENTITY = ("alertname", "rule_id", "org_id", "dashboard_id", "panel_id")
"""Labels of a legacy alert that make its fingerprint (its tags do not)."""


def parse_grafana(body: bytes | str | dict[str, Any]) -> list[ExternalAlert]:
    """Records from a Grafana webhook body, unified (has ``alerts``) or legacy.

    Legacy states: ``alerting`` → firing; ``ok`` → resolved (same fingerprint, made from the
    rule's ids and name); ``no_data`` → firing, severity ``warning``, titled "No data: <rule>".
    ``paused``, ``pending`` and ``unknown`` give no records: a paused rule is not evaluated
    and a pending one has not fired yet, so neither says anything about the device — the alert
    state stays as it is until the rule reports ``alerting`` or ``ok``.
    """
    data = expect_object(decode_body(body), "body")
    if "alerts" in data:
        return map_grouped(data, "grafana", _unified_extras)
    if any(key in data for key in ("ruleName", "ruleId", "evalMatches", "state")):
        return _legacy(data)
    raise PayloadError("body: neither unified alerting (alerts) nor legacy (ruleName, state)")


def _unified_extras(alert: dict[str, Any], where: str) -> dict[str, str]:
    """Grafana's per-alert extras as annotations (empty ones left out)."""
    notes = {
        name: optional_str(alert, key, where)
        for name, key in (
            ("silence_url", "silenceURL"),
            ("dashboard_url", "dashboardURL"),
            ("panel_url", "panelURL"),
            ("value_string", "valueString"),
        )
    }
    values = alert.get("values")
    if values is not None:
        pairs = expect_object(values, f"{where}.values").items()
        notes["values"] = ", ".join(
            f"{k}={_number(v, f'{where}.values.{cut(k)}')}" for k, v in pairs
        )
    return {name: text for name, text in notes.items() if text}


def _legacy(data: dict[str, Any]) -> list[ExternalAlert]:
    """A legacy alerting body: one rule, one record (or none)."""
    state = data.get("state")
    if state not in LEGACY_STATES:
        raise PayloadError(f"state: expected one of {', '.join(LEGACY_STATES)}, got {short(state)}")
    if state in ("paused", "pending", "unknown"):
        return []
    rule = optional_str(data, "ruleName", "body")
    labels = string_map(data.get("tags"), "tags", labels=True)
    labels["alertname"] = rule
    for name, key in (
        ("rule_id", "ruleId"),
        ("org_id", "orgId"),
        ("dashboard_id", "dashboardId"),
        ("panel_id", "panelId"),
    ):
        if data.get(key) is not None:
            labels[name] = _identifier(data[key], key)
    title = rule or optional_str(data, "title", "body") or "Grafana alert"
    status: Status = "resolved" if state == "ok" else "firing"
    severity: Level = severity_level(labels.get("severity"))
    if state == "no_data":
        severity, title = "warning", f"No data: {title}"
    notes = {"message": optional_str(data, "message", "body"), "title": data.get("title") or ""}
    notes["image_url"] = optional_str(data, "imageUrl", "body")
    notes["eval_matches"] = _eval_matches(data.get("evalMatches"))
    notes = {name: text for name, text in notes.items() if isinstance(text, str) and text}
    identity = {name: labels[name] for name in LEGACY_IDENTITY if name in labels}
    return [
        ExternalAlert(
            source="grafana",
            status=status,
            fingerprint=label_fingerprint("grafana", identity),
            title=title,
            summary=notes.get("message", title),
            severity=severity,
            labels=labels,
            annotations=notes,
            starts_at=None,
            ends_at=None,
            device=device_hint(labels),
            generator_url=optional_str(data, "ruleUrl", "body"),
            raw=data,
        )
    ]


def _eval_matches(value: object) -> str:
    """``metric=value, …`` of the legacy ``evalMatches``."""
    if value is None:
        return ""
    matches = expect_list(value, "evalMatches")
    parts = []
    for index, item in enumerate(matches):
        match = expect_object(item, f"evalMatches[{index}]")
        metric = optional_str(match, "metric", f"evalMatches[{index}]")
        parts.append(f"{metric}={_number(match.get('value'), f'evalMatches[{index}].value')}")
    return ", ".join(parts)


def _number(value: object, where: str) -> str:
    """A JSON number (or null) as text."""
    if value is None:
        return "null"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) < 10**100:
        return str(value)
    raise PayloadError(f"{where}: expected a number, got {kind(value)}")


def _identifier(value: object, key: str) -> str:
    """A legacy id (a number or a string) as text."""
    if isinstance(value, str) and len(value) <= 256:
        return value
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) < 10**100:
        return str(value)
    raise PayloadError(f"{key}: expected an id (a number or a string), got {kind(value)}")
