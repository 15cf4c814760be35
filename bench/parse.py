"""Parse-stage micro-benchmark: ``Parser.parse_batch`` in this process, no I/O.

Prints µs per line for each input family and lines/s over a 200,000-record mix (median of
``--runs`` runs, default 5). Goal: ≤ 5 µs/line over the OpenWrt corpus, ≤ 4 µs/line for
plain RFC 3164 / logread / RFC 5424 without structured data.

    python bench/parse.py
    python bench/parse.py --runs 3 --total 50000

Families
    ``openwrt``       the shared OpenWrt sample (../shared/data/openwrt/openwrt_lines.log,
                      read in place) as it is: logread, kernel, LuCI, time-only, raw lines …
    ``openwrt:<fmt>`` the sample's lines that parse as ``<fmt>`` (logread, kernel, …)
    ``rfc3164``       ``<30>Oct 11 22:14:15 host prog[123]: msg`` with varying fields
    ``rfc5424``       ``<165>1 2026-…Z host app 8710 ID47 - msg``, no structured data
    ``rfc5424_sd``    the same with one ``[ex@32473 iut="3" …]`` element
    ``mix``           all of the above interleaved (the overall lines/s)

Each family is repeated up to ``--total`` records and parsed in batches of ``--batch``.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import time
from collections import defaultdict
from pathlib import Path

from opsconductor.messages import RawBatch, RawEvent
from opsconductor.parse import Parser

SHARED_DATA = Path(
    os.environ.get("OPSC_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)
OPENWRT_LINES = SHARED_DATA / "openwrt" / "openwrt_lines.log"
RECEIVED_AT = 1780315200.0  # 2026-06-01 12:00:00 UTC
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_PROGRAMS = ("dnsmasq", "hostapd", "netifd", "odhcpd", "dropbear", "pppd", "kernel", "uhttpd")


def openwrt_records() -> list[bytes]:
    """The non-empty lines of the shared OpenWrt sample, as bytes."""
    with OPENWRT_LINES.open("rb") as handle:
        return [line.rstrip(b"\r\n") for line in handle if line.strip()]


def rfc3164_records(count: int = 5000) -> list[bytes]:
    """Synthetic ``<PRI>Mmm dd hh:mm:ss host prog[pid]: msg`` lines, seconds advancing."""
    out = []
    for n in range(count):
        month, day = _MONTHS[n // 1000 % 12], 1 + n // 100 % 28
        clock = f"{n // 3600 % 24:02d}:{n // 60 % 60:02d}:{n % 60:02d}"
        program = _PROGRAMS[n % len(_PROGRAMS)]
        line = f"<30>{month} {day:2d} {clock} host{n % 16} {program}[{100 + n % 900}]: msg {n}"
        out.append(line.encode())
    return out


def rfc5424_records(count: int = 5000, sd: bool = False) -> list[bytes]:
    """Synthetic RFC 5424 lines, with or without one structured-data element."""
    out = []
    for n in range(count):
        stamp = f"2026-05-{1 + n // 1000 % 28:02d}T{n // 60 % 24:02d}:{n % 60:02d}:15.003Z"
        data = f'[ex@32473 iut="3" eventSource="App" n="{n}"]' if sd else "-"
        program = _PROGRAMS[n % len(_PROGRAMS)]
        line = f"<165>1 {stamp} host{n % 16} {program} {8000 + n % 900} ID47 {data} msg {n}"
        out.append(line.encode())
    return out


def raw_batches(records: list[bytes], total: int, batch: int) -> list[RawBatch]:
    """``total`` RawEvents cycling through ``records``, in batches of ``batch``."""
    events = [
        RawEvent(f"{n:026d}", RECEIVED_AT + n * 1e-4, "udp", f"192.0.2.{n % 7}:514", data)
        for n, data in zip(range(total), itertools.cycle(records), strict=False)
    ]
    return [RawBatch(str(i), events[i : i + batch]) for i in range(0, total, batch)]


def families(parser: Parser) -> dict[str, list[bytes]]:
    """Input families by name (the OpenWrt sample also split by the format each line gets)."""
    openwrt = openwrt_records()
    by_format: dict[str, list[bytes]] = defaultdict(list)
    for data in openwrt:
        result = parser.parse_one(RawEvent("x", RECEIVED_AT, "udp", "192.0.2.1:514", data))
        by_format[f"openwrt:{getattr(result, 'format', 'dead')}"].append(data)
    named = {"openwrt": openwrt, **dict(sorted(by_format.items()))}
    named |= {
        "rfc3164": rfc3164_records(),
        "rfc5424": rfc5424_records(),
        "rfc5424_sd": rfc5424_records(sd=True),
    }
    mix = [line for group in (openwrt, named["rfc3164"], named["rfc5424"]) for line in group]
    named["mix"] = mix[::3] + mix[1::3] + mix[2::3]
    return named


def time_once(batches: list[RawBatch]) -> float:
    """CPU seconds to parse all ``batches`` with a fresh parser (caches start empty).

    CPU time of this process, not wall time: the machine is shared with other benchmarks, and
    waiting for a core is not parse cost. (The parse is single-threaded and does no I/O.)
    """
    parser = Parser()
    start = time.process_time()
    for batch in batches:
        parser.parse_batch(batch)
    return time.process_time() - start


def main() -> None:
    """Run every family ``--runs`` times and print the medians."""
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--runs", type=int, default=5)
    options.add_argument("--total", type=int, default=200_000)
    options.add_argument("--batch", type=int, default=2000)
    options.add_argument("--only", help="run only families whose name starts with this")
    args = options.parse_args()
    print(f"{'family':<24} {'lines':>6} {'µs/line':>8}  runs (µs/line)")
    for name, records in families(Parser()).items():
        if args.only and not name.startswith(args.only):
            continue
        total = args.total if name in {"openwrt", "mix"} or ":" not in name else args.total // 4
        batches = raw_batches(records, total, args.batch)
        runs = [time_once(batches) / total * 1e6 for _ in range(args.runs)]
        per_line = statistics.median(runs)
        shown = " ".join(f"{r:.2f}" for r in runs)
        print(f"{name:<24} {len(records):>6} {per_line:>8.2f}  {shown}", flush=True)
        if name == "mix":
            print(f"overall: {1e6 / per_line:,.0f} lines/s ({total:,} records, median)")


if __name__ == "__main__":
    main()
