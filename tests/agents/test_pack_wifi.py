"""WiFi rules on real lines: hostapd and wpa_supplicant, ath10k, vendor drivers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from pack_helpers import Case, check_case, corpus_lines, detect, problems

# Not in the sample; each quoted line is the format string of the program named, filled in.
# mt76 (mt7915/mcu.c, mt7915_mcu_parse_response): dev_err "Message %08x (seq %d) timeout"
MT76_TIMEOUT = "[ 4321.123456] mt7915e 0000:01:00.0: Message 00005aa5 (seq 12) timeout"
# hostapd (src/ap/wpa_auth.c): wpa_auth_logger "invalid MIC in msg 2/4 of 4-Way Handshake"
HOSTAPD_BAD_MIC = (
    "Mon Jun 19 14:15:05 2017 daemon.info hostapd: wlan0: STA 98:de:d0:ad:6f:b3 WPA: "
    "invalid MIC in msg 2/4 of 4-Way Handshake"
)

LINES: dict[str, Callable[[Path], list[bytes | str]]] = {
    # a station's disassociation (mwlwifi #96), as a station kicked five times logs it
    "same disassociation x5": lambda d: corpus_lines(d, 297) * 5,
    "xiaomi deauth x5": lambda d: corpus_lines(d, 64) * 5,
    "eapol timeouts": lambda d: corpus_lines(d, 215, 217),
    "ptkstart retry limit": lambda d: corpus_lines(d, *range(268, 277)),
    "bad mic": lambda d: [HOSTAPD_BAD_MIC],
    "supplicant temp disabled": lambda d: corpus_lines(d, 146, 147),
    "radar": lambda d: corpus_lines(d, 504),
    "dfs switch": lambda d: corpus_lines(d, *range(445, 455)),
    "ath10k crash": lambda d: corpus_lines(d, 75, 76, 81, 82),
    "ath10k fake crash": lambda d: corpus_lines(d, 95, 96),
    "mt76 timeout": lambda d: [MT76_TIMEOUT],
    "ap disabled": lambda d: corpus_lines(d, 420, 421, 422, 423, 427),
    "ap disabled after radar": lambda d: corpus_lines(d, *range(504, 511)),
    "failed to add interface": lambda d: corpus_lines(d, 431),
}

CASES = [
    Case("wifi.sta_deauth_repeated", "same disassociation x5", (("problem", (0, 1, 2, 3, 4)),),
         {"sta": "00:90:4c:c5:12:38"}),
    Case("wifi.sta_deauth_repeated", "xiaomi deauth x5", (("problem", (0, 1, 2, 3, 4)),),
         {"sta": "20:f5:43:0d:18:e5"}),
    Case("wifi.handshake_timeout", "eapol timeouts", (("problem", (1, 0)),),
         {"sta": "04:d6:aa:1a:6c:90", "iface": "athp0_wlan0"}),
    Case("wifi.ap_auth_failure", "ptkstart retry limit", (("problem", (3,)),),
         {"sta": "d8:9b:3b:d5:88:22", "iface": "enp0s26f7u1"}),
    Case("wifi.ap_auth_failure", "bad mic", (("problem", (0,)),),
         {"sta": "98:de:d0:ad:6f:b3", "iface": "wlan0"}),
    Case("wifi.client_auth_failure", "supplicant temp disabled",
         (("problem", (0,)), ("clear", (1,))),
         {"ssid": "Open", "failures": "3", "reason": "CONN_FAILED"}),
    Case("wifi.dfs_radar_detected", "radar", (("problem", (0,)),),
         {"iface": "wlan0", "freq": "5500"}),
    Case("wifi.dfs_channel_change", "dfs switch",
         (("problem", (1,)), ("problem", (2,)), ("problem", (4,)), ("problem", (5,)),
          ("clear", (6,))),
         {}),
    Case("wifi.firmware_crash", "ath10k crash", (("problem", (0,)), ("problem", (2,))),
         {"driver": "ath10k_pci", "dev": "0000:00:00.0"}),
    Case("wifi.firmware_crash", "ath10k fake crash", (("problem", (0,)), ("problem", (1,))),
         {"dev": "0000:02:00.0"}),
    Case("wifi.radio_fault", "mt76 timeout", (("problem", (0,)),),
         {"fault": "Message 00005aa5 (seq 12) timeout"}),
    Case("wifi.ap_disabled", "ap disabled", (("problem", (2,)), ("problem", (4,))),
         {"iface": "phy1-ap0"}),
    Case("wifi.ap_disabled", "ap disabled after radar", (("problem", (2,)),), {"iface": "wlan0"}),
    Case("wifi.ap_setup_failed", "failed to add interface", (("problem", (0,)),),
         {"iface": "phy1-ap0"}),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_rule_finds_its_problem_in_real_lines(case: Case, shared_data: Path) -> None:
    check_case(case, LINES[case.lines](shared_data))


def test_a_normal_station_session_is_no_finding(shared_data: Path) -> None:
    # connect, handshakes, group rekeys, disassociation and the inactivity deauth (mwlwifi #96)
    assert problems(detect(corpus_lines(shared_data, *range(289, 301)))) == []


def test_hostapd_stdout_session_is_no_finding(shared_data: Path) -> None:
    # two connects and disconnects of one station: four disconnect lines, below the threshold
    assert problems(detect(corpus_lines(shared_data, *range(255, 268)))) == []


def test_driver_information_and_acs_are_no_finding(shared_data: Path) -> None:
    lines = corpus_lines(shared_data, 76, 77, 78, 79, 80, 103, 104, 370, 400, 405, 513)
    lines += corpus_lines(shared_data, *range(236, 255))
    assert problems(detect(lines)) == []


def test_completed_handshakes_and_a_config_line_are_no_finding(shared_data: Path) -> None:
    # "Use EAPOL-Key timeout of 1000 ms" is configuration, not a timeout
    lines = corpus_lines(shared_data, 258, 266, 268, 278, 283, 284, 216, 220)
    assert problems(detect(lines)) == []
