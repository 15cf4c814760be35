"""Security rules on real lines: dropbear (OpenWrt and fail2ban's samples), OpenSSH (loghub,
fail2ban), LuCI, and the firewall's log lines."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from pack_helpers import Case, check_case, corpus_lines, detect, file_lines, ids, of_rule, problems

DROPBEAR_F2B = "openwrt/fail2ban_labeled/dropbear.log"
SSHD_F2B = "openwrt/fail2ban_labeled/sshd.log"
OPENSSH = "loghub/OpenSSH/OpenSSH_2k.log"

# fw4 logs dropped packets with the rule's prefix ("drop wan in: ", see fw4's ruleset
# template `log prefix "drop wan in: "`); the rest is the kernel's netfilter log format
# (net/netfilter/nf_log_syslog.c: "IN=%s OUT=%s MAC=… SRC=%pI4 DST=%pI4 LEN=%u …").
FW4_DROP = (
    "Mon Mar 23 13:16:49 2026 kern.warn kernel: [311423.870453] drop wan in: IN=eth1 OUT= "
    "MAC=00:00:5e:00:53:0a:00:00:5e:00:53:0b:08:00 SRC=203.0.113.50 DST=198.51.100.20 LEN=44 "
    "TOS=0x00 PREC=0x00 TTL=244 ID=54321 PROTO=TCP SPT={port} DPT=23 WINDOW=1024 RES=0x00 "
    "SYN URGP=0"
)

LINES: dict[str, Callable[[Path], list[bytes | str]]] = {
    # wl500g dropbear: eight wrong passwords from one address within 15 s
    "dropbear burst": lambda d: corpus_lines(d, *range(207, 215)),
    "dropbear one": lambda d: corpus_lines(d, 46),
    "openssh failed password": lambda d: file_lines(
        d, OPENSSH, "Failed password for invalid user webmaster from 173.234.31.186"
    ),
    "openssh ipv6 failed password": lambda d: file_lines(
        d,
        SSHD_F2B,
        "Failed password for invalid user ROOT from aaaa:bbbb:cccc:1234::1:1 port 50273 ssh2",
    ),
    "dropbear max auth tries": lambda d: corpus_lines(d, 111),
    "fail2ban max auth tries": lambda d: file_lines(
        d, DROPBEAR_F2B, "10 fails): Max auth tries reached - user 'root' from"
    ),
    "dropbear nonexistent user": lambda d: corpus_lines(d, 110),
    "fail2ban nonexistent user v6": lambda d: file_lines(
        d, DROPBEAR_F2B, "nonexistent user from ::ffff:198.51.100.215:60495"
    ),
    "openssh invalid user": lambda d: file_lines(
        d, OPENSSH, "Invalid user webmaster from 173.234.31.186"
    ),
    "luci failed": lambda d: corpus_lines(d, 164),
    "dropbear root login": lambda d: corpus_lines(d, 160, 161),
    "luci root login": lambda d: corpus_lines(d, 158),
    "luci root login glued": lambda d: corpus_lines(d, 183),
    "fw4 drops": lambda d: [FW4_DROP.format(port=40000 + n) for n in range(20)],
}

CASES = [
    Case("security.ssh_password_failed", "dropbear one", (("problem", (0,)),),
         {"user": "root", "src": "213.6.130.133"}),
    Case("security.ssh_password_failed", "openssh failed password", (("problem", (0,)),),
         {"ssh_user": "webmaster", "src": "173.234.31.186"}),
    Case("security.ssh_password_failed", "openssh ipv6 failed password", (("problem", (0,)),),
         {"src": "aaaa:bbbb:cccc:1234::1:1"}),
    Case("security.ssh_brute_force", "dropbear burst", (("problem", (0, 1, 2, 3, 4)),),
         {"src": "10.0.0.101"}),
    Case("security.ssh_max_auth_tries", "dropbear max auth tries", (("problem", (0,)),),
         {"src": "125.70.52.249"}),
    Case("security.ssh_max_auth_tries", "fail2ban max auth tries", (("problem", (0,)),),
         {"src": "1.2.3.4"}),
    Case("security.ssh_invalid_user", "dropbear nonexistent user", (("problem", (0,)),),
         {"src": ""}),
    Case("security.ssh_invalid_user", "fail2ban nonexistent user v6", (("problem", (0,)),),
         {"src": "::ffff:198.51.100.215"}),
    Case("security.ssh_invalid_user", "openssh invalid user", (("problem", (0,)),),
         {"user": "webmaster", "src": "173.234.31.186"}),
    Case("security.luci_login_failed", "luci failed", (("problem", (0,)),),
         {"user": "root", "src": "192.168.0.205"}),
    Case("security.admin_login", "dropbear root login", (("problem", (1,)),),
         {"user": "root", "src": "192.168.0.205"}),
    Case("security.admin_login", "luci root login", (("problem", (0,)),),
         {"user": "root", "src": "192.168.0.205"}),
    Case("security.admin_login", "luci root login glued", (("problem", (0,)),),
         {"src": "192.168.100.39"}),
    Case("security.firewall_flood", "fw4 drops", (("problem", tuple(range(20))),),
         {"src": "203.0.113.50", "action": "drop", "in": "eth1"}),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_rule_finds_its_problem_in_real_lines(case: Case, shared_data: Path) -> None:
    check_case(case, LINES[case.lines](shared_data))


def test_brute_force_counts_per_source(shared_data: Path) -> None:
    # two failures from two addresses (Wed Mar 24 2021 excerpt) are no brute force
    found = detect(corpus_lines(shared_data, *range(41, 52)))
    assert of_rule(found, "security.ssh_brute_force") == []
    assert [f.labels["src"] for f in of_rule(found, "security.ssh_password_failed")] == [
        "213.6.130.133",
        "188.166.185.16",
    ]


def test_openssh_brute_force_from_loghub(shared_data: Path) -> None:
    # per attempt: "Invalid user", a pam line, "Failed password for invalid user", a disconnect
    lines = file_lines(shared_data, OPENSSH, "183.62.140.253", count=12)
    found = of_rule(detect(lines), "security.ssh_brute_force")
    assert [(f.labels["src"], f.evidence, f.count) for f in found] == [
        ("183.62.140.253", ids(0, 2, 4, 6, 9), 5)
    ]


def test_connections_and_clean_exits_are_no_finding(shared_data: Path) -> None:
    # Child connection, Not backgrounding, Exit (root): Exited normally, Exit before auth
    lines = corpus_lines(shared_data, 43, 44, 160, 163, 166, 518, 552, 553)
    assert problems(detect(lines)) == []


def test_a_login_of_an_ordinary_user_is_no_finding(shared_data: Path) -> None:
    lines = file_lines(shared_data, OPENSSH, "Accepted password for fztu")
    assert problems(detect(lines)) == []


def test_a_few_firewall_drops_are_no_flood() -> None:
    assert problems(detect([FW4_DROP.format(port=40000 + n) for n in range(5)])) == []
