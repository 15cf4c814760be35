"""Every real OpenWrt line becomes exactly one event with the fields its format states."""

from __future__ import annotations

import calendar
import csv
from collections import Counter
from pathlib import Path

import pytest
from parse_helpers import RECEIVED_AT, raw_event

from opsconductor.messages import Event, RawEvent
from opsconductor.parse.service import Parser

# label file's format_variant → our format
FORMATS = {
    "logread": {"logread"},
    "dmesg": {"kernel"},
    "raw_program_output": {"program_only", "generic"},
    "luci_bracket_ts": {"luci"},
    "rfc3164_like": {"rfc3164"},
    "time_only": {"time_only"},
    "pipe_delimited": {"pipe"},
    "luci_dmy_ts": {"luci_dmy"},
    "facility_only_no_ts": {"facility_only"},
}
STATES_TIME = {"logread", "luci", "rfc3164", "time_only", "pipe", "luci_dmy"}
STATES_SEVERITY = {"logread", "luci", "time_only", "luci_dmy", "facility_only"}


def _events(shared_data: Path, parser: Parser) -> list[tuple[dict[str, str], Event]]:
    folder = shared_data / "openwrt"
    lines = (folder / "openwrt_lines.log").read_bytes().split(b"\n")
    with (folder / "openwrt_lines_labels.csv").open(encoding="utf-8") as handle:
        labels = list(csv.DictReader(handle))
    out = []
    for label in labels:
        result = parser.parse_one(raw_event(lines[int(label["line_number"]) - 1]))
        assert isinstance(result, Event), label
        out.append((label, result))
    return out


def test_every_line_is_one_event_of_its_format(shared_data: Path, parser: Parser) -> None:
    events = _events(shared_data, parser)
    assert len(events) == 561
    coverage: Counter[tuple[str, str, str]] = Counter()
    for label, event in events:
        variant = label["format_variant"]
        assert event.format in FORMATS[variant], (label["line_number"], event.format)
        coverage[(variant, event.format, event.parse_status)] += 1
        if event.format in STATES_TIME:
            assert event.timestamp != RECEIVED_AT, label["line_number"]
        if event.format in STATES_SEVERITY:
            assert event.severity is not None, label["line_number"]
        if event.format != "generic":
            assert event.program, label["line_number"]
    for key, count in sorted(coverage.items()):
        print(f"{key[0]:22} -> {key[1]:14} {key[2]:8} {count:4}")


def test_logread_fields(parser: Parser) -> None:
    event = parser.parse_one(
        raw_event(b"Sun Jul 19 21:22:03 2020 daemon.notice netifd: Interface 'wan' is now down")
    )
    assert isinstance(event, Event)
    assert (event.format, event.parse_status, event.facility, event.severity) == (
        "logread",
        "ok",
        3,
        5,
    )
    assert (event.program, event.procid, event.host) == ("netifd", "", "")
    assert event.message == "Interface 'wan' is now down"
    assert event.timestamp == calendar.timegm((2020, 7, 19, 21, 22, 3))
    assert event.domain == "wan"


def test_luci_empty_identity_takes_the_next_word(parser: Parser) -> None:
    event = parser.parse_one(
        raw_event(b"Sun Jan  9 20:22:49 2022 user.info : luci: accepted login on / for root")
    )
    assert isinstance(event, Event)
    assert (event.program, event.message, event.domain) == (
        "luci",
        "accepted login on / for root",
        "security",
    )


def test_kernel_uptime_goes_to_extra(parser: Parser) -> None:
    inside = parser.parse_one(
        raw_event(
            b"Fri Mar 29 04:20:37 2019 kern.err kernel: [  358.187277] "
            b"ath10k_pci 0000:00:00.0: firmware crashed!"
        )
    )
    console = parser.parse_one(raw_event(b"<4>[ 1771.264287] Out of memory: Killed process 1 (x)"))
    dmesg = parser.parse_one(
        raw_event(b"[ 2254.565470] ath10k_ahb a800000.wifi: firmware crashed!")
    )
    assert isinstance(inside, Event) and isinstance(console, Event) and isinstance(dmesg, Event)
    assert inside.message == "ath10k_pci 0000:00:00.0: firmware crashed!"
    assert inside.extra == {"uptime": "358.187277"}
    assert (console.program, console.facility, console.severity, console.domain) == (
        "kernel",
        0,
        4,
        "health",
    )
    assert console.extra == {"kernel_level": "4", "uptime": "1771.264287"}
    assert console.timestamp == RECEIVED_AT
    assert (dmesg.severity, dmesg.extra["uptime"], dmesg.domain) == (None, "2254.565470", "wifi")


def test_glued_records_are_split_conservatively(parser: Parser) -> None:
    line = (
        b"Sun Aug 23 21:06:57 2020 daemon.err uhttpd[3681]: luci: accepted login on / for root "
        b"from 192.168.100.39 dnsmasq[21097]: using nameserver 127.0.0.1#5353"
    )
    event = parser.parse_one(raw_event(line))
    assert isinstance(event, Event)
    assert event.message == "luci: accepted login on / for root from 192.168.100.39"
    assert event.extra == {
        "glued": "1",
        "glued_program": "dnsmasq",
        "glued_procid": "21097",
        "glued_message": "using nameserver 127.0.0.1#5353",
    }
    for message in (
        b"procd: Instance dnsmasq::cfg01411c s in a crash loop",
        b"netifd: wan (6758): udhcpc: started",
        b"hostapd: wlan0: STA 00:11:22:33:44:55 IEEE 802.11: associated (aid 1)",
        b"kernel: [ 1.0] [   3000]     0  3000  775 uhttpd",
        b"dropbear[1]: Exit (root) from <1.2.3.4:5>: Exited normally [x]: y",
    ):
        plain = parser.parse_one(raw_event(b"Sun Aug 23 21:06:57 2020 daemon.err " + message))
        assert isinstance(plain, Event)
        assert "glued" not in plain.extra, message


@pytest.mark.parametrize(
    ("line", "fmt", "program", "procid", "severity", "stamp"),
    [
        (
            b"[12 dic 2025, 20:45:19 CET] daemon.notice: odhcp6c[7094]: Disconnecting",
            "luci",
            "odhcp6c",
            "7094",
            5,
            (2025, 12, 12, 19, 45, 19),
        ),
        (
            "[2026年3月20日 GMT+8 14:38:31] daemon.info: odhcpd[2254]: x".encode(),
            "luci",
            "odhcpd",
            "2254",
            6,
            (2026, 3, 20, 6, 38, 31),
        ),
        (
            b"[Jul 5, 2026, 1:21:09 PM GMT+2] daemon.debug: hostapd: x",
            "luci",
            "hostapd",
            "",
            7,
            (2026, 7, 5, 11, 21, 9),
        ),
        (
            "[12 déc. 2025, 20:45:19 UTC+1] daemon.err: x[1]: y".encode(),
            "luci",
            "x",
            "1",
            3,
            (2025, 12, 12, 19, 45, 19),
        ),
        (
            b"[12.12.2025, 20:45:19 MEZ] daemon.err: x[1]: y",
            "luci",
            "x",
            "1",
            3,
            (2025, 12, 12, 19, 45, 19),
        ),
        (
            "[12 дек. 2025 г., 20:45:19 MSK] daemon.err: x[1]: y".encode(),
            "luci",
            "x",
            "1",
            3,
            (2025, 12, 12, 17, 45, 19),
        ),
        (
            b"28. 02. 2023 10:34:49 notice hostapd[]: Configuration file",
            "luci_dmy",
            "hostapd",
            "",
            5,
            (2023, 2, 28, 10, 34, 49),
        ),
        (
            b"01:46:16 daemon.info odhcpd[1900]: Reloading",
            "time_only",
            "odhcpd",
            "1900",
            6,
            (2026, 6, 1, 1, 46, 16),
        ),
        (
            b"Aug  4 11:35:37 | hostapd | 11217 | athp0_wlan0: WPA rekeying GTK",
            "pipe",
            "hostapd",
            "11217",
            None,
            (2025, 8, 4, 11, 35, 37),
        ),
    ],
)
def test_openwrt_shapes(
    parser: Parser,
    line: bytes,
    fmt: str,
    program: str,
    procid: str,
    severity: int | None,
    stamp: tuple[int, ...],
) -> None:
    event = parser.parse_one(raw_event(line))
    assert isinstance(event, Event)
    assert (event.format, event.program, event.procid, event.severity) == (
        fmt,
        program,
        procid,
        severity,
    )
    assert event.timestamp == calendar.timegm((*stamp,))


def test_program_only_and_unknown_raw_output(parser: Parser) -> None:
    known = parser.parse_one(raw_event(b"odhcp6c[11609]: Got a valid REPLY after 6ms"))
    unknown = parser.parse_one(
        raw_event(b"wlan1: STA 24:62:ab:fd:24:34 IEEE 802.11: associated (aid 1)")
    )
    facility_only = parser.parse_one(
        raw_event(b"daemon.warn dnsmasq[5877]: Maximum number of concurrent DNS queries reached")
    )
    assert (
        isinstance(known, Event) and isinstance(unknown, Event) and isinstance(facility_only, Event)
    )
    assert (known.format, known.parse_status, known.program, known.domain) == (
        "program_only",
        "partial",
        "odhcp6c",
        "wan",
    )
    assert (unknown.format, unknown.parse_status, unknown.program, unknown.domain) == (
        "generic",
        "generic",
        "",
        "wifi",
    )
    assert (facility_only.format, facility_only.severity, facility_only.domain) == (
        "facility_only",
        4,
        "wan",
    )


def test_device_id_uses_peer_address_and_host(parser: Parser) -> None:
    from opsconductor.inventory.identity import device_id

    raw: RawEvent = raw_event(
        b"<13>Nov  4 19:09:39 Router1 dropbear[5380]: x", peer="[2001:db8::1]:514"
    )
    event = parser.parse_one(raw)
    assert isinstance(event, Event)
    assert event.device_id == device_id("2001:db8::1", "Router1")
