"""RFC 5424: go-syslog's machine cases (exact errors and columns) and the RFC examples."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from parse_helpers import raw_event
from tests.conftest import escaped_bytes

from opsconductor.messages import DeadLetter, Event
from opsconductor.parse.rfc5424 import (
    Rfc5424Error,
    Rfc5424Message,
    looks_like_rfc5424,
    parse_rfc5424,
)
from opsconductor.parse.rfc5424_scan import Header, scan
from opsconductor.parse.service import Parser

CASES = "syslog_edge/go-syslog_rfc5424_machine_cases.jsonl"
# The extraction of go-syslog's table lost or shifted three expected errors (they were
# computed in Go, not string literals); these are the values go-syslog's own test asserts.
GO_SYSLOG_ERRORS = {
    "<101>11 2003-09-31T22:14:15.003Z": (
        'parsing time "2003-09-31T22:14:15.003Z": day out of range [col 32]'
    ),
    "<101>12 2003-09-31T22:14:16Z": (
        'parsing time "2003-09-31T22:14:16Z": day out of range [col 28]'
    ),
    "<101>12 2018-02-29T22:14:16+01:00": (
        'parsing time "2018-02-29T22:14:16+01:00": day out of range [col 33]'
    ),
    "<165>3 2003-10-11T22:14:15.003Z example.com evnts - ID27 [id1][id1]": (
        "duplicate structured data element id [col 66]"
    ),
    '<165>3 2003-10-12T22:14:15.003Z example.com evnts - ID27 [dupe e="1"][id1][dupe class="l"]': (
        "duplicate structured data element id [col 79]"
    ),
}


def _cases(shared_data: Path) -> list[dict[str, Any]]:
    lines = (shared_data / CASES).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _expected(case: dict[str, Any]) -> str | None:
    if case["valid"]:
        return None
    return GO_SYSLOG_ERRORS.get(case["input"], case.get("expected_error"))


def test_every_go_syslog_case_matches(shared_data: Path) -> None:
    cases = _cases(shared_data)
    assert len(cases) == 163
    mismatches = []
    for number, case in enumerate(cases):
        result = parse_rfc5424(escaped_bytes(case["input"]))
        got = result.reason if isinstance(result, Rfc5424Error) else None
        if got != _expected(case):
            mismatches.append((number, case["input"][:60], _expected(case), got))
    assert mismatches == []


def test_fast_path_agrees_with_the_scanner(shared_data: Path) -> None:
    for case in _cases(shared_data):
        data = escaped_bytes(case["input"])
        full = parse_rfc5424(data)
        scanned = scan(data)
        if isinstance(full, Rfc5424Error):
            assert isinstance(scanned, Rfc5424Error)
            assert scanned.reason == full.reason
            continue
        assert isinstance(scanned, Header)
        assert (full.hostname or "-", full.appname or "-") == (scanned.hostname, scanned.appname)
        assert full.structured_data == scanned.structured_data
        assert full.timestamp == scanned.timestamp


def test_parser_dead_letters_exactly_the_strict_records(shared_data: Path, parser: Parser) -> None:
    """Through the Parser: records starting ``<PRI>VERSION SP`` are strict; others are not
    RFC 5424 (RFC 3164 or generic) and become events — never dropped."""
    for case in _cases(shared_data):
        data = escaped_bytes(case["input"])
        outcome = parser.parse_one(raw_event(data))
        if not data.strip(b"\r\n\x00"):
            assert isinstance(outcome, DeadLetter)
            assert outcome.reason == "empty record"
        elif looks_like_rfc5424(data.rstrip(b"\r\n\x00")):
            expected = _expected(case)
            if expected is None:
                assert isinstance(outcome, Event), case["input"]
                assert outcome.format == "rfc5424"
            else:
                assert isinstance(outcome, DeadLetter), case["input"]
                assert outcome.reason == expected
        else:
            assert isinstance(outcome, Event), case["input"]
            assert outcome.format != "rfc5424"


def test_rfc_examples(shared_data: Path, parser: Parser) -> None:
    lines = (shared_data / "syslog_edge/rfc_examples.txt").read_text(encoding="utf-8")
    examples = [
        line.replace("BOM", "\ufeff").encode()
        for line in lines.splitlines()
        if line.startswith("<") and re.match(r"<\d+>1 ", line)
    ]
    assert len(examples) == 4
    events = [parser.parse_one(raw_event(data)) for data in examples]
    assert all(isinstance(e, Event) for e in events)
    first, second, third, fourth = (e for e in events if isinstance(e, Event))
    assert (first.host, first.program, first.msgid, first.facility, first.severity) == (
        "mymachine.example.com",
        "su",
        "ID47",
        4,
        2,
    )
    assert first.message == "'su root' failed for lonvick on /dev/pts/8"  # BOM stripped
    assert first.timestamp == pytest.approx(1065910455.003)
    assert (second.host, second.program, second.procid) == ("192.0.2.1", "myproc", "8710")
    assert second.timestamp == pytest.approx(1061727255.000003)
    assert third.structured_data == {
        "exampleSDID@32473": {"iut": "3", "eventSource": "Application", "eventID": "1011"}
    }
    assert third.message == "An application event log entry..."
    assert fourth.structured_data["examplePriority@32473"] == {"class": "high"}
    assert fourth.message == ""


def test_escapes_and_invalid_utf8_without_bom() -> None:
    result = parse_rfc5424(b'<29>2 - h a - - [m e="\\]\\"\\\\x"] caf\xe9')
    assert isinstance(result, Rfc5424Message)
    assert result.structured_data == {"m": {"e": ']"\\x'}}
    assert result.message == "caf\ufffd"
    assert result.invalid_utf8


def test_bom_message_must_be_utf8() -> None:
    result = parse_rfc5424(b"<1>1 - - - - - - \xef\xbb\xbfok\xff")
    assert isinstance(result, Rfc5424Error)
    assert result.reason.endswith("[col 22]")


@pytest.mark.parametrize(
    "stamp",
    [
        "0000-01-01T00:00:00Z",
        "0000-02-29T00:00:00.5+01:00",
        "9999-12-31T23:59:59-12:00",
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59.999999Z",
    ],
)
def test_calendar_edges_never_raise(parser: Parser, stamp: str) -> None:
    """Year 0000 fits the grammar but not the calendar; the far edges must not overflow."""
    result = parser.parse_one(raw_event(f"<165>1 {stamp} h app - - - m".encode()))
    assert isinstance(result, Event | DeadLetter)
