"""Health and WAN rules on output captured from the real programs, where the shared sample
has no such line: the Linux kernel (a real segfault, a real OOM kill in a memory cgroup),
coreutils on a full device, hostapd without a wireless driver, busybox udhcpc without a DHCP
server, and the kernel's netfilter
log of an nftables rule written the way OpenWrt's fw4 writes it (the last two in a network
namespace of their own).

Each capture is turned into the line OpenWrt's ``logread`` would show for it and fed to the
agents built from every built-in rule.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pack_helpers import detect, of_rule, problems
from tests.conftest import missing

STAMP = "Wed Dec  2 05:55:00 2026"
MEMORY_CGROUP = Path("/sys/fs/cgroup/memory")


def _dmesg() -> list[str]:
    done = subprocess.run(["dmesg"], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        missing(f"the kernel log (dmesg: {done.stderr.strip()})")
    return done.stdout.splitlines()


def _stamp(line: str) -> float:
    """The uptime a dmesg line starts with (``[ 4565.057881] …``)."""
    try:
        return float(line[1 : line.index("]")])
    except ValueError:
        return 0.0


def _now_in_kernel_log() -> float:
    """The stamp of the kernel's latest message: what comes later is new. (The log is a ring:
    counting lines would break once it wraps.)"""
    lines = _dmesg()
    return _stamp(lines[-1]) if lines else 0.0


def _kernel_lines(after: float, *needles: str) -> list[str]:
    """Kernel messages stamped after ``after`` holding any of ``needles``, in the form
    ``logread`` gives them (``kern.* kernel: [uptime] text``)."""
    found = [line for line in _dmesg() if _stamp(line) > after and any(n in line for n in needles)]
    return [f"{STAMP} kern.info kernel: {line}" for line in found]


def _wait_kernel_lines(after: float, *needles: str) -> list[str]:
    for _ in range(50):
        found = _kernel_lines(after, *needles)
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"the kernel logged none of {needles}")


def test_a_real_segfault() -> None:
    before = _now_in_kernel_log()
    crashed = subprocess.run(
        [sys.executable, "-c", "import ctypes; ctypes.string_at(0)"],
        capture_output=True,
        check=False,
    )
    assert crashed.returncode == -11  # SIGSEGV
    lines = _wait_kernel_lines(before, "segfault at")
    found = of_rule(problems(detect(lines[-1:])), "health.segfault")
    assert len(found) == 1
    assert found[0].labels["process"].startswith("python")


@pytest.fixture
def memory_cgroup() -> Iterator[Path]:
    """A memory cgroup (v1) with a 48 MiB limit, removed afterwards."""
    if not os.access(MEMORY_CGROUP, os.W_OK):
        missing(f"a writable memory cgroup hierarchy at {MEMORY_CGROUP}")
    group = MEMORY_CGROUP / f"opsc-test-{secrets.token_hex(4)}"
    group.mkdir()
    (group / "memory.limit_in_bytes").write_text(str(48 * 1024 * 1024))
    try:
        yield group
    finally:
        for _ in range(50):
            try:
                group.rmdir()
                break
            except OSError:
                time.sleep(0.1)


def test_a_real_oom_kill(memory_cgroup: Path) -> None:
    before = _now_in_kernel_log()
    hog = (
        f"import os; open({str(memory_cgroup / 'cgroup.procs')!r}, 'w').write(str(os.getpid()));"
        "x = [bytearray(1 << 20) for _ in range(400)]"
    )
    killed = subprocess.run([sys.executable, "-c", hog], capture_output=True, check=False)
    assert killed.returncode == -9  # the OOM killer's SIGKILL
    lines = _wait_kernel_lines(before, "invoked oom-killer", "Killed process")
    found = of_rule(problems(detect(lines)), "health.oom_kill")
    assert found, lines


def test_a_real_write_to_a_full_device() -> None:
    written = subprocess.run(
        ["dd", "if=/dev/zero", "of=/dev/full", "count=1"],
        capture_output=True,
        text=True,
        check=False,
    )
    error = written.stderr.splitlines()[0]  # dd: writing to '/dev/full': No space left on device
    assert "No space left on device" in error
    line = f"{STAMP} daemon.err dd[4242]: {error.removeprefix('dd: ')}"
    assert len(of_rule(problems(detect([line])), "health.storage_full")) == 1


@pytest.fixture
def namespace() -> Iterator[str]:
    """A network namespace with one veth pair up and nothing else (no DHCP server)."""
    if shutil.which("ip") is None or shutil.which("busybox") is None:
        missing("iproute2 (`ip`) and busybox (udhcpc)")
    name = f"opsc-dhcp-{secrets.token_hex(3)}"
    added = subprocess.run(["ip", "netns", "add", name], capture_output=True, check=False)
    if added.returncode != 0:
        missing("network namespaces (`ip netns add` failed)")
    try:
        run = ["ip", "netns", "exec", name]
        subprocess.run([*run, "ip", "link", "add", "v0", "type", "veth", "peer", "v1"], check=True)
        for link in ("v0", "v1"):
            subprocess.run([*run, "ip", "link", "set", link, "up"], check=True)
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)


def test_a_real_dhcp_client_without_a_lease(namespace: str) -> None:
    client = subprocess.run(
        ["ip", "netns", "exec", namespace, "busybox", "udhcpc", "-i", "v0", "-n", "-q",
         "-t", "2", "-T", "1", "-s", "/bin/true"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    output = [line for line in client.stderr.splitlines() if line.startswith("udhcpc:")]
    assert "udhcpc: no lease, failing" in output
    lines = [f"{STAMP} daemon.notice netifd: wan (1234): {line}" for line in output]
    found = of_rule(problems(detect(lines)), "wan.dhcp_no_lease")
    assert len(found) == 1


FW4_RULES = """
table inet fw4 {
  chain input_wan {
    type filter hook input priority filter; policy accept;
    ip saddr 203.0.113.66 tcp dport 22 log prefix "drop wan in: " drop
  }
}
"""
NF_LOG_ALL_NETNS = Path("/proc/sys/net/netfilter/nf_log_all_netns")


@pytest.fixture
def firewalled(namespace: str) -> Iterator[str]:
    """``namespace`` with fw4's kind of logging drop rule, and the kernel logging netfilter
    messages of namespaces other than the first (restored afterwards)."""
    if shutil.which("nft") is None or not NF_LOG_ALL_NETNS.exists():
        missing("nftables (`nft`) and netfilter logging")
    run = ["ip", "netns", "exec", namespace]
    subprocess.run([*run, "nft", "-f", "-"], input=FW4_RULES, text=True, check=True)
    subprocess.run([*run, "ip", "addr", "add", "203.0.113.66/32", "dev", "lo"], check=True)
    subprocess.run([*run, "ip", "link", "set", "lo", "up"], check=True)
    before = NF_LOG_ALL_NETNS.read_text()
    NF_LOG_ALL_NETNS.write_text("1")
    try:
        yield namespace
    finally:
        NF_LOG_ALL_NETNS.write_text(before)


def _syn_flood(namespace: str, count: int) -> None:
    knock = (
        "import socket\n"
        f"for _ in range({count}):\n"
        "    s = socket.socket(); s.settimeout(0.02); s.bind(('203.0.113.66', 0))\n"
        "    try: s.connect(('203.0.113.66', 22))\n"
        "    except OSError: pass\n"
        "    s.close()\n"
    )
    run = ["ip", "netns", "exec", namespace, sys.executable, "-c", knock]
    subprocess.run(run, check=True, timeout=60)


def test_a_real_firewall_flood(firewalled: str) -> None:
    before = _now_in_kernel_log()
    _syn_flood(firewalled, 25)
    time.sleep(0.2)
    lines = _kernel_lines(before, "drop wan in: ")
    assert len(lines) >= 20, lines
    found = of_rule(problems(detect(lines)), "security.firewall_flood")
    assert len(found) == 1
    assert found[0].labels["src"] == "203.0.113.66"
    assert found[0].count == 20


def test_a_real_hostapd_that_cannot_bring_its_ap_up(tmp_path: Path) -> None:
    """hostapd on a machine without a wireless driver: the interface goes to DISABLED."""
    if shutil.which("hostapd") is None:
        missing("hostapd")
    config = tmp_path / "hostapd.conf"
    config.write_text("interface=wlan0\ndriver=nl80211\nssid=opsc\nhw_mode=g\nchannel=6\n")
    ran = subprocess.run(
        ["hostapd", str(config)], capture_output=True, text=True, timeout=30, check=False
    )
    output = [line.strip() for line in ran.stdout.splitlines() if line.strip()]
    assert "wlan0: AP-DISABLED" in output, output
    lines = [f"{STAMP} daemon.notice hostapd: {line}" for line in output]
    found = of_rule(problems(detect(lines)), "wifi.ap_disabled")
    assert [f.labels["iface"] for f in found] == ["wlan0"] * len(found) and found
