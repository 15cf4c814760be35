"""Syslog ingest benchmark: ``opsconductor up`` against rsyslog on the same machine.

Prints, for UDP and TCP, the highest sustained zero-loss rate of ``opsconductor up`` (msgs/s,
median of ``--runs`` runs, default 5) and, in the same run, the rate rsyslog (imudp/imtcp →
one file) sustains, with the ratio. Goal: ≥150,000 msgs/s UDP ingest+parse in one process,
and ≥0.5x rsyslog.

    python bench/ingest.py                        # defaults: ~6 min on a 2-core machine
    python bench/ingest.py --runs 1 --duration 2  # a quick look

What is sent
    The 561 lines of the shared OpenWrt sample (../shared/data/openwrt/openwrt_lines.log)
    rewritten as RFC 3164 records, ``<PRI>Mmm dd hh:mm:ss host prog[pid]: msg`` (PRI from
    the line's ``facility.severity``, 16 host names; see ``_common.rfc3164_lines``), ~107
    bytes each, cycled. UDP: one record per datagram. TCP: LF framing (``--framing octet``
    for RFC 6587 octet counting).

How opsconductor is counted
    ``python -m opsconductor up`` (embedded: SQLite, in-process bus, every stage incl. store)
    runs as a subprocess with a fresh ``OPSC_DATA_DIR`` and free loopback ports, TLS off.
    "Taken in" is read from its ``/metrics``: ``opsc_records_parsed_total`` (all statuses) +
    ``opsc_records_unparsed_total`` + ``opsc_records_dead_lettered_total{stage="parse"}``.
    Loss is ``opsc_records_dropped_total`` + ``opsc_udp_kernel_drops``, and sent - parsed once
    the counts have settled. Events stored are reported alongside but not required.

How rsyslog is counted
    ``rsyslogd -n -f CONF`` with imudp (8 MiB receive buffer like the product's, one input
    thread) and imtcp on loopback, a FixedArray main queue (100k, dequeue batches of 1024),
    and one ``omfile`` action with a 1 MiB I/O buffer written once per dequeued batch
    (``flushOnTXEnd="on"``: one write() per ≤1024 records, so the file shows what rsyslog has
    done within one batch; ``asyncWriting`` would add up to a second of flush delay to the
    TCP timing), DNS off, its own messages filtered to another file
    (``_common.RSYSLOG_CONF``). Taken in = lines added to the output file; loss adds the
    kernel drop count of its UDP socket.

UDP: highest zero-loss rate
    A separate Python sender process (``--senders`` processes) sends pre-built datagrams on a
    connected socket, paced in ~1 ms bursts, for ``--duration`` s per trial. A trial passes
    when nothing was dropped and everything sent was taken in once the counts settle (they stop
    moving and the product's queues are empty). The search starts at ``--start-rate``, doubles
    until a trial loses records, then bisects until the bracket is within ``--precision``
    (10 %); the result is the rate actually achieved by the best passing trial. Each search
    (one "run") gets a freshly started product / rsyslog. If the sender cannot reach the rate
    asked for, the search stops there and the result is marked ``>=`` (sender-bound): the
    sender's own ceiling is measured first and printed.

TCP: throughput
    TCP is lossless (backpressure), so the rate is ``--tcp-messages`` records sent as fast as
    possible over ``--tcp-connections`` connections, divided by the time from the first byte
    to the last record taken in (counts polled every 20 ms). Median of ``--runs``.

The machine
    Everything — the product (one process), rsyslog (several threads), the sender process and
    this driver — shares the machine's cores (2 here), so each figure is "on this machine with
    the sender on it too"; the sender costs the receiver about one core at high UDP rates.
    The figures are measurements, not tests: nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import math
import socket
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    Product,
    fmt_rate,
    fmt_runs,
    install_cleanup,
    log,
    median,
    print_table,
    rfc3164_lines,
)
from _rsyslog import Rsyslog
from _senders import lf_framed, octet_counted, send_udp, start_tcp_send

UDP_GOAL = 150_000.0
RATIO_GOAL = 0.5


class Target:
    """A receiver under test: started fresh per run, counted from outside."""

    name = ""
    stable_window = 1.0  # counts must not move for this long to call them settled

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    @property
    def udp_port(self) -> int:
        raise NotImplementedError

    @property
    def tcp_port(self) -> int:
        raise NotImplementedError

    def counts(self) -> tuple[float, float, bool]:
        """(taken in, reported lost, idle) since start."""
        raise NotImplementedError

    def extra(self) -> str:
        """Anything worth logging after a trial."""
        return ""


class OpsConductor(Target):
    name = "opsconductor"
    stable_window = 1.0

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        self.runs = 0
        self.product: Product | None = None

    def start(self) -> None:
        self.runs += 1
        self.product = Product(self.workdir / f"opsc-{self.runs}").start()

    def stop(self) -> None:
        if self.product is not None:
            code = self.product.stop()
            if code not in (0, None):
                log(f"opsconductor up exited with {code}")
            self.product = None

    @property
    def udp_port(self) -> int:
        assert self.product is not None
        return self.product.udp_port

    @property
    def tcp_port(self) -> int:
        assert self.product is not None
        return self.product.tcp_port

    def counts(self) -> tuple[float, float, bool]:
        assert self.product is not None
        m = self.product.metrics()
        return m.parsed, m.lost, m.queued == 0

    def extra(self) -> str:
        assert self.product is not None
        m = self.product.metrics()
        return f"stored {m.stored:,.0f}"


class RsyslogTarget(Target):
    name = "rsyslog"
    stable_window = 1.0

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        self.runs = 0
        self.daemon: Rsyslog | None = None

    def start(self) -> None:
        self.runs += 1
        self.daemon = Rsyslog(self.workdir / f"rsyslog-{self.runs}").start()

    def stop(self) -> None:
        if self.daemon is not None:
            self.daemon.stop()
            self.daemon.out.unlink(missing_ok=True)  # can be GBs over a search
            self.daemon = None

    @property
    def udp_port(self) -> int:
        assert self.daemon is not None
        return self.daemon.udp_port

    @property
    def tcp_port(self) -> int:
        assert self.daemon is not None
        return self.daemon.tcp_port

    def counts(self) -> tuple[float, float, bool]:
        assert self.daemon is not None
        return float(self.daemon.lines()), float(self.daemon.kernel_drops), True


def settle(
    target: Target, base: tuple[float, float], expected: int, timeout: float
) -> tuple[float, float]:
    """Wait until ``expected`` records are taken in, or the counts stop moving; the deltas."""
    deadline = time.monotonic() + timeout
    last: tuple[float, float] | None = None
    since = time.monotonic()
    while True:
        taken, lost, idle = target.counts()
        delta = (taken - base[0], lost - base[1])
        if idle and delta[0] >= expected:
            return delta
        now = time.monotonic()
        if delta != last:
            last, since = delta, now
        elif idle and now - since >= target.stable_window:
            return delta
        if now > deadline:
            log(f"{target.name}: counts still moving after {timeout:.0f}s")
            return delta
        time.sleep(0.2)


@dataclass
class Trial:
    rate: float
    achieved: float
    sent: int
    taken: float
    lost: float

    @property
    def ok(self) -> bool:
        return self.lost == 0 and self.taken >= self.sent


@dataclass
class Search:
    best: float = 0.0
    sender_bound: bool = False
    trials: list[Trial] = field(default_factory=list)


def udp_trial(target: Target, data: list[bytes], rate: float, args: argparse.Namespace) -> Trial:
    base_taken, base_lost, _ = target.counts()
    result = send_udp(target.udp_port, data, rate, args.duration, args.senders)
    taken, lost = settle(target, (base_taken, base_lost), result.sent, args.settle_timeout)
    lost = max(lost, 0.0)
    trial = Trial(rate, result.rate, result.sent, taken, lost)
    verdict = "ok" if trial.ok else f"LOSS {max(result.sent - taken, lost):,.0f}"
    log(
        f"  {target.name} udp asked {rate:>9,.0f}/s sent {result.rate:>9,.0f}/s "
        f"({result.sent:,}) taken {taken:,.0f} dropped {lost:,.0f} -> {verdict} "
        f"{target.extra()}"
    )
    time.sleep(args.pause)
    return trial


def udp_search(
    target: Target, data: list[bytes], args: argparse.Namespace, ceiling: float
) -> Search:
    """Double from ``--start-rate`` until loss, then bisect to within ``--precision``."""
    search = Search()
    lo = hi = 0.0
    rate = args.start_rate

    def attempt(rate: float) -> bool:
        trial = udp_trial(target, data, rate, args)
        search.trials.append(trial)
        if trial.ok:
            search.best = max(search.best, trial.achieved)
            if trial.achieved < 0.97 * rate:
                search.sender_bound = True
        return trial.ok

    while True:
        if rate > ceiling * 1.03:  # asking more than the sender can do measures the sender
            rate = ceiling
        if not attempt(rate):
            hi = rate
            break
        lo = rate
        if search.sender_bound or rate >= min(ceiling, args.max_rate):
            search.sender_bound = search.sender_bound or rate >= ceiling
            return search
        rate = min(rate * 2, args.max_rate)
    while hi - lo > args.precision * hi and hi > 1000:
        mid = (lo + hi) / 2
        if attempt(mid):
            lo = mid
        else:
            hi = mid
    return search


def tcp_run(target: Target, payload: bytes, count: int, args: argparse.Namespace) -> float:
    """Throughput: records / (first byte → last record taken in)."""
    base_taken, _, _ = target.counts()
    proc, results = start_tcp_send(target.tcp_port, payload, args.tcp_connections)
    expected = count * args.tcp_connections
    deadline = time.monotonic() + args.settle_timeout + expected / 5000
    taken = 0.0
    done_at = 0.0
    last_change, last = time.monotonic(), -1.0
    while time.monotonic() < deadline:
        taken_now, _, _ = target.counts()
        taken = taken_now - base_taken
        done_at = time.time()
        if taken >= expected:
            break
        if taken != last:
            last, last_change = taken, time.monotonic()
        elif time.monotonic() - last_change > max(10.0, 3 * target.stable_window):
            break
        time.sleep(0.02)
    first, last_byte = results.get()
    proc.join()
    rate = taken / (done_at - first) if taken >= expected else float("nan")
    log(
        f"  {target.name} tcp {expected:,} records: sent in {last_byte - first:.2f}s, "
        f"taken in {taken:,.0f} after {done_at - first:.2f}s -> "
        f"{fmt_rate(rate)}/s {target.extra()}"
    )
    if taken < expected:
        log(f"  {target.name} tcp: only {taken:,.0f} of {expected:,} taken in — counted as failed")
    time.sleep(args.pause)
    return rate


def sender_ceiling(data: list[bytes], processes: int, duration: float) -> float:
    """What ``processes`` unpaced senders reach into a socket nobody reads."""
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))
    try:
        return send_udp(sink.getsockname()[1], data, 0, duration, processes).rate
    finally:
        sink.close()


def run_both(
    targets: list[Target], runs: int, one: Callable[[Target], tuple[float, str]]
) -> dict[str, list[tuple[float, str]]]:
    """``runs`` runs of each target, interleaved so slow drift hits both alike."""
    out: dict[str, list[tuple[float, str]]] = {t.name: [] for t in targets}
    for n in range(runs):
        for target in targets:
            log(f"{target.name}: run {n + 1}/{runs}")
            target.start()
            try:
                out[target.name].append(one(target))
            finally:
                target.stop()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="searches / TCP runs per target")
    parser.add_argument("--transports", default="udp,tcp", help="udp,tcp")
    parser.add_argument("--targets", default="opsconductor,rsyslog")
    parser.add_argument("--duration", type=float, default=2.0, help="seconds per UDP trial")
    parser.add_argument("--start-rate", type=float, default=20_000)
    parser.add_argument("--max-rate", type=float, default=2_000_000)
    parser.add_argument("--precision", type=float, default=0.10, help="UDP bisection stop")
    parser.add_argument("--senders", type=int, default=1, help="UDP sender processes")
    parser.add_argument("--tcp-messages", type=int, default=300_000, help="per connection")
    parser.add_argument("--tcp-connections", type=int, default=1)
    parser.add_argument("--framing", choices=["lf", "octet"], default="lf")
    parser.add_argument("--settle-timeout", type=float, default=30.0)
    parser.add_argument("--pause", type=float, default=0.5, help="seconds between trials")
    parser.add_argument("--workdir", type=Path, default=None, help="default: a temp dir")
    args = parser.parse_args()
    install_cleanup()

    data = rfc3164_lines()
    with tempfile.TemporaryDirectory(prefix="opsc-bench-ingest-", dir=args.workdir) as tmp:
        work = Path(tmp)
        known: dict[str, type[Target]] = {"opsconductor": OpsConductor, "rsyslog": RsyslogTarget}
        targets = [known[name](work) for name in args.targets.split(",")]
        rows: list[list[str]] = []
        notes: list[str] = []
        transports = args.transports.split(",")

        if "udp" in transports:
            one = sender_ceiling(data, 1, 1.5)
            ceiling = sender_ceiling(data, args.senders, 1.5) if args.senders > 1 else one
            notes.append(
                f"UDP sender ceiling on its own (unpaced, into an unread socket): "
                f"1 process {one:,.0f}/s"
                + (f", {args.senders} processes {ceiling:,.0f}/s" if args.senders > 1 else "")
            )
            log(notes[-1])

            def udp_one(target: Target) -> tuple[float, str]:
                search = udp_search(target, data, args, ceiling)
                return search.best, ">=" if search.sender_bound else ""

            results = run_both(targets, args.runs, udp_one)
            rows.append(row("UDP", results, udp=True))

        if "tcp" in transports:
            frame = octet_counted if args.framing == "octet" else lf_framed
            payload = frame(data, args.tcp_messages)

            def tcp_one(target: Target) -> tuple[float, str]:
                return tcp_run(target, payload, args.tcp_messages, args), ""

            results = run_both(targets, args.runs, tcp_one)
            rows.append(row(f"TCP ({args.framing})", results, udp=False))

    print()
    print(
        f"Syslog ingest on this machine ({_cores()} cores, shared by receiver, sender and "
        f"driver); msgs/s, median of {args.runs} (individual runs in brackets)"
    )
    print_table(["transport", "opsconductor", "(runs)", "rsyslog", "(runs)", "ratio", "goal"], rows)
    for note in notes:
        print(note)
    if "udp" in transports:
        print(
            f"UDP: highest zero-loss rate, {args.duration:g}s trials, doubling from "
            f"{args.start_rate:,.0f}/s then bisecting to {args.precision:.0%}; '>=' = the "
            f"sender was the limit."
        )
    if "tcp" in transports:
        print(
            f"TCP: {args.tcp_messages:,} records x {args.tcp_connections} connection(s), "
            f"first byte to last record parsed (opsconductor) / written (rsyslog)."
        )
    print(
        f"Goal: UDP >= {UDP_GOAL:,.0f} msgs/s ingest+parse in one process, and >= "
        f"{RATIO_GOAL}x rsyslog (UDP and TCP)."
    )


def row(label: str, results: dict[str, list[tuple[float, str]]], *, udp: bool) -> list[str]:
    """One table row: medians, runs, ratio, goal."""
    ours = results.get("opsconductor", [])
    theirs = results.get("rsyslog", [])
    ours_median = median([v for v, _ in ours])
    theirs_median = median([v for v, _ in theirs])
    mark = ">=" if any(flag for _, flag in ours) else ""
    mark_r = ">=" if any(flag for _, flag in theirs) else ""
    ratio = ours_median / theirs_median if theirs and theirs_median else float("nan")
    goals = []
    if udp and ours:
        goals.append(f"{'met' if ours_median >= UDP_GOAL else 'NOT met'} (150k)")
    if ours and theirs:
        goals.append(f"{'met' if ratio >= RATIO_GOAL else 'NOT met'} (0.5x)")
    return [
        label,
        mark + fmt_rate(ours_median),
        f"[{fmt_runs(v for v, _ in ours)}]",
        mark_r + fmt_rate(theirs_median),
        f"[{fmt_runs(v for v, _ in theirs)}]",
        "-" if math.isnan(ratio) else f"{ratio:.2f}x",
        ", ".join(goals) or "-",
    ]


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0))


if __name__ == "__main__":
    main()
