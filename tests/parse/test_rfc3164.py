"""RFC 3164 as rsyslog's parser test suite and the RFC examples see it."""

from __future__ import annotations

import calendar
from pathlib import Path

import pytest
from parse_helpers import RECEIVED_AT, raw_event

from opsconductor.messages import DeadLetter, Event
from opsconductor.parse.model import FACILITIES, SEVERITIES
from opsconductor.parse.service import Parser

# Fields where rsyslog's expectation is not what we (deliberately) produce, and why.
NOT_COMPARED: dict[str, tuple[set[str], str]] = {
    "8bit.parse1#0": (
        {"program", "msg"},
        "rsyslog takes any first word as TAG; we need ':' or '[pid]'",
    ),
    "mark.parse1#0": ({"program", "msg"}, "same: '--' is no program"),
    "mark.parse1#1": ({"program", "msg", "pri"}, "same; and no PRI means None, not rsyslog's 13"),
    "malformed1.parse1#0": ({"program", "msg"}, "rsyslog makes the message body a TAG"),
    "upcase-date.parse1#0": (
        {"host", "program", "msg"},
        "we read '2009' after the time as the year (like 'CST 1987' in RFC 3164), "
        "rsyslog as the host name",
    ),
    "weird.parse1#0": ({"program", "msg"}, "'AAAA…' without ':' is message, not TAG"),
    "weird.parse1#5": ({"program", "msg"}, "same"),
    "snare.parse1": ({"program", "msg", "pri"}, "Windows Snare: tab-separated, no TAG"),
    "rfc5424-3.parse1#0": (set(), "dead letter: 'eventSource= \"A\"' is invalid SD-PARAM syntax"),
    "rfc5424-4.parse1#0": (set(), "dead letter: same invalid SD-PARAM"),
    "oversizeTag-1.parse1#0": (set(), ""),
}
DEAD = {"rfc5424-3.parse1#0", "rfc5424-4.parse1#0"}


def _rsyslog_cases(folder: Path) -> list[tuple[str, bytes, list[str]]]:
    cases = []
    for path in sorted(folder.glob("*.parse1")):
        lines = [
            line for line in path.read_bytes().split(b"\n") if line and not line.startswith(b"#")
        ]
        for index in range(0, len(lines) - 1, 2):
            expected = lines[index + 1].decode("utf-8", "replace").split(",", 7)
            cases.append((f"{path.name}#{index // 2}", lines[index], expected))
    return cases


def _skipped(name: str) -> set[str]:
    for key, (fields, _reason) in NOT_COMPARED.items():
        if name == key or (("#" not in key) and name.startswith(key + "#")):
            return fields
    return set()


def test_rsyslog_parse1_cases(shared_data: Path, parser: Parser) -> None:
    cases = _rsyslog_cases(shared_data / "syslog_edge/rsyslog_parse1")
    assert len(cases) >= 30
    compared = 0
    wrong: list[tuple[str, str, object, object]] = []
    for name, data, expected in cases:
        outcome = parser.parse_one(raw_event(data.replace(b"BOM", b"\xef\xbb\xbf")))
        if name in DEAD:
            assert isinstance(outcome, DeadLetter), name
            continue
        assert isinstance(outcome, Event), name
        _pri, facility, severity, _stamp, host, program, _tag, msg = expected
        want = {
            "pri": (FACILITIES[facility], SEVERITIES[severity]),
            "host": "" if host == "~H" else host,
            "program": program if outcome.format != "rfc5424" else outcome.program,
            "msg": msg.lstrip(" ").replace("BOM", ""),
        }
        got = {
            "pri": (outcome.facility, outcome.severity),
            "host": outcome.host,
            "program": outcome.program,
            "msg": outcome.message,
        }
        skip = _skipped(name)
        wrong += [(name, f, want[f], got[f]) for f in want if f not in skip and want[f] != got[f]]
        compared += 1
    assert wrong == []
    assert compared >= 25


def test_rsyslog_timestamps(parser: Parser) -> None:
    """date1..5: one or two spaces, a year before the time, a colon after it."""
    for data in (
        b"<38> Mar  7 19:06:53 example tag: x",
        b"<38>Mar 7 19:06:53 example tag: x",
        b"<38>Mar 7 2026 19:06:53: example tag: x",
        b"<38>Mar 7 2026 19:06:53 example tag: x",
        b"<38>Mar 7 19:06:53: example tag: x",
    ):
        event = parser.parse_one(raw_event(data))
        assert isinstance(event, Event)
        assert event.timestamp == calendar.timegm((2026, 3, 7, 19, 6, 53)), data
        assert (event.host, event.program, event.message) == ("example", "tag", "x")


def test_rfc3164_examples(shared_data: Path, parser: Parser) -> None:
    text = (shared_data / "syslog_edge/rfc_examples.txt").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    events = [parser.parse_one(raw_event(line.encode())) for line in lines[:6]]
    assert all(isinstance(e, Event) for e in events)
    su, bfg_plain, bfg, donuts, folks, relayed = (e for e in events if isinstance(e, Event))
    assert (su.host, su.program, su.facility, su.severity) == ("mymachine", "su", 4, 2)
    assert su.message == "'su root' failed for lonvick on /dev/pts/8"
    assert (bfg_plain.format, bfg_plain.message) == ("generic", "Use the BFG!")
    assert (bfg.host, bfg.message, bfg.parse_status) == ("10.0.0.99", "Use the BFG!", "partial")
    assert (donuts.host, donuts.program, donuts.procid) == ("mymachine", "myproc", "10")
    assert donuts.timestamp == calendar.timegm((1987, 8, 24, 5, 34, 0)) + 6 * 3600  # CST
    assert folks.parse_status == "partial"  # "1990 Oct 22 …": no RFC 3164 timestamp
    assert folks.message.startswith("1990 Oct 22")
    assert (relayed.host, relayed.severity) == ("scapegoat", 0)


@pytest.mark.parametrize(
    ("line", "host", "program", "procid", "message"),
    [
        (
            b"<13>Nov  4 19:09:39 dropbear[5380]: Child connection",
            "",
            "dropbear",
            "5380",
            "Child connection",
        ),
        (
            b"<167>Mar  6 16:57:54 172.20.245.8 %PIX-7-710005: UDP request",
            "172.20.245.8",
            "%PIX-7-710005",
            "",
            "UDP request",
        ),
        (
            b"<38>MAR 27 19:06:53 fe80::1 sshd(pam_unix)[12750]: opened",
            "fe80::1",
            "sshd(pam_unix)",
            "12750",
            "opened",
        ),
        (
            b"<29>Jul 31 21:39:21 example-b example-gw[10538]: disconnect",
            "example-b",
            "example-gw",
            "10538",
            "disconnect",
        ),
        (
            b"Sep 12 14:29:16 Router daemon.warn dnsmasq[1]: Maximum",
            "Router",
            "dnsmasq",
            "1",
            "Maximum",
        ),
        (b"<14>2026-05-30T23:00:05.5+02:00 host app: iso", "host", "app", "", "iso"),
    ],
)
def test_rfc3164_shapes(
    parser: Parser, line: bytes, host: str, program: str, procid: str, message: str
) -> None:
    event = parser.parse_one(raw_event(line))
    assert isinstance(event, Event)
    assert event.format == "rfc3164"
    assert (event.host, event.program, event.procid, event.message) == (
        host,
        program,
        procid,
        message,
    )
    assert event.timestamp <= RECEIVED_AT + 86400
