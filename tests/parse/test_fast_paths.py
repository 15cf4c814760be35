"""The parser's shortcuts (one-regex formats, memoised timestamps) give what the general
code gives."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from opsconductor.parse.legacy import _with_pri
from opsconductor.parse.rfc3164 import parse_common
from opsconductor.parse.rfc5424 import _timestamp, parse_rfc5424
from opsconductor.parse.timestamps import Clock, ClockMemo, load_zone

RECEIVED_AT = 1780315200.0  # 2026-06-01 12:00:00 UTC


@pytest.mark.parametrize(
    "text",
    [
        "<30>Oct 11 22:14:15 host3 dnsmasq[123]: msg 42",
        "<13>Feb  4 01:02:03 h-1.lan su: x",
        "<0>Dec 31 23:59:59 a prog[]: y",
        "<191>Jan  1 00:00:00 router kernel: [ 12.5] up",
        "<30>Oct 11 22:14:15 host3 prog[1] no colon",
        "<30>Oct 11 22:14:15 host3 prog:",
        "<30>Oct 11 2:14:15 gw pppd[9]: x from 1.2.3.4 dnsmasq[21097]: using",
    ],
)
def test_common_rfc3164_matches_the_general_path(text: str) -> None:
    zone = load_zone("Europe/Rome")
    fast = parse_common(text, Clock(RECEIVED_AT, zone, ClockMemo()))
    general = _with_pri(text, Clock(RECEIVED_AT, zone))
    assert fast is not None
    assert fast == general


@pytest.mark.parametrize(
    "text",
    [
        "<30>Oct 11 22:14:15 daemon.info prog: x",  # facility.severity, not a host
        "<30>Oct 11 22:14:15 CST host prog: x",  # zone abbreviation
        "<30>Oct 11 22:14:15 2009 host prog: x",  # year
        "<30>Oct 11 22:14:15 fe80::1 prog: x",  # IPv6 host
        "<30>OCT 11 22:14:15 host prog: x",  # upper-case month
        "<192>Oct 11 22:14:15 host prog: x",  # invalid PRI
        "<30>Oct 11 22:14:15 host a:b: x",  # no TAG
    ],
)
def test_common_rfc3164_leaves_the_rest_to_the_general_path(text: str) -> None:
    assert parse_common(text, Clock(RECEIVED_AT, UTC, ClockMemo())) is None


def test_memoised_clock_agrees_with_a_fresh_one() -> None:
    zone = load_zone("America/New_York")
    memo = ClockMemo()
    for received_at in (1767225599.9999996, 1767225600.0, 1741503600.5, 1741503599.25):
        for _ in range(2):  # the second round is answered from the memo
            memoised = Clock(received_at, zone, memo)
            fresh = Clock(received_at, zone)
            assert memoised.local_date() == fresh.local_received().date()
            assert memoised.time_only(0, 30, 0) == fresh.time_only(0, 30, 0)
            assert memoised.without_year((12, 31), (23, 59, 59)) == fresh.without_year(
                (12, 31), (23, 59, 59)
            )


@pytest.mark.parametrize(
    "stamp",
    [b"2026-05-01T01:02:15.003Z", b"2024-02-29T00:00:00Z", b"1969-12-31T23:59:59.999999Z"],
)
def test_utc_stamps_are_computed_like_datetime(stamp: bytes) -> None:
    expected = datetime.fromisoformat(stamp.decode()).timestamp()
    assert _timestamp(stamp) == expected


def test_utc_stamp_of_a_missing_day_is_none() -> None:
    assert _timestamp(b"2023-02-29T00:00:00Z") is None


def test_structured_data_escapes_and_repeated_names() -> None:
    data = b'<165>1 - - - - - [a x="1" x="\\"q\\]" y="\xc3\xa9\\\\"][b z=""] m'
    result = parse_rfc5424(data)
    assert not hasattr(result, "reason")
    assert result.structured_data == {  # type: ignore[union-attr]
        "a": {"x": '"q]', "y": "é\\"},
        "b": {"z": ""},
    }
