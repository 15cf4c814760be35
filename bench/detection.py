"""Detection benchmark: the built-in rules on the labelled OpenWrt sample, no I/O.

Replays ``../shared/data/openwrt/openwrt_lines.log`` (read in place; ``OPSC_SHARED_DATA``
moves it) through the parser and the agents built from every built-in rule, runs their
timers far in the future, and prints against ``openwrt_lines_labels.csv``:

  (a) per domain: precision and recall of the domain the parser classified each line into
      (label ``other`` = our ``system`` or ``generic``);
  (b) per problem type (``note``): the share of its lines that are evidence of a finding of
      the line's domain;
  (c) findings whose evidence holds lines of benign types: "in a pattern" (a threshold or
      flap finding, where the repetition is the problem) or "alone";
  and the detection time per line (agents only, and parse + agents).

Each bug report in the sample is one device (the label file's ``source_url`` picks the
peer), so that lines of different reports never add up. Goal: domain precision and recall
≥ 0.95, every problem type detected, no benign line alone behind a finding — except
``ssh_login_ok``/``luci_login_ok``: an administrator login is reported on purpose (severity
info), and is counted here as what it is.

    python bench/detection.py
    python bench/detection.py --runs 20     # timing: median of 20 replays
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path

from opsconductor.agents.agent import build_agents
from opsconductor.agents.packs import builtin_packs
from opsconductor.messages import Event, Finding, RawEvent
from opsconductor.parse.service import Parser

SHARED_DATA = Path(
    os.environ.get("OPSC_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)
OPENWRT = SHARED_DATA / "openwrt"
RECEIVED_AT = 1780315200.0  # 2026-06-01 12:00:00 UTC, for lines that state no time
FAR_FUTURE = 4102444800.0  # 2100-01-01: every hold timer has run out
OTHER = {"system", "generic"}

PROBLEM: dict[str, str] = {
    "kernel_trace": "a kernel stack trace is the tail of an oops, warning or OOM report",
    "oom": "the kernel's memory report is printed when memory ran out",
    "oom_process_table": "the task table is part of the OOM report",
    "process_restart": "crond's clock-jump warning (with crond start/job lines mixed in)",
    "luci_login_failed": "a wrong password on the web interface",
    "ssh_bad_password": "a wrong SSH password",
    "ssh_max_auth_tries": "an SSH client used up its authentication attempts",
    "ssh_nonexistent_user": "a login attempt for an account that does not exist",
    "dns_max_concurrent": "dnsmasq drops queries: upstream DNS too slow or flooded",
    "dns_no_upstream": "dnsmasq has no upstream DNS server",
    "iface_down": "an uplink interface went down",
    "link_down": "the link under an uplink (here a tunnel) went down",
    "mwan3_track_fail": "mwan3's connectivity checks fail on an uplink",
    "pppoe_discovery_timeout": "the PPPoE concentrator does not answer",
    "ap_state_change": "an access point taken down (AP-DISABLED), mixed with its setup lines",
    "client_auth_fail": "the device as a WiFi client cannot authenticate",
    "dfs_event": "DFS channel switches, availability checks, no DFS channel left",
    "dfs_radar_detected": "radar forces the radio off its channel",
    "wifi_fw_crash": "the radio firmware crashed",
    "wpa_handshake_timeout": "stations time out in the WPA key handshake",
}
"""Notes whose lines are (or belong to) a problem, with the reason."""

BENIGN: dict[str, str] = {
    "lan_dhcp_server": "the LAN DHCP/RA server answering clients is normal operation",
    "lan_iface": "a LAN bridge coming up is normal operation",
    "service_misc": "service chatter (broken pipe of a CGI, an ignored IGMP packet)",
    "luci_login_ok": "a successful web login (reported as admin_login, severity info)",
    "ssh_connection": "an SSH connection opening or closing says nothing by itself",
    "ssh_exit_before_auth": "a client leaving before authenticating; failures are counted "
    "by their own lines",
    "ssh_login_ok": "a successful SSH login (reported as admin_login, severity info)",
    "dhcp_client": "udhcpc starting, renewing and obtaining leases is normal operation",
    "dhcp_client_release": "udhcpc releasing its lease when netifd stops the interface",
    "dhcpv6_client": "odhcp6c transactions on the uplink",
    "dns_service_info": "dnsmasq starting and reading its configuration",
    "iface_up": "an interface coming up is normal operation",
    "ipv6_ra_no_default_route": "odhcpd notes it has no IPv6 default route to announce: "
    "normal on an IPv4-only uplink",
    "link_up": "a link coming up is normal operation",
    "mwan3": "mwan3 hotplug events and trackers starting, interfaces online",
    "ppp_link_down": "mislabelled: odhcpd sending router advertisements on the LAN",
    "ppp_session": "pppd starting/stopping; its mwan3track lines are counted in a pattern",
    "wan_misc": "module-already-loaded and ubus permission chatter around an ifup",
    "acs_channel_selection": "automatic channel selection at radio start",
    "sta_auth_assoc": "stations authenticating and associating",
    "sta_connected": "a station connecting",
    "sta_deauth": "one station leaving; only a repeat (a threshold) is a problem",
    "sta_deauth_inactivity": "a station dropped after inactivity is normal",
    "sta_disconnected": "a station disconnecting",
    "wifi_driver": "driver information (firmware version, register dump lines, peer events)",
    "wifi_iface_bridge": "a WiFi interface joining or leaving the LAN bridge",
    "wpa_group_rekey": "the periodic group key rekey",
    "wpa_handshake_ok": "a completed key handshake",
}
"""Notes whose lines are normal operation, with the reason."""

PATTERN_KINDS = {"threshold", "state"}
"""Kinds whose findings stand for a repetition (a threshold reached, a state flapping/held)."""


def load() -> tuple[list[bytes], list[dict[str, str]]]:
    """The sample's lines and its labels."""
    lines = (OPENWRT / "openwrt_lines.log").read_bytes().split(b"\n")
    with (OPENWRT / "openwrt_lines_labels.csv").open(encoding="utf-8") as handle:
        labels = list(csv.DictReader(handle))
    notes = {label["note"] for label in labels}
    unsorted = notes - PROBLEM.keys() - BENIGN.keys()
    assert not unsorted, f"notes in neither PROBLEM nor BENIGN: {sorted(unsorted)}"
    assert not PROBLEM.keys() & BENIGN.keys(), "a note is both a problem and benign"
    return lines, labels


def raw_events(lines: Sequence[bytes], labels: Sequence[dict[str, str]]) -> list[RawEvent]:
    """One RawEvent per labelled line, id ``L<line>``, one peer per source report."""
    peers: dict[str, str] = {}
    out = []
    for label in labels:
        source = label["source_url"]
        peer = peers.setdefault(source, f"198.51.100.{len(peers) + 1}:514")
        number = int(label["line_number"])
        out.append(RawEvent(f"L{number}", RECEIVED_AT, "udp", peer, lines[number - 1]))
    return out


def replay(parser: Parser, raws: Sequence[RawEvent]) -> tuple[list[Event], list[Finding], float]:
    """Parse, evaluate every event, tick far ahead; the agents' time in seconds."""
    events = [parser.parse_one(raw) for raw in raws]
    typed = [e for e in events if isinstance(e, Event)]
    assert len(typed) == len(raws), "a line did not become an event"
    rules = [rule for pack in builtin_packs().values() for rule in pack]
    agents = build_agents(rules)
    findings: list[Finding] = []
    started = time.perf_counter()
    for event in typed:
        for agent in agents.values():
            findings.extend(d.finding for d in agent.handle([event]))
    for agent in agents.values():
        findings.extend(d.finding for d in agent.tick(FAR_FUTURE))
    return typed, findings, time.perf_counter() - started


def label_domain(domain: str) -> str:
    """Our domain in the label file's words."""
    return "other" if domain in OTHER else domain


def report_domains(events: Sequence[Event], labels: Sequence[dict[str, str]]) -> None:
    true_pos: Counter[str] = Counter()
    predicted: Counter[str] = Counter()
    actual: Counter[str] = Counter()
    wrong = []
    for event, label in zip(events, labels, strict=True):
        want, got = label["domain"], label_domain(event.domain)
        actual[want] += 1
        predicted[got] += 1
        true_pos[want] += want == got
        if want != got:
            wrong.append((label["line_number"], want, got, label["note"], event.message[:60]))
    print("(a) classification against the labels")
    print(f"  {'domain':10} {'precision':>9} {'recall':>7} {'lines':>6}")
    for domain in sorted(actual):
        precision = true_pos[domain] / predicted[domain] if predicted[domain] else 0.0
        recall = true_pos[domain] / actual[domain]
        flag = "" if min(precision, recall) >= 0.95 else "   < 0.95"
        print(f"  {domain:10} {precision:9.3f} {recall:7.3f} {actual[domain]:6}{flag}")
    for number, want, got, note, text in wrong:
        print(f"  line {number}: labelled {want} ({note}), classified {got}: {text!r}")


def report_problems(
    events: Sequence[Event], labels: Sequence[dict[str, str]], findings: Sequence[Finding]
) -> None:
    by_event: dict[str, list[Finding]] = defaultdict(list)
    for finding in findings:
        for event_id in finding.evidence:
            by_event[event_id].append(finding)
    lines: Counter[str] = Counter()
    hit: Counter[str] = Counter()
    rules_of: dict[str, set[str]] = defaultdict(set)
    for event, label in zip(events, labels, strict=True):
        note = label["note"]
        if note not in PROBLEM:
            continue
        lines[note] += 1
        mine = [
            f
            for f in by_event[event.id]
            if f.kind == "problem" and label_domain(f.domain) == label["domain"]
        ]
        hit[note] += bool(mine)
        rules_of[note].update(f.rule_id for f in mine)
    print(
        "\n(b) problem types: share of their lines that are evidence of a finding of their domain"
    )
    print(f"  {'note':26} {'lines':>5} {'found':>5} {'share':>6}  rules")
    for note in sorted(lines):
        share = hit[note] / lines[note]
        rules = ", ".join(sorted(rules_of[note])) or "-- NOT DETECTED --"
        print(f"  {note:26} {lines[note]:5} {hit[note]:5} {share:6.0%}  {rules}")
    missed = [note for note in lines if not hit[note]]
    print(f"  problem types detected: {len(lines) - len(missed)}/{len(lines)}")


def report_benign(
    labels: Sequence[dict[str, str]], findings: Sequence[Finding], kinds: dict[str, str]
) -> None:
    note_of = {f"L{label['line_number']}": label["note"] for label in labels}
    pattern: Counter[str] = Counter()
    alone: Counter[str] = Counter()
    problems = [f for f in findings if f.kind == "problem"]
    for finding in problems:
        benign = sorted({note_of[e] for e in finding.evidence if note_of[e] in BENIGN})
        if not benign:
            continue
        where = pattern if kinds[finding.rule_id] in PATTERN_KINDS else alone
        where[f"{finding.rule_id} <- {', '.join(benign)}"] += 1
    clears = sum(f.kind == "clear" for f in findings)
    print(f"\n(c) findings: {len(problems)} problems, {clears} clears")
    print(f"  from benign lines in a pattern (threshold/state): {sum(pattern.values())}")
    for key, count in sorted(pattern.items()):
        print(f"    {count:3}  {key}")
    print(f"  from benign lines alone: {sum(alone.values())}")
    for key, count in sorted(alone.items()):
        print(f"    {count:3}  {key}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="replays timed (median)")
    args = parser.parse_args()

    lines, labels = load()
    raws = raw_events(lines, labels)
    product_parser = Parser()
    kinds = {rule.id: rule.kind for pack in builtin_packs().values() for rule in pack}
    events, findings, _ = replay(product_parser, raws)
    print(f"{len(events)} labelled lines, {len(kinds)} built-in rules\n")
    report_domains(events, labels)
    report_problems(events, labels, findings)
    report_benign(labels, findings, kinds)

    agent_times, total_times = [], []
    for _ in range(args.runs):
        started = time.perf_counter()
        _, _, agents_only = replay(product_parser, raws)
        total_times.append(time.perf_counter() - started)
        agent_times.append(agents_only)
    per_line = 1e6 / len(raws)
    print(
        f"\ndetection time per line (median of {args.runs}): agents "
        f"{statistics.median(agent_times) * per_line:.1f} µs, parse + agents "
        f"{statistics.median(total_times) * per_line:.1f} µs"
    )


if __name__ == "__main__":
    main()
