"""Webhook bodies → normalized ``ExternalAlert`` records; Alertmanager v4 here.

Pure functions: a body (bytes or an already decoded object) goes in, a list of frozen
records comes out. No HTTP, no storage, no clock. Grafana (``payloads_grafana``) and the
manifest-driven generic JSON mapping (``payloads_json``) share the helpers here.

Every malformed input raises one ``PayloadError`` whose message says what is wrong and where
(``alerts[2].labels: expected an object``); no other exception escapes for any body. Bounds:
at most ``MAX_ALERTS`` alerts per payload and ``MAX_LABEL_BYTES`` per label value.

Fingerprints are stable across firing and resolved: the sender's own (Alertmanager's and
Grafana's per-alert ``fingerprint``) when it sends one, else the SHA-256 of the source and the
sorted identifying labels.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Literal, TypeAlias

import msgspec

from opsconductor.errors import InputError

Source: TypeAlias = Literal["alertmanager", "grafana", "json"]
Status: TypeAlias = Literal["firing", "resolved"]
Level: TypeAlias = Literal["critical", "major", "minor", "warning", "info"]

MAX_ALERTS = 1_000
"""Alerts (records) accepted in one payload; more is refused."""
MAX_LABEL_BYTES = 4_096
"""Bytes (UTF-8) of one label value; longer is refused."""
DEFAULT_LEVEL: Level = "warning"

SEVERITY_WORDS: dict[str, Level] = {
    **dict.fromkeys(
        ("critical", "crit", "page", "fatal", "emergency", "emerg", "alert", "disaster",
         "p1", "sev1", "blocker"), "critical"),
    **dict.fromkeys(("major", "high", "error", "err", "severe", "p2", "sev2"), "major"),
    **dict.fromkeys(("minor", "medium", "moderate", "average", "p3", "sev3"), "minor"),
    **dict.fromkeys(("warning", "warn", "low", "p4", "sev4"), "warning"),
    **dict.fromkeys(
        ("info", "informational", "information", "notice", "debug", "ok", "none", "p5",
         "sev5"), "info"),
}  # fmt: skip
"""Common severity spellings (lower case) → alert level; anything else is ``warning``."""

DEVICE_LABELS = ("instance", "host", "hostname", "device")
"""Labels that name the device, first non-empty wins (``instance`` loses its ``:port``)."""


class PayloadError(InputError):
    """A webhook body that cannot be mapped to alerts; the message says what and where."""


class ExternalAlert(msgspec.Struct, frozen=True, kw_only=True):
    """One alert as an external sender states it, normalized; ``raw`` is the alert as received."""

    source: Source
    status: Status
    fingerprint: str
    title: str
    summary: str
    severity: Level
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: float | None
    ends_at: float | None
    device: str | None
    generator_url: str = ""
    external_url: str = ""
    group_key: str = ""
    raw: dict[str, Any] = msgspec.field(default_factory=dict)


# --- shared helpers -----------------------------------------------------------------------


def decode_body(body: object) -> object:
    """The decoded JSON of ``body`` (bytes or str), or ``body`` itself when already decoded."""
    if isinstance(body, bytes | bytearray | memoryview | str):
        try:
            return msgspec.json.decode(body)
        except (msgspec.MsgspecError, RecursionError) as exc:
            raise PayloadError(f"body: not valid JSON ({exc})") from exc
    return body


def expect_object(value: object, where: str) -> dict[str, Any]:
    """``value`` as a JSON object, else ``PayloadError``."""
    if not isinstance(value, dict):
        raise PayloadError(f"{where}: expected an object, got {kind(value)}")
    if not all(isinstance(key, str) for key in value):
        raise PayloadError(f"{where}: expected an object with string keys")
    return value


def expect_list(value: object, where: str) -> list[Any]:
    """``value`` as a JSON array of at most ``MAX_ALERTS`` items, else ``PayloadError``."""
    if not isinstance(value, list):
        raise PayloadError(f"{where}: expected an array, got {kind(value)}")
    if len(value) > MAX_ALERTS:
        raise PayloadError(f"{where}: {len(value)} items, more than the {MAX_ALERTS} accepted")
    return value


def optional_str(obj: Mapping[str, Any], key: str, where: str) -> str:
    """The string at ``obj[key]``, ``""`` when absent or null, else ``PayloadError``."""
    value = obj.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise PayloadError(f"{where}.{key}: expected a string, got {kind(value)}")
    return value


def string_map(value: object, where: str, *, labels: bool = False) -> dict[str, str]:
    """A JSON object of strings (absent or null → ``{}``); label values are size-bounded."""
    if value is None:
        return {}
    obj = expect_object(value, where)
    out: dict[str, str] = {}
    for key, item in obj.items():
        if not isinstance(item, str):
            raise PayloadError(f"{where}.{cut(key)}: expected a string, got {kind(item)}")
        if labels:
            check_label_value(item, f"{where}.{cut(key)}")
        out[key] = item
    return out


def check_label_value(value: str, where: str) -> None:
    """Refuse a label value over ``MAX_LABEL_BYTES``."""
    if len(value) > MAX_LABEL_BYTES // 4 and len(utf8(value)) > MAX_LABEL_BYTES:
        raise PayloadError(f"{where}: label value over {MAX_LABEL_BYTES} bytes")


def utf8(text: str) -> bytes:
    """UTF-8 bytes of any Python string (lone surrogates included)."""
    return text.encode("utf-8", "surrogatepass")


_KINDS: tuple[tuple[type | tuple[type, ...], str], ...] = (
    (type(None), "null"),
    (bool, "a boolean"),
    ((int, float), "a number"),
    (str, "a string"),
    (list, "an array"),
    (dict, "an object"),
)


def kind(value: object) -> str:
    """The JSON name of a value's type, for messages."""
    return next((name for types, name in _KINDS if isinstance(value, types)), type(value).__name__)


def severity_level(word: str | None, table: Mapping[str, str] | None = None) -> Level:
    """The alert level of a severity word: ``table`` first, then ``SEVERITY_WORDS``."""
    if not word:
        return DEFAULT_LEVEL
    key = word.strip().lower()
    if table:
        mapped = {k.strip().lower(): v for k, v in table.items()}.get(key)
        if mapped is not None:
            return SEVERITY_WORDS.get(mapped.strip().lower(), DEFAULT_LEVEL)
    return SEVERITY_WORDS.get(key, DEFAULT_LEVEL)


def device_hint(labels: Mapping[str, str]) -> str | None:
    """The device an alert is about: ``instance`` without its port, else host/hostname/device."""
    for name in DEVICE_LABELS:
        value = labels.get(name, "").strip()
        if value:
            return strip_port(value) if name == "instance" else value
    return None


def strip_port(value: str) -> str:
    """``host:9100`` → ``host``, ``[::1]:9100`` → ``::1``, ``http://h:80/x`` → ``h``."""
    if "://" in value:
        value = value.split("://", 1)[1].split("/", 1)[0].rsplit("@", 1)[-1]
    if value.startswith("[") and "]" in value:
        return value[1 : value.index("]")] or value
    host, sep, port = value.rpartition(":")
    if sep and host and ":" not in host and port.isdigit():
        return host
    return value


def label_fingerprint(source: str, labels: Mapping[str, str]) -> str:
    """SHA-256 (hex) of the source and the sorted labels: stable across firing and resolved."""
    pairs = sorted(labels.items())
    digest = hashlib.sha256(utf8(source))
    for key, value in pairs:
        digest.update(b"\x00" + utf8(key) + b"\x01" + utf8(value))
    return digest.hexdigest()


_RFC3339 = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(?:\.(\d{1,12}))?([Zz]|[+-]\d\d:\d\d)",
    re.ASCII,
)
_EPOCH = datetime(1970, 1, 1)


def parse_time(value: object, where: str) -> float | None:
    """RFC 3339 → epoch seconds; absent, empty and Go's zero time (year 1) → ``None``."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise PayloadError(f"{where}: expected an RFC 3339 time, got {kind(value)}")
    match = _RFC3339.fullmatch(value.strip())
    if match is None:
        raise PayloadError(f"{where}: {value[:40]!r} is not an RFC 3339 time")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    if int(year) <= 1:
        return None
    try:
        naive = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second))
    except ValueError as exc:
        raise PayloadError(f"{where}: {value[:40]!r} is not a valid time ({exc})") from exc
    offset = 0
    if zone not in ("Z", "z"):
        offset = (int(zone[1:3]) * 60 + int(zone[4:6])) * 60 * (-1 if zone[0] == "-" else 1)
    seconds = (naive - _EPOCH).total_seconds() - offset
    return seconds + (float("0." + fraction) if fraction else 0.0)


# --- Alertmanager v4 (and the same shape from Grafana unified alerting) -------------------

Extra: TypeAlias = Callable[[dict[str, Any], str], dict[str, str]]


def parse_alertmanager(body: bytes | str | dict[str, Any]) -> list[ExternalAlert]:
    """Alertmanager webhook v4: one record per alert of the group, each with its own status.

    ``groupLabels`` and ``commonLabels`` are merged under each alert's labels (the alert's own
    win), ``commonAnnotations`` under its annotations. An alert without a ``status`` takes the
    group's. ``fingerprint`` is the sender's when present, else SHA-256 of the labels.
    """
    return map_grouped(body, "alertmanager")


def map_grouped(body: object, source: Source, extra: Extra | None = None) -> list[ExternalAlert]:
    """The Alertmanager-shaped group ``body`` as records; ``extra`` adds annotations."""
    group = expect_object(decode_body(body), "body")
    alerts = group.get("alerts")
    if alerts is None:
        raise PayloadError("alerts: missing")
    alerts = expect_list(alerts, "alerts")
    common = string_map(group.get("groupLabels"), "groupLabels", labels=True)
    common.update(string_map(group.get("commonLabels"), "commonLabels", labels=True))
    common_notes = string_map(group.get("commonAnnotations"), "commonAnnotations")
    group_status = group.get("status")
    context = {
        "external_url": optional_str(group, "externalURL", "body"),
        "group_key": optional_str(group, "groupKey", "body"),
    }
    records = []
    for index, item in enumerate(alerts):
        where = f"alerts[{index}]"
        alert = expect_object(item, where)
        labels = common | string_map(alert.get("labels"), f"{where}.labels", labels=True)
        notes = common_notes | string_map(alert.get("annotations"), f"{where}.annotations")
        if extra is not None:
            notes.update(extra(alert, where))
        status = alert.get("status", group_status)
        sent = optional_str(alert, "fingerprint", where)
        records.append(
            ExternalAlert(
                source=source,
                status=status_of(status, f"{where}.status"),
                fingerprint=sent or label_fingerprint(source, labels),
                title=labels.get("alertname")
                or notes.get("summary")
                or f"{source.capitalize()} alert",
                summary=summary_of(notes),
                severity=severity_level(labels.get("severity")),
                labels=labels,
                annotations=notes,
                starts_at=parse_time(alert.get("startsAt"), f"{where}.startsAt"),
                ends_at=parse_time(alert.get("endsAt"), f"{where}.endsAt"),
                device=device_hint(labels),
                generator_url=optional_str(alert, "generatorURL", where),
                raw=alert,
                **context,
            )
        )
    return records


def status_of(value: object, where: str) -> Status:
    """``firing`` or ``resolved`` (any case), else ``PayloadError``."""
    word = value.strip().lower() if isinstance(value, str) else value
    if word == "firing":
        return "firing"
    if word == "resolved":
        return "resolved"
    raise PayloadError(f"{where}: expected 'firing' or 'resolved', got {short(value)}")


def summary_of(notes: Mapping[str, str]) -> str:
    """The first of the ``summary``, ``description`` and ``message`` annotations."""
    return notes.get("summary") or notes.get("description") or notes.get("message") or ""


def cut(key: str) -> str:
    """A key for a message, cut to 60 characters."""
    return key if len(key) <= 60 else key[:59] + "…"


def short(value: object) -> str:
    """A value for a message, cut to 40 characters."""
    return repr(value)[:40] if isinstance(value, str) else kind(value)
