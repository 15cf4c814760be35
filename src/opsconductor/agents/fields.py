"""The fields of an event a rule can name, and the ``{field}`` templates of titles.

A field is one of :data:`EVENT_FIELDS`, ``extra.<name>``, ``sd.<id>.<param>`` or a named group
of the rule's ``message`` expression. Values are read as text for labels, fingerprints and
templates (facility and severity by their keywords, a missing value as ``""``) and raw (codes
as numbers) for comparisons.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from opsconductor.messages import Event
from opsconductor.severity import facility_name, severity_name

EVENT_FIELDS = (
    "device_id", "host", "source", "peer", "program", "procid", "msgid",
    "facility", "severity", "domain", "format", "message",
)  # fmt: skip
"""Plain attributes of an event a rule may name."""

_TEMPLATE_FIELD = re.compile(r"\{([^{}]*)\}")


def is_event_field(name: str) -> bool:
    """True for a field every event can be asked for (not a named group)."""
    if name in EVENT_FIELDS:
        return True
    if name.startswith("extra."):
        return len(name) > len("extra.")
    parts = name.split(".", 2)
    return len(parts) == 3 and parts[0] == "sd" and bool(parts[1]) and bool(parts[2])


def unknown_fields(names: Iterable[str], groups: Iterable[str]) -> list[str]:
    """The names that are neither event fields nor among ``groups``, in order."""
    known = set(groups)
    return [name for name in names if name not in known and not is_event_field(name)]


def describe_known(groups: Iterable[str]) -> str:
    """The list of known fields, for an error message."""
    named = sorted(set(groups))
    extra = f", named groups {', '.join(named)}" if named else ""
    return f"known: {', '.join(EVENT_FIELDS)}, extra.<name>, sd.<id>.<param>{extra}"


def template_fields(template: str) -> list[str]:
    """The field names a ``{field}`` template refers to."""
    return [match.group(1).strip() for match in _TEMPLATE_FIELD.finditer(template)]


def render(template: str, values: Mapping[str, str]) -> str:
    """``template`` with each ``{field}`` replaced by its value (``""`` when missing)."""
    if "{" not in template:
        return template
    return _TEMPLATE_FIELD.sub(lambda m: values.get(m.group(1).strip(), ""), template)


def raw_value(event: Event, name: str, groups: Mapping[str, str]) -> str | int | None:
    """The value of a field as the event holds it: codes as numbers, ``None`` when absent."""
    if name in groups:
        return groups[name]
    if name in EVENT_FIELDS:
        value: str | int | None = getattr(event, name)
        return value
    if name.startswith("extra."):
        return event.extra.get(name[len("extra.") :])
    if name.startswith("sd."):
        _, sd_id, param = name.split(".", 2)
        return event.structured_data.get(sd_id, {}).get(param)
    return None


def text_value(event: Event, name: str, groups: Mapping[str, str]) -> str:
    """The value of a field as text: facility and severity by keyword, ``""`` when absent."""
    if name not in groups:
        if name == "severity":
            return severity_name(event.severity) or ""
        if name == "facility":
            return facility_name(event.facility) or ""
    value = raw_value(event, name, groups)
    return "" if value is None else str(value)


def text_values(event: Event, names: Iterable[str], groups: Mapping[str, str]) -> dict[str, str]:
    """The named groups and the text of each field in ``names``."""
    values = dict(groups)
    for name in names:
        if name not in values:
            values[name] = text_value(event, name, groups)
    return values
