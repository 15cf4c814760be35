"""The second pass over a manifest: references between its sections.

The model checks each section alone; here the method is checked against ``match``, the
parser, ``auth`` and ``poll``, and every field a section names against the fields the parser
produces and the method provides. Each problem carries the path of the key at fault.
"""

from __future__ import annotations

import string
from collections.abc import Iterator
from typing import TYPE_CHECKING

from opsconductor.addons.methods import PARSERS_OF, TEXT_FIELDS
from opsconductor.addons.parsers import SnmpParser
from opsconductor.errors import Problem

if TYPE_CHECKING:
    from opsconductor.addons.manifest import Manifest


def reference_problems(m: Manifest) -> Iterator[Problem]:
    """Problems between sections: method vs. match/parser/auth/poll, and unknown fields."""
    yield from _method_sections(m)
    known = m.fields()
    for loc, ref in _field_refs(m):
        head = ref.split(".", 1)[0]
        if known is not None and head not in known:
            yield Problem(loc, f"unknown field {head!r}; known: {', '.join(sorted(known))}")
    if isinstance(m.parser, SnmpParser) and m.match.oids:
        for oid in m.parser.traps:
            if not any(oid == p or oid.startswith(p + ".") for p in m.match.oids):
                yield Problem(("parser", "traps", oid), "not under any OID prefix of match.oids")


def _method_sections(m: Manifest) -> Iterator[Problem]:
    method = m.method
    if m.parser.kind not in PARSERS_OF[method]:
        kinds = ", ".join(PARSERS_OF[method])
        yield Problem(("parser", "kind"), f"a {method} addon parses with {kinds}")
    needs = {"snmp_trap": "oids", "syslog": "programs"}.get(method)
    if needs is not None and getattr(m.match, needs) is None:
        yield Problem(("match", needs), f"required for a {method} addon")
    takes = {"snmp_trap": "oids", "webhook": "path", "syslog": "programs"}.get(method)
    for key in ("oids", "path", "programs"):
        if key != takes and getattr(m.match, key) is not None:
            yield Problem(("match", key), f"not used by a {method} addon")
    if m.auth is not None and method != "webhook":
        yield Problem(("auth",), "only webhook addons authenticate callers")
    if method == "api_poll" and m.poll is None:
        yield Problem(("poll",), "required for an api_poll addon")
    if method != "api_poll" and m.poll is not None:
        yield Problem(("poll",), f"not used by a {method} addon")
    source = getattr(m.parser, "source", None)
    if source is not None and source not in TEXT_FIELDS[method]:
        texts = ", ".join(TEXT_FIELDS[method])
        yield Problem(("parser", "source"), f"a {method} event's text is one of: {texts}")
    for section in ("severity", "domain", "category"):
        mapping = getattr(m, section)
        if mapping.map and mapping.field is None:
            yield Problem((section, "field"), "required when map is given")


def _field_refs(m: Manifest) -> Iterator[tuple[tuple[int | str, ...], str]]:
    """Every field reference of the manifest, with where it is."""
    for index, ref in enumerate(m.fingerprint):
        yield ("fingerprint", index), ref
    for section in ("severity", "domain", "category"):
        field = getattr(m, section).field
        if field is not None:
            yield (section, "field"), field
    if m.device.field is not None:
        yield ("device", "field"), m.device.field
    for index, ref in enumerate(m.device.fallbacks):
        yield ("device", "fallbacks", index), ref
    if m.clear is not None:
        for index, pair in enumerate(m.clear.pairs):
            yield ("clear", "pairs", index, "field"), pair.field
            for position, ref in enumerate(pair.match_fields):
                yield ("clear", "pairs", index, "match_fields", position), ref
        if m.clear.status is not None:
            yield ("clear", "status", "field"), m.clear.status.field
    for section in ("title", "summary"):
        template = getattr(m, section)
        for _text, name, _spec, _conv in string.Formatter().parse(template or ""):
            if name:
                yield (section,), name.split("[", 1)[0]
