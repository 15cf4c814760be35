"""WAN rules on real lines: netifd, pppd, udhcpc, mwan3track, dnsmasq."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from pack_helpers import Case, check_case, corpus_lines, detect, of_rule, problems

# Captured from busybox 1.35.0: `busybox udhcpc -i lo -f -t 2 -T 1 -n -s /bin/true`
# (no DHCP server on lo) printed exactly these three lines on stderr.
UDHCPC_NO_LEASE = [
    "udhcpc: started, v1.35.0",
    "udhcpc: broadcasting discover",
    "udhcpc: no lease, failing",
]
# pppd pppd/upap.c: error("PAP authentication failed"); a real excerpt of it (public log of
# pppd 2.4.4 on Ubuntu, "Dec 31 12:15:12 bandolin-desktop pppd[6456]: …"):
PAP_FAILED = "Dec 31 12:15:12 bandolin-desktop pppd[6456]: PAP authentication failed"
# mwan3track (net/mwan3/files/usr/sbin/mwan3track): LOG notice "Interface $INTERFACE ($DEVICE)
# is offline"; the "is online" line is the real one of the sample (line 547)
MWAN3_OFFLINE = (
    "Thu Oct  9 16:17:55 2025 user.notice mwan3track[1984]: Interface wanb (eth2) is offline"
)

LINES: dict[str, Callable[[Path], list[bytes | str]]] = {
    "wan down, setting up, down": lambda d: corpus_lines(d, 1, 2, 14, 15),
    "wan down, up a year later": lambda d: corpus_lines(d, 1, 538),
    "tunnel link down": lambda d: corpus_lines(d, 413),
    "pado timeout": lambda d: corpus_lines(d, 10, 11, 12, 13),
    "pap failed": lambda d: [PAP_FAILED],
    "udhcpc no lease": lambda d: UDHCPC_NO_LEASE,
    "udhcpc endless discover": lambda d: corpus_lines(d, 61) * 10,
    "mwan3 ping failures": lambda d: corpus_lines(d, *range(519, 528)),
    "mwan3 score dropping": lambda d: corpus_lines(d, 549, 550, 551),
    "mwan3 offline then online": lambda d: [MWAN3_OFFLINE, *corpus_lines(d, 547)],
    "dnsmasq query limit": lambda d: corpus_lines(d, 167, 168),
    "dnsmasq no servers": lambda d: corpus_lines(d, 396),
}

CASES = [
    Case("wan.iface_down", "wan down, setting up, down", (("problem", (0, 2)),), {"iface": "wan"}),
    Case("wan.iface_down", "wan down, up a year later", (("problem", (0,)), ("clear", (1,))),
         {"iface": "wan"}),
    Case("wan.link_down", "tunnel link down", (("problem", (0,)),), {"dev": "ds-wan4"}),
    Case("wan.pppoe_discovery_timeout", "pado timeout", (("problem", (1,)), ("problem", (2,))), {}),
    Case("wan.ppp_auth_failed", "pap failed", (("problem", (0,)),), {}),
    Case("wan.dhcp_no_lease", "udhcpc no lease", (("problem", (2,)),), {"iface": ""}),
    Case("wan.dhcp_discover_retries", "udhcpc endless discover",
         (("problem", tuple(range(10))),), {"iface": "wan1"}),
    Case("wan.mwan3_track_failed", "mwan3 ping failures",
         (("problem", (0, 1, 2)), ("problem", (3, 4, 5)), ("problem", (6, 7, 8))),
         {"iface": "wan", "dev": "eth4"}),
    Case("wan.mwan3_track_failed", "mwan3 score dropping", (("problem", (0, 1, 2)),),
         {"iface": "wanb", "dev": "eth2"}),
    Case("wan.mwan3_interface_offline", "mwan3 offline then online",
         (("problem", (0,)), ("clear", (1,))), {"iface": "wanb", "dev": "eth2"}),
    Case("wan.dns_query_limit", "dnsmasq query limit", (("problem", (0,)), ("problem", (1,))),
         {"max": "150"}),
    Case("wan.dns_upstream_failed", "dnsmasq no servers", (("problem", (0,)),),
         {"file": "/tmp/resolv.conf.d/resolv.conf.auto"}),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_rule_finds_its_problem_in_real_lines(case: Case, shared_data: Path) -> None:
    check_case(case, LINES[case.lines](shared_data))


def test_an_interface_going_down_and_up_repeatedly_flaps(shared_data: Path) -> None:
    # netifd interface.c: netifd_log_message(L_NOTICE, "Interface '%s' is now %s\n", …, "up" /
    # "down"); the sample has no bouncing uplink, so this one bounces twice within a minute
    lines = [
        f"Thu Sep  2 18:44:{second:02d} 2021 daemon.notice netifd: Interface 'wan' is now {state}"
        for second, state in ((10, "down"), (20, "up"), (30, "down"), (40, "up"))
    ]
    found = of_rule(detect(lines), "wan.iface_down")
    assert [f.kind for f in found] == ["problem"]
    assert found[0].count >= 4 and found[0].labels["iface"] == "wan"


def test_interface_coming_up_alone_is_no_finding(shared_data: Path) -> None:
    # setting up, link connectivity, enabled, now up, eth1 link up (two reports)
    lines = corpus_lines(shared_data, 2, 56, 57, 58, 528, 529, 530, 531, 532, 538)
    assert problems(detect(lines)) == []


def test_dhcp_leases_renewals_and_releases_are_no_finding(shared_data: Path) -> None:
    lines = corpus_lines(shared_data, 60, 61, 62, 63, *range(481, 489), *range(432, 436))
    assert problems(detect(lines)) == []


def test_mwan3_hotplug_and_trackers_coming_online_are_no_finding(shared_data: Path) -> None:
    assert problems(detect(corpus_lines(shared_data, *range(539, 549)))) == []


def test_dnsmasq_start_and_lan_dhcp_are_no_finding(shared_data: Path) -> None:
    lines = corpus_lines(shared_data, *range(198, 206), 174, 175, 292, 293, 294, 295)
    assert problems(detect(lines)) == []
