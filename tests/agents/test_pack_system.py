"""System rules on real lines, and the check that every built-in rule has such a test."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import test_pack_health
import test_pack_security
import test_pack_wan
import test_pack_wifi
from pack_helpers import (
    Case,
    all_rules,
    check_case,
    corpus_lines,
    detect,
    file_lines,
    ids,
    of_rule,
    problems,
)
from tests.conftest import missing

# busybox networking/ntpd.c: bb_info_msg("setting time to %s.%06u (offset %+fs)", …)
NTP_STEP = (
    "Sun Jan  9 20:22:53 2022 daemon.notice ntpd[1523]: setting time to "
    "2022-01-09 20:22:53.104578 (offset +860598.961243s)"
)
NTP_SMALL_STEP = (
    "Sun Jan  9 21:22:53 2022 daemon.notice ntpd[1523]: setting time to "
    "2022-01-09 21:22:53.104578 (offset +0.961243s)"
)
# busybox libbb/xconnect.c str2sockaddr(): bb_error_msg("bad address '%s'", host) — the same
# function printed "nc: bad address 'nonexistent.invalid'" from `busybox nc` here
NTP_BAD_ADDRESS = (
    "Sun Jan  9 20:2{n}:00 2022 daemon.err ntpd[1523]: bad address '0.openwrt.pool.ntp.org'"
)
# ubox kmodloader.c: ULOG_ERR("%d module%s could not be probed\n", …)
KMOD = "Thu Jan  1 00:00:09 1970 kern.err kmodloader: 1 module could not be probed"

LINES: dict[str, Callable[[Path], list[bytes | str]]] = {
    "crond time disparity": lambda d: corpus_lines(d, 159),
    "ntp step": lambda d: [NTP_STEP],
    "ntp bad address x3": lambda d: [NTP_BAD_ADDRESS.format(n=n) for n in range(3)],
    "logrotate alert": lambda d: file_lines(d, "loghub/Linux/Linux_2k.log", "logrotate: ALERT"),
    "kmodloader": lambda d: [KMOD],
}

CASES = [
    Case("system.time_jump", "crond time disparity", (("problem", (0,)),), {"minutes": "14343"}),
    Case("system.ntp_step", "ntp step", (("problem", (0,)),), {"offset": "+860598.961243"}),
    Case("system.ntp_unreachable", "ntp bad address x3", (("problem", (0, 1, 2)),),
         {"server": "0.openwrt.pool.ntp.org"}),
    Case("system.cron_job_failed", "logrotate alert", (("problem", (0,)),), {"code": "1"}),
    Case("system.kmod_probe_failed", "kmodloader", (("problem", (0,)),), {"count": "1"}),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_rule_finds_its_problem_in_real_lines(case: Case, shared_data: Path) -> None:
    check_case(case, LINES[case.lines](shared_data))


def test_a_small_ntp_correction_and_cron_jobs_are_no_finding(shared_data: Path) -> None:
    lines = [NTP_SMALL_STEP, *corpus_lines(shared_data, 162, 197)]
    assert problems(detect(lines)) == []


def _heartbeat(minute: int) -> str:
    """A heartbeat as util-linux ``logger`` sends it (captured from its ``--stderr`` copy),
    with the minute of the hour it states set to ``minute``."""
    sent = subprocess.run(
        ["logger", "--stderr", "--rfc3164", "-n", "127.0.0.1", "-P", "9", "-d",
         "-t", "heartbeat", "alive"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    line = sent.stderr.strip()
    assert line.startswith("<13>") and line.endswith("heartbeat: alive"), line
    stamp = line.index(":") - 2  # "<13>Mmm dd HH:MM:SS host …"
    return f"{line[:stamp]}10:{minute:02d}{line[stamp + 5 :]}"


def test_a_lost_heartbeat_is_found_and_cleared_by_the_next() -> None:
    if shutil.which("logger") is None:
        missing("util-linux logger")
    lines = [_heartbeat(0), _heartbeat(5), _heartbeat(40)]  # 35 minutes of silence
    found = of_rule(detect(lines, tick=False), "system.heartbeat_lost")
    assert [(f.kind, f.evidence) for f in found] == [("problem", ids(1)), ("clear", ids(2))]
    # a device that falls silent now: the timer concludes
    timed = of_rule(detect(lines[:2]), "system.heartbeat_lost")
    assert [(f.kind, f.evidence) for f in timed] == [("problem", ids(1))]


def test_every_builtin_rule_has_a_test_on_real_lines() -> None:
    tested = (
        {
            case.rule_id
            for module in (test_pack_wifi, test_pack_security, test_pack_health, test_pack_wan)
            for case in module.CASES
        }
        | {case.rule_id for case in CASES}
        | {"system.heartbeat_lost"}
    )
    builtin = {rule.id for rule in all_rules()}
    assert builtin - tested == set(), "built-in rules without a test"
    assert tested - builtin == set(), "tests of rules that are not built in"
