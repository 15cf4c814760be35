"""Addon manifests: the built-ins validate, errors name the field at fault, the published JSON
Schema is the code's and accepts every built-in."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from tests.conftest import ROOT

from opsconductor.addons.builtin_manifests import builtin_manifests, load_manifest_file
from opsconductor.addons.grok import grok_regex
from opsconductor.addons.jsonpath import compile_path, resolve
from opsconductor.addons.manifest import (
    SCHEMA_ID,
    manifest_document,
    manifest_json_schema,
    parse_manifest,
)
from opsconductor.addons.parsers import JsonParser, SnmpParser
from opsconductor.errors import AddonError

SCHEMA_FILE = ROOT / "docs" / "addon-manifest.schema.json"


def webhook(**overrides: Any) -> dict[str, Any]:
    """A valid webhook manifest; keyword arguments replace its keys."""
    document: dict[str, Any] = {
        "id": "site.hook",
        "name": "Site hook",
        "version": "1.0.0",
        "method": "webhook",
        "parser": {"kind": "json", "fields": {"host": "host", "labels": "labels"}},
        "fingerprint": ["host"],
    }
    document.update(overrides)
    return document


def problems(document: Any) -> list[tuple[str, str]]:
    """``(path, message)`` of every problem of an invalid manifest."""
    with pytest.raises(AddonError) as caught:
        parse_manifest(document)
    assert caught.value.status_code == 422
    return [(p.where(), p.msg) for p in caught.value.problems]


def test_every_builtin_manifest_validates() -> None:
    manifests = builtin_manifests()
    assert set(manifests) == {
        "generic-snmp", "alertmanager", "grafana", "generic-json", "openwrt-syslog",
    }  # fmt: skip
    methods = {m.id: m.method for m in manifests.values()}
    assert methods["generic-snmp"] == "snmp_trap"
    assert methods["openwrt-syslog"] == "syslog"
    assert {methods[i] for i in ("alertmanager", "grafana", "generic-json")} == {"webhook"}
    for manifest in manifests.values():
        again = parse_manifest(manifest_document(manifest))
        assert again == manifest, manifest.id


def test_generic_snmp_pairs_link_down_with_link_up() -> None:
    snmp = builtin_manifests()["generic-snmp"]
    assert isinstance(snmp.parser, SnmpParser)
    assert snmp.parser.traps == {
        "1.3.6.1.6.3.1.1.5.1": "coldStart",
        "1.3.6.1.6.3.1.1.5.2": "warmStart",
        "1.3.6.1.6.3.1.1.5.3": "linkDown",
        "1.3.6.1.6.3.1.1.5.4": "linkUp",
        "1.3.6.1.6.3.1.1.5.5": "authenticationFailure",
    }
    assert snmp.parser.varbinds["1.3.6.1.2.1.2.2.1.1"] == "ifIndex"
    assert snmp.clear is not None
    pair = snmp.clear.pairs[0]
    assert (pair.clears, pair.by, pair.field, pair.match_fields) == (
        "linkDown", "linkUp", "event", ["ifIndex"],
    )  # fmt: skip
    assert snmp.device.field == "agent_address"
    assert snmp.severity.map["linkDown"] == "major"


def test_alertmanager_and_grafana_read_the_real_payloads(shared_data: Any) -> None:
    """The JSON paths of the built-in webhooks find fields in the shared payloads."""
    am = builtin_manifests()["alertmanager"]
    assert isinstance(am.parser, JsonParser)
    body = json.loads(
        (shared_data / "webhooks/alertmanager/zulip_alertmanager_alert.json").read_text()
    )
    (shape,) = am.parser.shapes()
    assert shape.records is not None
    records = resolve(compile_path(shape.records), body, body)
    assert records
    assert resolve(compile_path(shape.fields["status"]), records[0], body) in (
        ["firing"], ["resolved"],
    )  # fmt: skip
    assert am.auth is not None and am.auth.type == "token"
    assert am.clear is not None and am.clear.status is not None
    assert am.clear.status.resolved == ["resolved"]
    assert am.device.field == "labels.instance"

    grafana = builtin_manifests()["grafana"]
    assert isinstance(grafana.parser, JsonParser)
    unified, legacy = grafana.parser.shapes()
    for name, expected in (
        ("grafana_docs_unified_webhook_example.json", unified),
        ("zulip_grafana_legacy_alerting.json", legacy),
    ):
        payload = json.loads((shared_data / "webhooks/grafana" / name).read_text())
        chosen = next(
            s for s in (unified, legacy) if s.when is None or resolve(compile_path(s.when), payload)
        )
        assert chosen is expected, name


def test_schema_file_is_the_codes_output() -> None:
    published = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert published == manifest_json_schema(), (
        "run: opsconductor addons schema > docs/addon-manifest.schema.json"
    )
    assert published["$id"] == SCHEMA_ID


def test_schema_accepts_the_builtins_and_refuses_what_the_model_refuses() -> None:
    validator = jsonschema.Draft202012Validator(manifest_json_schema())
    for manifest in builtin_manifests().values():
        validator.validate(manifest_document(manifest))
    for bad in (
        webhook(id="Bad Id"),
        webhook(method="email"),
        webhook(parser={"kind": "xml"}),
        webhook(severity={"default": "fatal"}),
        webhook(surprise=1),
    ):
        assert list(validator.iter_errors(bad)), bad
        with pytest.raises(AddonError):
            parse_manifest(bad)


def test_errors_name_the_field_path() -> None:
    assert problems(webhook(id="Bad Id")) == [
        ("id", "'Bad Id' is not an id: 2 to 63 of a-z, 0-9, ., _ and -, starting with a-z or 0-9")
    ]
    assert problems(webhook(parser={"kind": "json", "fields": {"a": "alerts[*]"}})) == [
        ("parser.fields.a", "'alerts[*]' names a list of values ([*]); a field takes one value")
    ]
    assert problems(webhook(parser={"kind": "xml"})) == [
        ("parser", "unknown parser kind; one of: json, regex, grok, kv, snmp")
    ]
    assert problems(webhook(parser={"kind": "json", "fields": {"a": "a"}, "x": 1})) == [
        ("parser.x", "unknown key")
    ]
    assert problems(webhook(severity={"field": "host", "map": {"x": "fatal"}}))[0][0] == (
        "severity.map.x"
    )
    assert problems(webhook(auth={"type": "token", "algorithm": "sha256"})) == [
        ("auth.algorithm", "not used by auth type 'token'")
    ]
    assert problems(webhook(version="one"))[0][0] == "version"
    assert problems([1]) == [("(manifest)", "a manifest is a mapping, not list")]


def test_references_are_checked_against_the_parsers_fields() -> None:
    found = problems(
        webhook(
            fingerprint=["host", "nope"],
            device={"field": "labels.instance", "fallbacks": ["where"]},
            clear={"pairs": [{"clears": "down", "by": "up", "match_fields": ["port"]}]},
            title="{host} {missing}",
            severity={"map": {"x": "major"}},
        )
    )
    known = "known: body, host, labels, source_address"
    assert found == [
        ("severity.field", "required when map is given"),
        ("fingerprint.1", f"unknown field 'nope'; {known}"),
        ("device.fallbacks.0", f"unknown field 'where'; {known}"),
        ("clear.pairs.0.field", f"unknown field 'event'; {known}"),
        ("clear.pairs.0.match_fields.0", f"unknown field 'port'; {known}"),
        ("title", f"unknown field 'missing'; {known}"),
    ]


def test_method_and_sections_must_agree() -> None:
    assert problems(webhook(method="snmp_trap")) == [
        ("parser.kind", "a snmp_trap addon parses with snmp"),
        ("match.oids", "required for a snmp_trap addon"),
    ]
    syslog = webhook(
        method="syslog",
        match={"programs": ["^netifd$"], "path": "x1"},
        parser={"kind": "regex", "pattern": "(?P<host2>.+)", "source": "body"},
        fingerprint=["host2"],
        auth={"type": "none"},
    )
    assert problems(syslog) == [
        ("match.path", "not used by a syslog addon"),
        ("auth", "only webhook addons authenticate callers"),
        ("parser.source", "a syslog event's text is one of: message, program, host"),
    ]
    assert problems(webhook(method="api_poll")) == [("poll", "required for an api_poll addon")]
    trap = webhook(
        method="snmp_trap",
        match={"oids": [".1.3.6.1.4.1.9"]},
        parser={"kind": "snmp", "traps": {"1.3.6.1.6.3.1.1.5.3": "linkDown", "IF-MIB::x": "y"}},
        fingerprint=["event"],
    )
    assert problems(trap) == [
        (
            "parser.traps.IF-MIB::x.[key]",
            "'IF-MIB::x' is not a numeric OID (like 1.3.6.1.6.3.1.1.5.3)",
        )
    ]
    del trap["parser"]["traps"]["IF-MIB::x"]
    assert problems(trap) == [
        ("parser.traps.1.3.6.1.6.3.1.1.5.3", "not under any OID prefix of match.oids")
    ]
    trap["match"]["oids"].append("1.3.6.1.6.3.1.1.5")
    assert parse_manifest(trap).match.oids == ["1.3.6.1.4.1.9", "1.3.6.1.6.3.1.1.5"]


def test_text_parsers() -> None:
    base = webhook(method="syslog", match={"programs": ["^app$"]})
    regex = {"kind": "regex", "pattern": "^(?P<user>\\w+) from (?P<ip>\\S+)"}
    assert parse_manifest(base | {"parser": regex, "fingerprint": ["user", "ip", "host"]})
    assert problems(base | {"parser": {"kind": "regex", "pattern": "a("}})[0] == (
        "parser.pattern",
        "bad regular expression at position 1: missing ), unterminated subpattern",
    )
    assert problems(base | {"parser": {"kind": "regex", "pattern": "abc"}})[0] == (
        "parser.pattern",
        "name the fields with groups: (?P<name>...)",
    )
    grok = {
        "kind": "grok",
        "pattern": "%{IP:client} %{VERB:verb}",
        "definitions": {"VERB": "GET|POST"},
    }
    manifest = parse_manifest(base | {"parser": grok, "fingerprint": ["client", "verb"]})
    assert manifest.fields() == {"client", "verb", "message", "program", "host", "source_address"}
    assert problems(base | {"parser": {"kind": "grok", "pattern": "%{NOPE:x}"}})[0][0] == (
        "parser.pattern"
    )
    kv = {"kind": "kv"}
    assert parse_manifest(base | {"parser": kv, "fingerprint": ["anything"]}).fields() is None
    kv_same = {"kind": "kv", "pair_separator": "="}
    assert problems(base | {"parser": kv_same})[0] == (
        "parser.value_separator",
        "must differ from pair_separator",
    )


def test_json_variants_and_paths() -> None:
    both = {"kind": "json", "fields": {"a": "a"}, "variants": [{"fields": {"b": "b"}}]}
    assert problems(webhook(parser=both))[0][1] == (
        "give either variants or when/records/fields, not both"
    )
    bad_records = {"kind": "json", "records": "alerts", "fields": {"a": "a"}}
    assert problems(webhook(parser=bad_records, fingerprint=["a"]))[0][0] == "parser.records"
    path = compile_path("$.items[1].labels.instance")
    body = {"items": [{}, {"labels": {"instance": "r1:9100"}}]}
    assert (path.from_root, resolve(path, None, body)) == (True, ["r1:9100"])
    assert resolve(compile_path("alerts[*].status"), {"alerts": [{"status": "a"}, {}]}) == ["a"]
    with pytest.raises(ValueError, match="position 2"):
        compile_path("a..b")


def test_webhook_auth_defaults() -> None:
    hmac = parse_manifest(webhook(auth={"type": "hmac"})).auth
    assert hmac is not None
    assert (hmac.header, hmac.algorithm, hmac.encoding) == ("X-Signature", "sha256", "hex")
    token = parse_manifest(webhook(auth={"type": "token", "scheme": "Bearer"})).auth
    assert token is not None and (token.header, token.scheme) == ("Authorization", "Bearer")
    assert problems(webhook(auth={"type": "token", "realm": "x"})) == [
        ("auth.realm", "unknown key")
    ]
    properties = manifest_json_schema()["$defs"]["WebhookAuth"]["properties"]
    assert not [name for name in properties if "secret" in name or "key" in name]
    assert problems(webhook(auth={"type": "token", "secret": "s3cr3t"})) == [
        (
            "auth.secret",
            "unknown key: the secret is set on the installed addon, not in its manifest",
        )
    ]


def test_grok_compiles_to_named_groups() -> None:
    assert grok_regex("%{INT:n} %{WORD}") == r"(?P<n>[+-]?\d+) (?:\w+)"
    with pytest.raises(ValueError, match="nest too deeply"):
        grok_regex("%{A:x}", {"A": "%{A}"})


def test_manifest_files(tmp_path: Any) -> None:
    good = tmp_path / "hook.json"
    good.write_text(json.dumps(webhook()))
    assert load_manifest_file(good).id == "site.hook"
    bad = tmp_path / "hook.yaml"
    bad.write_text("id: [unclosed\n")
    with pytest.raises(AddonError, match="not valid YAML or JSON"):
        load_manifest_file(bad)
