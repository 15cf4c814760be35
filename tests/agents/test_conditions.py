"""Conditions: programs and globs, domains, facility and severity, messages, fields, groups."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from opsconductor.agents.conditions import Matcher
from opsconductor.agents.rules import Conditions
from opsconductor.messages import Event, RawEvent
from opsconductor.parse.service import Parser

EventFactory = Callable[..., Event]
DEFAULT_DOMAINS = ("security",)


def matcher(**conditions: Any) -> Matcher:
    return Matcher(Conditions.model_validate(conditions), DEFAULT_DOMAINS)


def admits(event: Event, **conditions: Any) -> bool:
    return matcher(**conditions).match(event) is not None


@pytest.mark.parametrize(
    ("program", "spec", "expected"),
    [
        ("dropbear", "dropbear", True),
        ("Dropbear", "dropbear", True),
        ("dropbear", "DROPBEAR", True),
        ("sshd", ["dropbear", "sshd"], True),
        ("hostapd", "hostapd*", True),
        ("hostapd-phy0", "hostapd*", True),
        ("wpa_supplicant", "hostapd*", False),
        ("kernel", ["dropbear", "ssh?"], False),
        ("", "", True),
        ("dropbear", "", False),
    ],
)
def test_program_is_a_name_a_glob_or_a_list_case_insensitive(
    make_event: EventFactory, program: str, spec: Any, expected: bool
) -> None:
    assert admits(make_event("x", program=program), program=spec) is expected


def test_domain_defaults_to_the_agents_domains(make_event: EventFactory) -> None:
    assert admits(make_event("x", domain="security"))
    assert not admits(make_event("x", domain="wifi"))
    assert admits(make_event("x", domain="wifi"), domain=["wifi", "wan"])
    assert not admits(make_event("x", domain="security"), domain="wifi")


def test_facility_and_severity_by_name_or_number(make_event: EventFactory) -> None:
    event = make_event("x", facility=4, severity=3)
    assert admits(event, facility="auth", severity="err")
    assert admits(event, facility=[4, "daemon"], severity=["error", "crit"])
    assert admits(event, facility="4", severity=3)
    assert not admits(event, facility="daemon")
    assert not admits(event, severity="warning")


@pytest.mark.parametrize(
    ("severity", "expected"),
    [(0, True), (2, True), (3, True), (4, False), (7, False), (None, False)],
)
def test_severity_at_least_admits_the_more_severe(
    make_event: EventFactory, severity: int | None, expected: bool
) -> None:
    assert admits(make_event("x", severity=severity), severity_at_least="err") is expected


def test_message_is_searched_case_insensitively_and_message_not_excludes(
    make_event: EventFactory,
) -> None:
    event = make_event("Bad password attempt for 'root' from 1.2.3.4:22")
    assert admits(event, message="BAD PASSWORD")
    assert admits(event, message=r"from \d+\.")
    assert not admits(event, message="^password")
    assert not admits(event, message="bad password", message_not="'root'")
    assert admits(event, message="bad password", message_not="'admin'")


def test_named_groups_become_fields(make_event: EventFactory) -> None:
    event = make_event("Bad password attempt for 'root' from 1.2.3.4:22")
    test = matcher(message=r"for '(?P<user>[^']+)' from (?P<src>[\d.]+)(?::(?P<port>x))?")
    assert test.match(event) == {"user": "root", "src": "1.2.3.4", "port": ""}
    assert matcher(message="bad").match(event) == {}


def test_fields_compare_with_every_operator(make_event: EventFactory) -> None:
    event = make_event(
        "signal -72 from aa:bb",
        extra={"rssi": "-72", "band": "5g"},
        structured_data={"meta": {"ip": "10.0.0.9"}},
        severity=4,
    )
    holds = {
        "extra.band": [{"eq": "5g"}, {"ne": "2g"}, {"in": ["2g", "5g"]}, {"not_in": ["6g"]}],
        "extra.rssi": [{"lt": -70}, {"le": -72}, {"gt": -80}, {"ge": -72.0}, "-72"],
        "sd.meta.ip": [{"matches": r"^10\."}, {"eq": "10.0.0.9"}],
        "severity": [{"eq": "warning"}, {"le": "warning"}, {"gt": 3}, {"in": ["warning", 5]}],
        "program": [{"eq": "dropbear"}],
    }
    for name, tests in holds.items():
        for test in tests:
            assert admits(event, fields={name: test}), (name, test)
    fails = {
        "extra.band": [{"eq": "2g"}, {"in": ["2g"]}, {"not_in": ["5g"]}],
        "extra.rssi": [{"gt": -70}, {"lt": -72}],
        "extra.missing": [{"eq": "x"}, {"lt": 1}, {"matches": "."}, {"in": ["x"]}],
        "sd.meta.ip": [{"matches": "^192"}],
    }
    for name, tests in fails.items():
        for test in tests:
            assert not admits(event, fields={name: test}), (name, test)
    assert admits(event, fields={"extra.missing": {"ne": "x"}})
    assert admits(event, fields={"extra.missing": {"not_in": ["x"]}})


def test_fields_may_test_the_named_groups(make_event: EventFactory) -> None:
    event = make_event("signal -81 dBm")
    weak = {"message": r"signal (?P<dbm>-?\d+)", "fields": {"dbm": {"lt": -80}}}
    assert admits(event, **weak)
    assert not admits(make_event("signal -60 dBm"), **weak)


def test_a_non_numeric_value_never_satisfies_an_ordering(make_event: EventFactory) -> None:
    assert not admits(make_event("x", extra={"n": "many"}), fields={"extra.n": {"gt": 1}})


def test_conditions_on_a_parsed_openwrt_line() -> None:
    line = b"Sun Jul 19 21:22:03 2020 daemon.notice netifd: Interface 'wan' is now down"
    event = Parser().parse_one(RawEvent("01J00000000000000000000000", 1780315200.0, "udp",
                                        "192.0.2.7:514", line))  # fmt: skip
    assert isinstance(event, Event)
    test = Matcher(
        Conditions.model_validate(
            {"program": "netifd", "facility": "daemon", "severity_at_least": "notice",
             "message": r"interface '(?P<ifname>\w+)' is now down"}
        ),
        (event.domain,),
    )  # fmt: skip
    assert test.match(event) == {"ifname": "wan"}
