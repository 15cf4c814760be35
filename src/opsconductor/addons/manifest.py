"""Addon manifests: the validated, declarative description of one source of events.

A manifest says how events arrive (``method``: ``snmp_trap``, ``webhook``, ``syslog``,
``api_poll``), which of them it takes (``match``), how a payload becomes fields (``parser``,
see ``addons/parsers.py``), and how fields become an alert: severity, domain and category
mappings, the fingerprint, the device, the clear pairing, a title. A webhook addon names how
callers authenticate (``auth``); the secret itself is set per installed addon, never here.

:func:`parse_manifest` checks a mapping in two passes — the model (types, patterns, one
section per kind), then the references between sections (``references.py``: every field a
section names must be one the parser produces or the method provides) — and raises
:class:`~opsconductor.errors.AddonError` whose ``problems`` name each field at fault by its
path. :func:`manifest_json_schema` is the published JSON Schema
(``docs/addon-manifest.schema.json``); it covers the first pass.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from opsconductor.addons.methods import METHOD_FIELDS
from opsconductor.addons.parsers import (
    PARSER_KINDS,
    Oid,
    Parser,
    Regex,
    Strict,
    matching,
)
from opsconductor.addons.references import reference_problems
from opsconductor.errors import AddonError, Problem

SCHEMA_ID = "urn:opsconductor:schema:addon-manifest:1"
"""The ``$id`` of the published JSON Schema."""

Method = Literal["snmp_trap", "webhook", "syslog", "api_poll"]
Level = Literal["critical", "major", "minor", "warning", "info"]
_REF = r"^[A-Za-z_][A-Za-z0-9_]{0,62}(\.[A-Za-z0-9_./-]{1,200})?$"
_SLUG = r"^[a-z0-9][a-z0-9_.-]{1,62}$"
_DOMAIN = r"^[a-z][a-z0-9_-]{0,31}$"
FieldRef = Annotated[
    str,
    Field(
        description="A field, or a key inside an object field: labels.instance.",
        json_schema_extra={"pattern": _REF},
    ),
    AfterValidator(matching(_REF, "is not a field (a name, or name.key: labels.instance)")),
]
Slug = Annotated[
    str,
    Field(json_schema_extra={"pattern": _SLUG}),
    AfterValidator(
        matching(_SLUG, "is not an id: 2 to 63 of a-z, 0-9, ., _ and -, starting with a-z or 0-9")
    ),
]
Domain = Annotated[
    str,
    Field(json_schema_extra={"pattern": _DOMAIN}),
    AfterValidator(matching(_DOMAIN, "is not a domain: up to 32 of a-z, 0-9, _ and -")),
]
Template = Annotated[str, Field(min_length=1, max_length=500)]


def _unique_keys(mapping: dict[str, Any]) -> dict[str, Any]:
    seen: dict[str, str] = {}
    for key in mapping:
        folded = key.casefold()
        if folded in seen:
            raise ValueError(f"keys {seen[folded]!r} and {key!r} differ only in case")
        seen[folded] = key
    return mapping


class Match(Strict):
    """Which events the addon takes: by trap OID prefix, webhook path or syslog program."""

    oids: list[Oid] | None = Field(None, min_length=1, description="snmp_trap: OID prefixes.")
    path: Slug | None = Field(None, description="webhook: /api/v1/webhooks/<path> (the id).")
    programs: list[Regex] | None = Field(
        None, min_length=1, description="syslog: regular expressions matched on the program."
    )


class SeverityMap(Strict):
    """The alert severity: a field's value looked up in ``map`` (ignoring case), or ``default``."""

    field: FieldRef | None = None
    map: Annotated[dict[str, Level], BeforeValidator(_unique_keys)] = Field(default_factory=dict)
    default: Level = "warning"


class DomainMap(Strict):
    """The event's domain (subject ``events.<domain>``): a field's value through ``map``."""

    field: FieldRef | None = None
    map: Annotated[dict[str, Domain], BeforeValidator(_unique_keys)] = Field(default_factory=dict)
    default: Domain = "system"


class CategoryMap(Strict):
    """A finer category (``interface``, ``reboot``…): a field's value through ``map``."""

    field: FieldRef | None = None
    map: Annotated[dict[str, str], BeforeValidator(_unique_keys)] = Field(default_factory=dict)
    default: str = Field("", max_length=100)


class ClearPair(Strict):
    """An event ``by`` clears the alert of an event ``clears`` with equal ``match_fields``."""

    clears: str = Field(min_length=1, max_length=200)
    by: str = Field(min_length=1, max_length=200)
    field: FieldRef = Field("event", description="The field holding the event's name.")
    match_fields: list[FieldRef] = Field(default_factory=list, max_length=16)

    @model_validator(mode="after")
    def _distinct(self) -> ClearPair:
        if self.clears == self.by:
            raise ValueError("an event cannot clear itself: clears and by must differ")
        return self


class ClearStatus(Strict):
    """A status field whose value says the problem is over (``status: resolved``)."""

    field: FieldRef
    resolved: list[str] = Field(min_length=1, max_length=16)


class Clear(Strict):
    """How an alert clears: by a paired event, or by a status value, or both."""

    pairs: list[ClearPair] = Field(default_factory=list, max_length=64)
    status: ClearStatus | None = None

    @model_validator(mode="after")
    def _something(self) -> Clear:
        if not self.pairs and self.status is None:
            raise ValueError("give pairs, status or both (or leave clear out)")
        return self


class DeviceMap(Strict):
    """Which field names the device; the first of ``field`` and ``fallbacks`` present wins,
    then the method's own (a trap's agent address, a syslog host, a webhook's sender)."""

    field: FieldRef | None = None
    fallbacks: list[FieldRef] = Field(default_factory=list, max_length=8)
    strip_port: bool = Field(True, description="host:9100 names the device host.")


_AUTH_OPTIONS = frozenset({"header", "scheme", "algorithm", "encoding", "prefix"})
_AUTH_OPTIONS_OF: dict[str, frozenset[str]] = {
    "none": frozenset(),
    "token": frozenset({"header", "scheme"}),
    "hmac": frozenset({"header", "algorithm", "encoding", "prefix"}),
}


class WebhookAuth(Strict):
    """How a webhook caller proves itself. The secret is set on the installed addon."""

    type: Literal["none", "token", "hmac"] = "none"
    header: str | None = Field(None, pattern=r"^[A-Za-z0-9-]{1,64}$")
    scheme: str | None = Field(None, pattern=r"^[A-Za-z]{1,20}$", description="token: Bearer")
    algorithm: Literal["sha1", "sha256", "sha512"] | None = None
    encoding: Literal["hex", "base64"] | None = None
    prefix: str | None = Field(None, max_length=20, description="hmac: e.g. sha256=")

    @model_validator(mode="before")
    @classmethod
    def _defaults(cls, value: Any) -> Any:
        if not isinstance(value, Mapping):
            return value
        kind = value.get("type", "none")
        if kind == "token":
            return {"header": "Authorization", **value}
        if kind == "hmac":
            defaults = {"header": "X-Signature", "algorithm": "sha256", "encoding": "hex"}
            return {**defaults, **value}
        return value

    @field_validator(*sorted(_AUTH_OPTIONS))
    @classmethod
    def _used(cls, value: str | None, info: ValidationInfo) -> str | None:
        kind = info.data.get("type")
        if value is not None and kind is not None and info.field_name not in _AUTH_OPTIONS_OF[kind]:
            raise ValueError(f"not used by auth type {kind!r}")
        return value


class Poll(Strict):
    """api_poll: the URL fetched every ``interval`` seconds."""

    url: str = Field(pattern=r"^https?://[^\s]+$", max_length=2000)
    interval: int = Field(60, ge=10, le=86400)
    timeout: int = Field(10, ge=1, le=60)


class Manifest(Strict):
    """An addon manifest (see docs/addons.md)."""

    id: Slug = Field(description="Lower-case letters, digits, ., _ and -; 2 to 63 characters.")
    name: str = Field(min_length=1, max_length=100)
    version: str = Field(
        pattern=r"^\d{1,6}\.\d{1,6}(\.\d{1,6})?(-[0-9A-Za-z.-]{1,40})?(\+[0-9A-Za-z.-]{1,40})?$",
        description="Semantic version: 1.0, 1.2.3, 2.0.0-rc.1.",
    )
    description: str = Field("", max_length=2000)
    method: Method
    match: Match = Field(default_factory=Match)
    parser: Parser
    severity: SeverityMap = Field(default_factory=SeverityMap)
    domain: DomainMap = Field(default_factory=DomainMap)
    category: CategoryMap = Field(default_factory=CategoryMap)
    clear: Clear | None = None
    fingerprint: list[FieldRef] = Field(min_length=1, max_length=16)
    device: DeviceMap = Field(default_factory=DeviceMap)
    title: Template | None = Field(None, description="Alert title, with {field} references.")
    summary: Template | None = None
    auth: WebhookAuth | None = Field(None, description="webhook only.")
    poll: Poll | None = Field(None, description="api_poll only.")

    @field_validator("title", "summary")
    @classmethod
    def _template(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                list(string.Formatter().parse(value))
            except ValueError as exc:
                raise ValueError(f"bad template: {exc}") from exc
        return value

    def fields(self) -> set[str] | None:
        """Fields an event of this addon has (None: any — a ``kv`` parser without ``keys``)."""
        produced = self.parser.produces()
        return None if produced is None else produced | set(METHOD_FIELDS[self.method])

    def webhook_path(self) -> str | None:
        """The path segment of a webhook addon (its id unless ``match.path`` says otherwise)."""
        return (self.match.path or self.id) if self.method == "webhook" else None


def manifest_document(manifest: Manifest) -> dict[str, Any]:
    """The JSON document stored (and served) for ``manifest``; it parses back to an equal one."""
    document: dict[str, Any] = manifest.model_dump(mode="json", exclude_none=True)
    return document


def manifest_json_schema() -> dict[str, Any]:
    """The published JSON Schema of a manifest (draft 2020-12)."""
    schema = Manifest.model_json_schema(mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **schema,
        "title": "OpsConductor addon manifest",
    }


def _loc(raw: tuple[int | str, ...]) -> tuple[int | str, ...]:
    """A pydantic location without the tag of the parser union (``parser.json.fields``)."""
    parts = list(raw)
    for index in range(len(parts) - 1):
        if parts[index] == "parser" and parts[index + 1] in PARSER_KINDS:
            del parts[index + 1]
            break
    return tuple(parts)


_SECRETISH = re.compile(r"secret|password|token|key", re.IGNORECASE)


def _message(error: Mapping[str, Any]) -> str:
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        if error["loc"][:1] == ("auth",) and _SECRETISH.search(str(error["loc"][-1])):
            return "unknown key: the secret is set on the installed addon, not in its manifest"
        return "unknown key"
    if error["type"] == "union_tag_invalid":
        return f"unknown parser kind; one of: {', '.join(PARSER_KINDS)}"
    return message


def parse_manifest(document: Any) -> Manifest:
    """Validate a manifest document; AddonError lists every problem by its field path."""
    if not isinstance(document, Mapping):
        kind = type(document).__name__
        raise AddonError("(no id)", [Problem((), f"a manifest is a mapping, not {kind}")])
    name = str(document.get("id") or "(no id)")
    try:
        manifest = Manifest.model_validate(dict(document))
    except ValidationError as exc:
        problems = [
            Problem(_loc(tuple(e["loc"])), _message(e), str(e["type"])) for e in exc.errors()
        ]
        raise AddonError(name, problems) from exc
    problems = list(reference_problems(manifest))
    if problems:
        raise AddonError(name, problems)
    return manifest


__all__ = [
    "SCHEMA_ID",
    "Manifest",
    "manifest_document",
    "manifest_json_schema",
    "parse_manifest",
]
