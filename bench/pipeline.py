"""Pipeline benchmark: ``opsconductor replay`` of 1,000,000 OpenWrt lines into SQLite / PostgreSQL.

Prints the rate of ``opsconductor replay`` on the shared OpenWrt lines repeated to
``--lines`` lines (default 1,000,000), every event stored, into SQLite and into PostgreSQL
(median of ``--runs``, default 3), with the agents and the alert engine on (``--detect``,
every built-in rule evaluated, findings and alerts stored) and off (``--no-detect``).
Goals: ≥100,000 lines/s into SQLite without detection; ≥50,000 lines/s end to end with it.

Then (``--latency-seconds``, default 20; 0 skips) a live ``opsconductor up`` is fed over TCP
at half the median end-to-end SQLite rate, with a probe line every 100 lines that a probe
rule turns into an alert of its own; p50/p99 from ingest (``events.received_at``) to the
stored alert (``alert_history.at`` of its ``new`` change) are read from the database
afterwards (median over ``--latency-runs``). Goal: p99 ≤ 100 ms. See ``_latency.py``.

    python bench/pipeline.py                                   # defaults, a few minutes
    python bench/pipeline.py --lines 200000 --runs 1 --databases sqlite

How
    The input file is built in a temp dir by repeating the 561 lines of
    ../shared/data/openwrt/openwrt_lines.log, as they are (OpenWrt ``logread`` lines plus
    the sample's few other forms), until ``--lines`` lines; nothing is copied into the project.
    Each run uses a fresh data dir (SQLite: ``<data dir>/opsconductor.db``) or a fresh
    PostgreSQL database ``opsc_bench_<random>`` on ``--pg`` (dropped afterwards), and runs
    ``python -m opsconductor replay FILE`` as a subprocess (embedded mode: migrations, then the
    parse and store stages in that process; it returns once every line is stored). The figure
    is lines / wall time of that subprocess, so it includes interpreter start-up, migrations
    and shutdown. After each run the ``events`` table is counted and must hold one row per
    line, or the run is reported as failed. The replay's own "records/s" (which leaves out
    start-up) is shown too.

    With ``--overhead-lines N`` (default 1000; 0 skips) one extra run per database replays an
    N-line file: its wall time estimates the fixed start-up + migration + shutdown cost, and
    "steady" is (lines - N) / (wall - wall of that run).

These are measurements, not tests: nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _latency
from _common import (
    fmt_rate,
    fmt_runs,
    install_cleanup,
    log,
    median,
    openwrt_lines,
    print_table,
)
from _databases import PostgresDatabase, SqliteDatabase

SQLITE_GOAL = 100_000.0
DETECT_GOAL = 50_000.0
LATENCY_GOAL = 0.100
_REPORTED = re.compile(r"replayed (\d+) records in ([\d.]+)s")


@dataclass
class Run:
    lines: int
    wall: float
    stored: int
    reported: float  # the replay's own records/s (NaN when it did not print one)

    @property
    def ok(self) -> bool:
        return self.stored == self.lines

    @property
    def rate(self) -> float:
        return self.lines / self.wall if self.ok else float("nan")


def build_input(path: Path, lines: int) -> None:
    """``lines`` lines cycled from the shared OpenWrt sample."""
    sample = [line.encode() + b"\n" for line in openwrt_lines()]
    whole, rest = divmod(lines, len(sample))
    block = b"".join(sample)
    with path.open("wb") as out:
        for _ in range(whole):
            out.write(block)
        out.write(b"".join(sample[:rest]))


class Sqlite(SqliteDatabase):
    def count(self) -> int:
        with sqlite3.connect(self.path) as conn:
            return int(conn.execute("SELECT count(*) FROM events").fetchone()[0])


class Postgres(PostgresDatabase):
    def count(self) -> int:
        return int(self.run(lambda conn: conn.fetchval("SELECT count(*) FROM events")))


Database = Sqlite | Postgres


def replay(db: Database, workdir: Path, source: Path, lines: int, *, detect: bool) -> Run:
    """One ``opsconductor replay`` into a fresh database, timed and counted."""
    env = dict(os.environ, OPSC_HTTP_PORT="0", OPSC_LOG_LEVEL="WARNING")
    env.update(db.create(workdir))
    try:
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "opsconductor", "replay", str(source),
             "--detect" if detect else "--no-detect"],
            env=env, stdin=subprocess.DEVNULL, capture_output=True, check=False,
        )  # fmt: skip
        wall = time.perf_counter() - started
        err = done.stderr.decode(errors="replace")
        if done.returncode != 0:
            log(f"{db.name}: replay exited with {done.returncode}:\n{err[-3000:]}")
        try:
            stored = db.count()
        except Exception as exc:  # a failed run has no table: report it, go on
            log(f"{db.name}: cannot count events: {exc}")
            stored = -1
        match = _REPORTED.search(err)
        reported = int(match[1]) / float(match[2]) if match and float(match[2]) else float("nan")
        run = Run(lines, wall, stored, reported)
        status = "ok" if run.ok else f"FAILED: {stored:,} events stored for {lines:,} lines"
        log(
            f"  {db.name}: {lines:,} lines in {wall:.2f}s = {fmt_rate(lines / wall)} lines/s "
            f"(replay says {fmt_rate(reported)}/s) -> {status}"
        )
        return run
    finally:
        db.drop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--databases", default="sqlite,postgres", help="sqlite,postgres")
    parser.add_argument(
        "--pg",
        default="postgresql://postgres@127.0.0.1:5432",
        help="PostgreSQL server (trust auth) for the fresh databases",
    )
    parser.add_argument(
        "--overhead-lines",
        type=int,
        default=1000,
        help="size of the start-up overhead run (0 skips it)",
    )
    parser.add_argument("--workdir", type=Path, default=None, help="default: a temp dir")
    parser.add_argument(
        "--modes", default="detect,no-detect", help="detect (agents + alerts on), no-detect"
    )
    parser.add_argument(
        "--latency-seconds", type=float, default=20.0, help="length of a latency run (0 skips)"
    )
    parser.add_argument("--latency-runs", type=int, default=3)
    args = parser.parse_args()
    install_cleanup()

    known = {"sqlite": Sqlite, "postgres": lambda: Postgres(args.pg)}
    databases: list[Database] = [known[name]() for name in args.databases.split(",")]
    modes = [mode == "detect" for mode in args.modes.split(",")]
    rows = []
    with tempfile.TemporaryDirectory(prefix="opsc-bench-pipeline-", dir=args.workdir) as tmp:
        work = Path(tmp)
        source = work / "openwrt-repeated.log"
        build_input(source, args.lines)
        small = work / "openwrt-small.log"
        if args.overhead_lines:
            build_input(small, args.overhead_lines)
        log(f"input: {args.lines:,} lines, {source.stat().st_size / 1e6:,.0f} MB")
        results: dict[tuple[str, bool], list[Run]] = {
            (db.name, detect): [] for db in databases for detect in modes
        }
        for n in range(args.runs):  # interleaved, so slow drift hits every database alike
            for db in databases:
                for detect in modes:
                    log(f"{db.name} {_mode(detect)}: run {n + 1}/{args.runs}")
                    run = replay(db, work, source, args.lines, detect=detect)
                    results[(db.name, detect)].append(run)
        for (name, detect), runs in results.items():
            db = next(d for d in databases if d.name == name)
            rates = [r.rate for r in runs]
            wall = median([r.wall for r in runs])
            steady = "-"
            if args.overhead_lines:
                log(f"{db.name}: start-up overhead run, {args.overhead_lines:,} lines")
                fixed = replay(db, work, small, args.overhead_lines, detect=detect).wall
                if wall > fixed:
                    steady = f"{fmt_rate((args.lines - args.overhead_lines) / (wall - fixed))}"
                steady += f" ({fixed:.2f}s fixed)"
            rate = median(rates)
            goal = "-"
            if db.name == "sqlite":
                wanted = DETECT_GOAL if detect else SQLITE_GOAL
                goal = f"{'met' if rate >= wanted else 'NOT met'} ({fmt_rate(wanted)})"
            rows.append([
                db.name, _mode(detect), fmt_rate(rate), f"[{fmt_runs(rates)}]", f"{wall:.2f}s",
                fmt_rate(median([r.reported for r in runs])), steady,
                "yes" if all(r.ok for r in runs) else "NO", goal,
            ])  # fmt: skip

    print()
    print(
        f"opsconductor replay of {args.lines:,} OpenWrt lines, every event stored; "
        f"lines/s, median of {args.runs} (individual runs in brackets)"
    )
    print_table(
        ["database", "agents+alerts", "lines/s", "(runs)", "wall", "replay says/s",
         "steady/s (fixed cost)", "all stored", "goal"],
        rows,
    )  # fmt: skip
    print(
        "lines/s = lines / wall time of `python -m opsconductor replay FILE` (start-up, "
        "migrations and shutdown included); 'replay says' = its own figure without start-up; "
        "'all stored' = events table count == lines in every run."
    )
    print(
        f"Goals: >= {SQLITE_GOAL:,.0f} lines/s into SQLite (pipeline only); "
        f">= {DETECT_GOAL:,.0f} lines/s end to end with agents and alerts, one process."
    )
    sqlite_detect = results.get(("sqlite", True))
    if args.latency_seconds and sqlite_detect:
        rate = median([r.rate for r in sqlite_detect]) / 2
        _latency_report(rate, args)


def _mode(detect: bool) -> str:
    return "on" if detect else "off"


def _latency_report(rate: float, args: argparse.Namespace) -> None:
    """p50/p99 from ingest to stored alert at half the end-to-end rate (median of runs)."""
    print()
    log(f"latency: live `opsconductor up` fed at {rate:,.0f} lines/s over TCP")
    with tempfile.TemporaryDirectory(prefix="opsc-bench-latency-", dir=args.workdir) as tmp:
        runs = [
            _latency.measure(Path(tmp), rate, args.latency_seconds)
            for _ in range(args.latency_runs)
        ]
    p50 = median([_latency.percentile(r.latencies, 0.5) for r in runs])
    p99 = median([_latency.percentile(r.latencies, 0.99) for r in runs])
    for run in runs:
        print("  " + _latency.report(run))
    verdict = "met" if p99 <= LATENCY_GOAL else "NOT met"
    print(
        f"ingest -> stored alert at {rate:,.0f} lines/s (half the end-to-end rate), SQLite, "
        f"median of {len(runs)} runs: p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms "
        f"(goal p99 <= {LATENCY_GOAL * 1000:.0f} ms: {verdict})"
    )


if __name__ == "__main__":
    main()
