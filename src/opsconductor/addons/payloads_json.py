"""Generic JSON webhooks → ``ExternalAlert`` records, as a manifest's paths say.

Paths are those of ``addons.jsonpath`` (the manifest's one path language): dotted keys,
``[n]``, ``[*]``; inside an item, a leading ``$.`` starts at the whole body
(``$.commonLabels.team``). A missing key or index reaches nothing (the field is then absent),
never an error. No filters, no functions, no eval.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from opsconductor.addons.jsonpath import JsonPath, compile_path, resolve
from opsconductor.addons.payloads import (
    ExternalAlert,
    PayloadError,
    check_label_value,
    cut,
    decode_body,
    device_hint,
    expect_list,
    expect_object,
    kind,
    label_fingerprint,
    parse_time,
    severity_level,
    summary_of,
)
from opsconductor.errors import InputError

JSON_FIELDS = frozenset(
    ("records", "status", "fingerprint", "title", "summary", "severity", "labels",
     "annotations", "starts_at", "ends_at", "device", "generator_url", "group_key")
)  # fmt: skip
"""Keys of ``paths`` besides ``label.<name>`` and ``annotation.<name>``."""
RESOLVED_VALUES = ("resolved", "ok", "clear", "cleared", "closed", "recovered", "normal", "up")
"""Status values (any case) that mean resolved by default; any other value means firing."""


class MappingError(InputError):
    """A generic JSON mapping (``paths``) that does not compile."""


def compile_mapping(paths: Mapping[str, str]) -> dict[str, JsonPath]:
    """``paths`` compiled, or ``MappingError`` naming the field and what is wrong."""
    compiled = {}
    for field, text in paths.items():
        if field not in JSON_FIELDS and not field.startswith(("label.", "annotation.")):
            raise MappingError(f"paths.{field}: not a field ({', '.join(sorted(JSON_FIELDS))})")
        try:
            compiled[field] = compile_path(text)
        except ValueError as exc:
            raise MappingError(f"paths.{field}: {exc}") from exc
        if field != "records" and compiled[field].fans_out:
            raise MappingError(f"paths.{field}: {text!r} names many values ([*]); use one")
    return compiled


def parse_json(
    body: bytes | str | dict[str, Any] | list[Any],
    paths: Mapping[str, str],
    *,
    resolved_values: Collection[str] = RESOLVED_VALUES,
    severities: Mapping[str, str] | None = None,
    fingerprint_labels: Sequence[str] | None = None,
) -> list[ExternalAlert]:
    """Records from any JSON body, as a manifest's ``paths`` say.

    ``paths["records"]`` selects the items (``alerts[*]``, an array, or one object); without
    it the whole body is the item (the items, when it is an array). Other keys are paths
    relative to an item: ``status``, ``fingerprint``, ``title``, ``summary``, ``severity``,
    ``labels`` and ``annotations`` (objects), ``label.<name>`` and ``annotation.<name>`` (one
    value each), ``starts_at`` / ``ends_at`` (RFC 3339, or epoch seconds — milliseconds above
    10^11), ``device``, ``generator_url``, ``group_key``. A status in ``resolved_values`` (any
    case) is resolved, anything else (or none) firing; ``severities`` maps the sender's words
    before the common table. Without a ``fingerprint`` path the fingerprint is the SHA-256 of
    the ``fingerprint_labels`` (when not given: all labels, the title and the device).
    """
    compiled = compile_mapping(paths)
    data = decode_body(body)
    items: list[Any] = [data]
    if "records" in compiled:
        items = resolve(compiled["records"], data, data)
        if not compiled["records"].fans_out:
            if not items:
                raise PayloadError(f"records: {paths['records']!r} reaches nothing")
            items = items[0] if isinstance(items[0], list) else items
    elif isinstance(data, list):
        items = data
    expect_list(items, "records")
    mapping = _Mapping(
        compiled,
        data,
        frozenset(word.strip().lower() for word in resolved_values),
        severities,
        None if fingerprint_labels is None else tuple(fingerprint_labels),
    )
    return [
        mapping.record(expect_object(item, f"records[{n}]"), f"records[{n}]")
        for n, item in enumerate(items)
    ]


@dataclass(frozen=True, slots=True)
class _Mapping:
    """A compiled mapping applied to the items of one body."""

    paths: Mapping[str, JsonPath]
    body: object
    resolved: frozenset[str]
    severities: Mapping[str, str] | None
    fingerprint_labels: tuple[str, ...] | None

    def value(self, item: object, field: str) -> object:
        """The value ``paths[field]`` reaches in ``item``, ``None`` when none."""
        path = self.paths.get(field)
        found = resolve(path, item, self.body) if path is not None else []
        return found[0] if found else None

    def text(self, item: object, field: str, where: str) -> str:
        """The scalar at ``paths[field]`` as text (``""`` when absent)."""
        return as_text(self.value(item, field), f"{where}.{field}")

    def strings(self, item: object, field: str, where: str) -> dict[str, str]:
        """The object at ``paths[field]`` (``labels``/``annotations``) plus its single fields."""
        found = self.value(item, field)
        pairs = [] if found is None else expect_object(found, f"{where}.{field}").items()
        out = {key: as_text(value, f"{where}.{field}.{cut(key)}") for key, value in pairs}
        prefix = field[:-1] + "."
        for name in self.paths:
            if name.startswith(prefix):
                out[name[len(prefix) :]] = self.text(item, name, where)
        return out

    def record(self, item: dict[str, Any], where: str) -> ExternalAlert:
        """One item as a record."""
        labels = self.strings(item, "labels", where)
        for key, value in labels.items():
            check_label_value(value, f"{where}.labels.{cut(key)}")
        notes = self.strings(item, "annotations", where)
        title = self.text(item, "title", where) or labels.get("alertname") or "JSON alert"
        device = self.text(item, "device", where) or device_hint(labels)
        if self.fingerprint_labels is None:
            identity = labels | {"\x00title": title, "\x00device": device or ""}
        else:
            identity = {name: labels.get(name, "") for name in self.fingerprint_labels}
        status = self.text(item, "status", where).strip().lower()
        severity = self.text(item, "severity", where) or labels.get("severity")
        return ExternalAlert(
            source="json",
            status="resolved" if status in self.resolved else "firing",
            fingerprint=self.text(item, "fingerprint", where)
            or label_fingerprint("json", identity),
            title=title,
            summary=self.text(item, "summary", where) or summary_of(notes),
            severity=severity_level(severity, self.severities),
            labels=labels,
            annotations=notes,
            starts_at=json_time(self.value(item, "starts_at"), f"{where}.starts_at"),
            ends_at=json_time(self.value(item, "ends_at"), f"{where}.ends_at"),
            device=device,
            generator_url=self.text(item, "generator_url", where),
            group_key=self.text(item, "group_key", where),
            raw=item,
        )


def json_time(value: object, where: str) -> float | None:
    """A time: RFC 3339, or epoch seconds (milliseconds above 10^11); null → ``None``."""
    if isinstance(value, bool):
        raise PayloadError(f"{where}: expected a time, got a boolean")
    if isinstance(value, int | float):
        if not -1e15 < value < 1e15:
            raise PayloadError(f"{where}: {short_number(value)} is out of range for a time")
        return float(value) / (1000 if abs(value) > 1e11 else 1)
    return parse_time(value, where)


def as_text(value: object, where: str) -> str:
    """A scalar as text (numbers and booleans as JSON writes them; null as ``""``)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, int) and -(10**100) < value < 10**100:
        return str(value)
    raise PayloadError(f"{where}: expected a string or number, got {kind(value)}")


def short_number(value: float) -> str:
    """A number for a message, however large."""
    if isinstance(value, int) and not -(10**30) < value < 10**30:
        return "a number of more than 30 digits"
    return f"{value:g}"
