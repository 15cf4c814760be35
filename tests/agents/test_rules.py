"""Rule documents: parsing, durations, round-trips, and a precise message for each mistake."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from opsconductor.agents.packs import builtin_packs, load_pack, load_rules_file
from opsconductor.agents.rules import Rule, parse_duration, parse_rule
from opsconductor.errors import InputError, RuleError
from opsconductor.severity import ALERT_LEVELS, raise_level

BRUTE_FORCE: dict[str, Any] = {
    "id": "security.ssh_brute_force",
    "agent": "security",
    "title": "SSH brute force from {src}",
    "description": "Many failed SSH passwords from one address in a short time.",
    "severity": "major",
    "kind": "threshold",
    "match": {
        "program": ["dropbear", "sshd"],
        "message": r"bad password attempt for .* from (?P<src>[0-9a-f.:]+)",
    },
    "fingerprint": ["device_id", "src"],
    "threshold": {"count": 5, "window": "2m"},
    "cooldown": "15m",
    "escalate_after": 10,
}

LINK_STATE: dict[str, Any] = {
    "id": "wan.link",
    "agent": "wan",
    "title": "Link {ifname} down",
    "severity": "minor",
    "kind": "state",
    "fingerprint": ["device_id", "ifname"],
    "state": {
        "down": {"message": r"interface '(?P<ifname>\w+)' is now down"},
        "up": {"message": r"interface '(?P<ifname>\w+)' is now up"},
        "hold": "5m",
        "flap": {"count": 4, "window": "10m"},
    },
}


def with_changes(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """``base`` with keys replaced; a value of None removes the key."""
    document = {**base, **changes}
    return {key: value for key, value in document.items() if value is not None}


def refusal(document: dict[str, Any]) -> str:
    with pytest.raises(RuleError) as caught:
        parse_rule(document)
    return str(caught.value)


def test_a_rule_document_parses_with_durations_in_seconds() -> None:
    rule = parse_rule(BRUTE_FORCE)
    assert rule.threshold is not None
    assert (rule.threshold.count, rule.threshold.window) == (5, 120.0)
    assert rule.cooldown == 900.0
    assert rule.match is not None and rule.match.program == ["dropbear", "sshd"]
    assert rule.enabled is True
    assert rule.key_fields() == ["device_id", "src"]


@pytest.mark.parametrize("document", [BRUTE_FORCE, LINK_STATE])
def test_the_stored_document_parses_back_to_the_same_rule(document: dict[str, Any]) -> None:
    rule = parse_rule(document)
    stored = rule.model_dump(mode="json", exclude_none=True)
    assert parse_rule(stored) == rule


@pytest.mark.parametrize(
    ("text", "seconds"),
    [(90, 90.0), (1.5, 1.5), ("90", 90.0), ("30s", 30.0), ("5m", 300.0), ("2h", 7200.0),
     ("1d", 86400.0), ("1.5m", 90.0)],
)  # fmt: skip
def test_durations_are_seconds_or_a_number_with_a_unit(text: Any, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_a_fingerprint_defaults_to_the_device() -> None:
    rule = parse_rule(with_changes(BRUTE_FORCE, fingerprint=None, title="x", kind="match",
                                   threshold=None))  # fmt: skip
    assert rule.fingerprint == ["device_id"]


def test_rule_error_is_an_input_error_carrying_its_message() -> None:
    error = RuleError("rule 'x': title: bad")
    assert isinstance(error, InputError)
    assert str(error) == "rule 'x': title: bad"


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"match": {"message": "from (?P<src>[0-9"}},
            "match.message: bad regular expression at position",
        ),
        (
            {"match": {"message_not": "(x"}},
            "match.message_not: bad regular expression at position 0",
        ),
        ({"threshold": {"count": 1, "window": 60}}, "threshold.count"),
        ({"threshold": {"count": 5, "window": 0}}, "threshold.window: must be positive"),
        ({"threshold": {"count": 5, "window": "-1"}}, "threshold.window"),
        (
            {"threshold": {"count": 5, "window": "8d"}},
            "threshold.window: must be positive and at most 7 days",
        ),
        (
            {"threshold": {"count": 5, "window": "soon"}},
            "threshold.window: 'soon' is not a duration",
        ),
        (
            {"fingerprint": ["device_id", "source_ip"]},
            "fingerprint: unknown field 'source_ip'; known: device_id",
        ),
        ({"title": "Attack from {attacker}"}, "title: unknown field 'attacker'"),
        ({"summary": "{nope} happened"}, "summary: unknown field 'nope'"),
        (
            {"threshold": {"count": 5, "window": 60, "key": ["zz"]}},
            "threshold.key: unknown field 'zz'",
        ),
        ({"threshold": None}, "threshold: a rule of kind threshold needs this section"),
        ({"absence": {"after": 60}}, "absence: a rule of kind threshold cannot have this section"),
        ({"match": None}, "match: a rule of kind threshold needs match conditions"),
        ({"agent": "printer"}, "agent: Input should be 'wifi', 'security'"),
        ({"kind": "sometimes"}, "kind: Input should be 'match'"),
        ({"severity": "urgent"}, "severity: Input should be 'info'"),
        ({"colour": "red"}, "colour: unknown key; allowed: id, agent, title"),
        (
            {"threshold": {"count": 5, "window": 60, "slack": 1}},
            "threshold.slack: unknown key; allowed: count, window, key",
        ),
        (
            {"match": {"program": "x", "text": "y"}},
            "match.text: unknown key; allowed: program, domain",
        ),
        ({"match": {"fields": {"colour": {"eq": "red"}}}}, "match: fields: unknown field 'colour'"),
        (
            {"match": {"fields": {"extra.x": {"like": "red"}}}},
            "match.fields: extra.x: unknown operator 'like'",
        ),
        (
            {"match": {"fields": {"extra.x": {"in": "red"}}}},
            "match.fields: extra.x.in: needs a list",
        ),
        (
            {"match": {"fields": {"extra.x": {"gt": "lots"}}}},
            "match.fields: extra.x.gt: needs a number",
        ),
        (
            {"match": {"fields": {"extra.x": {"matches": "(("}}}},
            "extra.x.matches: bad regular expression",
        ),
        ({"match": {"facility": "kitchen"}}, "match.facility: unknown facility 'kitchen'"),
        (
            {"match": {"severity_at_least": "loud"}},
            "match.severity_at_least: unknown severity 'loud'",
        ),
        ({"id": "has space"}, "id: use 1-200 letters"),
        ({"escalate_after": 0}, "escalate_after"),
        (
            {"clear": {"message": "login ok"}},
            "clear.message: must capture the fingerprint field 'src'",
        ),
    ],
)
def test_a_bad_rule_is_refused_naming_the_rule_and_the_field(
    changes: dict[str, Any], expected: str
) -> None:
    document = with_changes(BRUTE_FORCE, **changes)
    message = refusal(document)
    assert message.startswith(f"rule {document.get('id')!r}: ")
    assert expected in message


def test_a_state_rule_needs_hold_or_flap() -> None:
    state = {key: value for key, value in LINK_STATE["state"].items() if key in ("down", "up")}
    assert "state: a state rule needs hold, flap or both" in refusal(
        with_changes(LINK_STATE, state=state)
    )


def test_a_state_rule_refuses_another_kinds_section() -> None:
    message = refusal(with_changes(LINK_STATE, threshold={"count": 2, "window": 60}))
    assert "threshold: a rule of kind state cannot have this section" in message


def test_a_rule_without_id_is_named_as_such() -> None:
    assert refusal(with_changes(BRUTE_FORCE, id=None)).startswith("rule '(no id)': id:")


def test_extra_and_structured_data_fields_are_known() -> None:
    rule = parse_rule(with_changes(
        BRUTE_FORCE, fingerprint=["device_id", "extra.mac", "sd.origin.ip"],
        title="{extra.mac} via {sd.origin.ip} ({severity})",
    ))  # fmt: skip
    assert rule.fingerprint[1:] == ["extra.mac", "sd.origin.ip"]


def test_alert_levels_rise_one_step_up_to_critical() -> None:
    assert ALERT_LEVELS == ("info", "warning", "minor", "major", "critical")
    assert raise_level("minor") == "major"
    assert raise_level("critical") == "critical"


PACK = """\
pack: sample
rules:
  - id: sample.one
    agent: system
    title: One on {host}
    severity: info
    kind: match
    match: {program: procd}
  - id: sample.two
    agent: wan
    title: Two
    severity: warning
    kind: absence
    match: {program: netifd}
    absence: {after: 10m}
"""


def test_a_pack_file_loads_its_rules(tmp_path: Path) -> None:
    path = tmp_path / "sample.yaml"
    path.write_text(PACK)
    rules = load_pack(path)
    assert [rule.id for rule in rules] == ["sample.one", "sample.two"]
    assert load_rules_file(path) == rules


def test_a_pack_refuses_duplicate_ids(tmp_path: Path) -> None:
    path = tmp_path / "twice.yaml"
    path.write_text(PACK.replace("sample.two", "sample.one"))
    with pytest.raises(RuleError, match=r"twice.yaml: rule id 'sample.one' is defined twice"):
        load_pack(path)


def test_a_pack_error_names_the_file_and_the_rule(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(PACK.replace("after: 10m", "after: 0"))
    with pytest.raises(RuleError) as caught:
        load_pack(path)
    assert str(caught.value).startswith(f"{path}: rule 'sample.two': absence.after: must be")


def test_a_rules_file_may_hold_one_rule_or_a_list(tmp_path: Path) -> None:
    single, several = tmp_path / "one.yaml", tmp_path / "list.json"
    single.write_text("id: a.b\nagent: health\ntitle: T\nseverity: minor\nkind: match\n"
                      "match: {program: kernel}\n")  # fmt: skip
    several.write_text('[{"id": "c.d", "agent": "wifi", "title": "T", "severity": "info",'
                       ' "kind": "match", "match": {"program": "hostapd"}}]')  # fmt: skip
    assert [rule.id for rule in load_rules_file(single)] == ["a.b"]
    assert [rule.id for rule in load_rules_file(several)] == ["c.d"]


def test_a_rules_file_that_is_no_rule_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "text.yaml"
    path.write_text("just words\n")
    with pytest.raises(RuleError, match="expected a pack, a rule or a list of rules"):
        load_rules_file(path)


def test_builtin_packs_hold_valid_rules_with_unique_ids() -> None:
    packs = builtin_packs()
    ids = [rule.id for rules in packs.values() for rule in rules]
    assert len(ids) == len(set(ids))
    assert all(isinstance(rule, Rule) for rules in packs.values() for rule in rules)


@pytest.mark.parametrize(
    "fields",
    [{"severity": {"le": "bogus"}}, {"severity": {"in": ["err", "nope"]}}, {"facility": "x"}],
)
def test_severity_and_facility_operands_must_be_real(fields: dict[str, object]) -> None:
    document = {
        "id": "x.codes", "agent": "system", "title": "t", "severity": "info",
        "kind": "match", "match": {"fields": fields},
    }  # fmt: skip
    with pytest.raises(RuleError, match=r"rule 'x.codes': match.fields: (severity|facility)"):
        parse_rule(document)
