"""The parser section of an addon manifest: how a payload becomes named fields.

Five kinds, chosen by ``kind``: ``json`` (JSON paths to fields, optionally one record per item
of a list, in variants tried in order), ``regex`` (named groups), ``grok`` (a grok-style
pattern), ``kv`` (``key=value`` pairs) and ``snmp`` (trap OID → event name, varbind OID →
field). Each spec can say which fields it produces (``produces``), so the manifest can check
every field it refers to; ``kv`` without ``keys`` produces whatever the payload holds.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from opsconductor.addons.grok import grok_fields
from opsconductor.addons.jsonpath import compile_path

OID_PATTERN = r"^\.?[0-2](\.(0|[1-9][0-9]{0,9})){1,127}$"
FIELD_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,62}$"
"""A field a parser produces: a name usable as a regex group and a template field."""


class Strict(BaseModel):
    """A manifest section: unknown keys are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def matching(pattern: str, explain: str) -> Callable[[str], str]:
    """A validator refusing text that does not match ``pattern``, with ``explain`` as the reason
    (the pattern itself goes into the JSON Schema)."""
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if compiled.fullmatch(value) is None:
            raise ValueError(f"{value[:80]!r} {explain}")
        return value

    return check


def _oid(value: str) -> str:
    return value.removeprefix(".")


def _regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"bad regular expression at position {exc.pos}: {exc.msg}") from exc
    return value


def _single_path(value: str) -> str:
    if compile_path(value).fans_out:
        raise ValueError(f"{value!r} names a list of values ([*]); a field takes one value")
    return value


def _list_path(value: str) -> str:
    path = compile_path(value)
    if path.from_root or not path.steps or path.steps[-1] != -1 or path.steps.count(-1) > 1:
        raise ValueError(f"{value!r}: records are a list in the body, like alerts[*]")
    return value


def _path(value: str) -> str:
    compile_path(value)
    return value


Oid = Annotated[
    str,
    Field(
        description="A numeric OID such as 1.3.6.1.6.3.1.1.5.3.",
        json_schema_extra={"pattern": OID_PATTERN},
    ),
    AfterValidator(matching(OID_PATTERN, "is not a numeric OID (like 1.3.6.1.6.3.1.1.5.3)")),
    AfterValidator(_oid),
]
FieldName = Annotated[
    str,
    Field(json_schema_extra={"pattern": FIELD_PATTERN}),
    AfterValidator(
        matching(FIELD_PATTERN, "is not a field name (a letter or _, then letters, digits, _)")
    ),
]
Regex = Annotated[str, Field(min_length=1, max_length=2000), AfterValidator(_regex)]
ValuePath = Annotated[
    str,
    Field(min_length=1, max_length=300, description="labels.instance, $.receiver, items[0].x"),
    AfterValidator(_single_path),
]
RecordsPath = Annotated[
    str,
    Field(min_length=1, max_length=300, description="A list in the body: alerts[*]."),
    AfterValidator(_list_path),
]
WhenPath = Annotated[str, Field(min_length=1, max_length=300), AfterValidator(_path)]


class JsonVariant(Strict):
    """One shape of a JSON payload: used when ``when`` exists in the body (or always)."""

    when: WhenPath | None = Field(
        None, description="Use this variant when the body has this path (the first that does)."
    )
    records: RecordsPath | None = Field(
        None, description="One record per item of this list; the whole body when absent."
    )
    fields: dict[FieldName, ValuePath] = Field(
        min_length=1, description="Field name → JSON path in the record ($ for the body)."
    )


class JsonParser(Strict):
    """A JSON body: one variant (``records``, ``fields``) or several under ``variants``."""

    kind: Literal["json"]
    when: WhenPath | None = None
    records: RecordsPath | None = None
    fields: dict[FieldName, ValuePath] | None = None
    variants: list[JsonVariant] | None = Field(None, min_length=1, max_length=16)

    @model_validator(mode="after")
    def _one_form(self) -> JsonParser:
        flat = self.fields is not None or self.records is not None or self.when is not None
        if self.variants is not None and flat:
            raise ValueError("give either variants or when/records/fields, not both")
        if self.variants is None and not self.fields:
            raise ValueError("fields: map at least one field to a JSON path (or give variants)")
        return self

    def shapes(self) -> list[JsonVariant]:
        """The variants, in the order they are tried (the flat form is one variant)."""
        if self.variants is not None:
            return list(self.variants)
        return [JsonVariant(when=self.when, records=self.records, fields=self.fields or {})]

    def produces(self) -> set[str] | None:
        """Every field some variant fills."""
        return {name for shape in self.shapes() for name in shape.fields}


class RegexParser(Strict):
    """A regular expression whose named groups are the fields."""

    kind: Literal["regex"]
    pattern: Regex
    source: FieldName | None = Field(
        None, description="The text the pattern reads: message (syslog) or body (default)."
    )

    @field_validator("pattern")
    @classmethod
    def _groups(cls, value: str) -> str:
        if not re.compile(value).groupindex:
            raise ValueError("name the fields with groups: (?P<name>...)")
        return value

    def produces(self) -> set[str] | None:
        """The named groups."""
        return set(re.compile(self.pattern).groupindex)


class GrokParser(Strict):
    """A grok-style pattern: ``%{IP:client} %{WORD:method} %{GREEDYDATA:rest}``."""

    kind: Literal["grok"]
    definitions: dict[Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]{0,62}$")], str] = Field(
        default_factory=dict, description="Extra named patterns the pattern may use."
    )
    pattern: str = Field(min_length=1, max_length=2000)
    source: FieldName | None = None

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str, info: ValidationInfo) -> str:
        if "definitions" not in info.data:
            return value  # the definitions are at fault; they say so
        if not grok_fields(value, info.data["definitions"]):
            raise ValueError("capture at least one field: %{NAME:field}")
        return value

    def produces(self) -> set[str] | None:
        """The captured fields."""
        return set(grok_fields(self.pattern, self.definitions))


class KvParser(Strict):
    """``key=value`` pairs (values may be double-quoted)."""

    kind: Literal["kv"]
    pair_separator: str = Field(" ", min_length=1, max_length=4)
    value_separator: str = Field("=", min_length=1, max_length=4, validate_default=True)
    source: FieldName | None = None
    keys: list[FieldName] | None = Field(
        None, description="The keys to keep (all when absent); lets the manifest check names."
    )

    @field_validator("value_separator")
    @classmethod
    def _separators(cls, value: str, info: ValidationInfo) -> str:
        if value == info.data.get("pair_separator"):
            raise ValueError("must differ from pair_separator")
        return value

    def produces(self) -> set[str] | None:
        """The declared keys, or None: any key may appear."""
        return None if self.keys is None else set(self.keys)


class SnmpParser(Strict):
    """A trap: its OID names the event; varbinds become fields by OID prefix."""

    kind: Literal["snmp"]
    traps: dict[Oid, FieldName] = Field(
        default_factory=dict,
        description="Trap OID → event name (field `event`); others keep the numeric OID.",
    )
    varbinds: dict[Oid, FieldName] = Field(
        default_factory=dict,
        description="Varbind OID (prefix, instance suffix allowed) → field name.",
    )

    def produces(self) -> set[str] | None:
        """The varbind fields."""
        return set(self.varbinds.values())


Parser = Annotated[
    JsonParser | RegexParser | GrokParser | KvParser | SnmpParser,
    Field(discriminator="kind"),
]
PARSER_KINDS = ("json", "regex", "grok", "kv", "snmp")
