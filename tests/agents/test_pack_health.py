"""Health rules on real lines: OOM reports, stack traces, and — where the sample has none —
lines as the kernel, procd and busybox print them (their source named at each)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from pack_helpers import Case, check_case, corpus_lines, detect, problems

# Linux mm/oom_kill.c: dump_header() "%s invoked oom-killer: gfp_mask=%#x(%pGg), order=%d,
# oom_score_adj=%hd" and __oom_kill_process() "%s: Killed process %d (%s) total-vm:%lukB, …"
OOM_INVOKED = (
    "Tue Jul 29 06:26:59 2025 kern.warn kernel: [161775.301002] dnsmasq invoked oom-killer: "
    "gfp_mask=0x140cca(GFP_HIGHUSER_MOVABLE|__GFP_COMP), order=0, oom_score_adj=0"
)
OOM_KILLED = (
    "Tue Jul 29 06:26:59 2025 kern.err kernel: [161775.502131] Out of memory: Killed process "
    "4274 (dnsmasq) total-vm:1712kB, anon-rss:400kB, file-rss:752kB, shmem-rss:0kB, UID:453 "
    "pgtables:20kB oom_score_adj:0"
)
# Linux arch/mips/mm/fault.c: "do_page_fault(): sending SIGSEGV to %s for invalid %s %0*lx"
MIPS_SEGV = (
    "Sat Jan 25 09:40:15 2020 kern.info kernel: [22040.700011] do_page_fault(): sending "
    "SIGSEGV to hostapd for invalid read access from 00000000"
)
# Linux arch/x86/mm/fault.c show_signal_msg(): "%s%s[%d]: segfault at %lx ip %px sp %px error %lx"
X86_SEGV = (
    "[ 1234.567890] odhcpd[2319]: segfault at 0 ip 00007f1c2a3b4c5d sp 00007ffd1e2f3a40 error 4"
)
# procd service/instance.c instance_exit(): "Instance %s::%s s in a crash loop %d crashes, %ld
# seconds since last crash"
CRASH_LOOP = (
    "Thu May  1 09:13:25 2025 daemon.info procd: Instance uhttpd::instance1 s in a crash loop "
    "6 crashes, 0 seconds since last crash"
)
# busybox init/init.c: "process '%s' (pid %u) exited. Scheduling for restart."
INIT_RESPAWN = (
    "Jan  1 00:01:{s:02d} init: process '/sbin/getty' (pid {pid}) exited. Scheduling for restart."
)
# Linux drivers/watchdog/softdog.c: pr_crit("Initiating system reboot\n") with "softdog: "
SOFTDOG = (
    "Sat Jan 25 09:41:02 2020 kern.crit kernel: [22087.000000] softdog: Initiating system reboot"
)
# the kernel's VFS errno text, as opkg/logd print it; jffs2 fs/jffs2/gc.c: "Error garbage
# collecting node at 0x%08x!" with pr_fmt "jffs2: "
NO_SPACE = "Sat Aug  7 15:25:30 2021 daemon.err logd[1121]: write failed: No space left on device"
JFFS2 = (
    "Sat Aug  7 15:25:31 2021 kern.err kernel: [ 7331.213124] "
    "jffs2: Error garbage collecting node at 0x00f3a1c4!"
)
# Linux kernel/panic.c: "Kernel panic - not syncing: %s"
PANIC = "<0>[22041.000000] Kernel panic - not syncing: Fatal exception in interrupt"

LINES: dict[str, Callable[[Path], list[bytes | str]]] = {
    "oom invoked": lambda d: [OOM_INVOKED],
    "oom killed": lambda d: [OOM_KILLED],
    "mtk memory report": lambda d: corpus_lines(d, *range(26, 41)),
    "oom task table": lambda d: corpus_lines(d, *range(463, 472)),
    "mips segv": lambda d: [MIPS_SEGV],
    "x86 segv": lambda d: [X86_SEGV],
    "crash loop": lambda d: [CRASH_LOOP],
    "init respawns": lambda d: [INIT_RESPAWN.format(s=n, pid=900 + n) for n in range(3)],
    "softdog": lambda d: [SOFTDOG],
    "no space": lambda d: [NO_SPACE],
    "jffs2": lambda d: [JFFS2],
    "panic": lambda d: [PANIC],
    "stack frames": lambda d: corpus_lines(d, *range(121, 126)),
}

CASES = [
    Case("health.oom_kill", "oom invoked", (("problem", (0,)),), {"invoker": "dnsmasq"}),
    Case("health.oom_kill", "oom killed", (("problem", (0,)),),
         {"pid": "4274", "process": "dnsmasq"}),
    Case("health.memory_report", "mtk memory report",
         (("problem", (0, 1, 2, 3, 4)), ("problem", (5, 6, 7, 8, 9)),
          ("problem", (10, 11, 12, 13, 14))), {}),
    Case("health.memory_report", "oom task table", (("problem", (0, 1, 2, 3, 4)),), {}),
    Case("health.segfault", "mips segv", (("problem", (0,)),), {"process": "hostapd"}),
    Case("health.segfault", "x86 segv", (("problem", (0,)),), {"process": "odhcpd"}),
    Case("health.procd_crash_loop", "crash loop", (("problem", (0,)),),
         {"service": "uhttpd", "instance": "instance1", "crashes": "6"}),
    Case("health.service_respawning", "init respawns", (("problem", (0, 1, 2)),),
         {"service": "/sbin/getty"}),
    Case("health.watchdog_reset", "softdog", (("problem", (0,)),), {}),
    Case("health.storage_full", "no space", (("problem", (0,)),),
         {"problem": "No space left on device"}),
    Case("health.storage_full", "jffs2", (("problem", (0,)),), {"problem": "jffs2: Error"}),
    Case("health.kernel_oops", "panic", (("problem", (0,)),),
         {"what": "Kernel panic - not syncing"}),
    Case("health.kernel_trace", "stack frames", (("problem", (0, 1, 2)),), {}),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_rule_finds_its_problem_in_real_lines(case: Case, shared_data: Path) -> None:
    check_case(case, LINES[case.lines](shared_data))


def test_procd_watchdog_banner_and_cron_jobs_are_no_finding(shared_data: Path) -> None:
    # crond started / running a job; procd's boot banner "- watchdog -" (procd state.c)
    lines = corpus_lines(shared_data, 162, 197)
    lines.append("Thu Jan  1 00:00:12 1970 user.info procd: - watchdog -")
    assert problems(detect(lines)) == []


def test_a_few_memory_lines_are_no_report(shared_data: Path) -> None:
    # four counter lines alone (fewer than a report has) do not make a finding
    assert problems(detect(corpus_lines(shared_data, 127, 128, 129, 130))) == []
