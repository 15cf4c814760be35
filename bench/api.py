"""API benchmark: filtered alert pages over 100,000 stored alerts, and logins, over real HTTP.

Prints p50/p99 latency of ``GET /api/v1/alerts`` with the filters an operator's alert list
uses (a first page, and following ``next_cursor`` a few pages deep) on SQLite and on
PostgreSQL, median of ``--runs`` (default 3), against the goal p99 ≤ 50 ms; then logins per
second (``POST /api/v1/auth/login`` with the right password: argon2id, a refresh token
stored, an audit row written), one client after the other and with ``--login-clients``
concurrent clients.

    python bench/api.py                        # 100,000 alerts, both databases, ~5 minutes
    python bench/api.py --quick                # smoke run: 5,000 alerts, few requests, 1 run
    python bench/api.py --databases sqlite --runs 5

How
    For each database a fresh store is made (SQLite file in a temp dir, or a database
    ``opsc_bench_<random>`` on ``--pg``, dropped afterwards) and migrated; ``--alerts`` alerts
    are then written straight into the ``alerts`` table in bulk (``executemany`` / ``COPY``),
    with the columns ``alerts/repository.py`` writes: rules, agents, domains and severities
    from the built-in rule packs, fingerprints made like the agents make them, 2,000 devices
    of which a few are noisy, first seen over the last 30 days (ids are ULIDs of that
    moment, as the alert engine mints them), ~12 % firing (more among recent ones), some
    acknowledged, assigned, suppressed or flapping. PostgreSQL gets ``ANALYZE`` (autovacuum
    would run it after such a load); SQLite gets nothing, as the product runs it.

    The product's API then runs in a subprocess of its own (``bench/_api_server.py``:
    ``Runtime.for_stages(settings, ["api"])``, the same app, middleware and uvicorn server as
    ``opsconductor up``, without the receivers and pipeline stages), so the client here does
    not share its event loop. The client logs in once as the first admin and sends each query
    sequentially on one keep-alive connection: ``--warmup`` unmeasured requests, then
    ``--requests`` timed ones (wall time from sending the request to the end of the body).
    Queries that follow a cursor time every page of the walk (pages 1..``--depth``, then
    start over). A request that does not answer 200 fails the run.

These are measurements, not tests: nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _alert_store import Database, Postgres, Sqlite, seed_rows
from _api_server import Client, Server, login
from _common import (
    BENCH_ADMIN_PASSWORD,
    install_cleanup,
    log,
    median,
    print_table,
)
from _latency import percentile

GOAL_P99 = 0.050
PAGE = 50


@dataclass(frozen=True)
class Query:
    """A filtered alert listing; with ``depth`` > 1 its cursor is followed that many pages."""

    name: str
    params: Callable[[int], dict[str, str]]
    depth: int = 1


def queries(rows: Sequence[tuple[Any, ...]], depth: int) -> list[Query]:
    """The listings an operator's alert page asks for, with devices taken from the data."""
    firing_devices = sorted({row[5] for row in rows if row[10] == "firing"})
    rng = random.Random(11)
    rng.shuffle(firing_devices)

    def device(n: int) -> str:
        return firing_devices[n % len(firing_devices)]

    return [
        Query("status=firing", lambda n: {"status": "firing"}),
        Query("firing, critical+major", lambda n: {
            "status": "firing", "severity": "critical,major"}),
        Query("firing, severity, device", lambda n: {
            "status": "firing", "severity": "critical,major,minor,warning", "device": device(n)}),
        Query("firing, wifi, unacknowledged", lambda n: {
            "status": "firing", "domain": "wifi", "acknowledged": "false"}),
        Query("firing, critical, wan", lambda n: {
            "status": "firing", "severity": "critical", "domain": "wan"}),
        Query("resolved, last 24 h", lambda n: {
            "status": "resolved", "since": str(int(time.time() - 86400))}),
        Query(f"no filter, pages 1-{depth}", lambda n: {}, depth),
        Query(f"firing+resolved major, pages 1-{depth}", lambda n: {
            "status": "firing,resolved", "severity": "major"}, depth),
        Query(f"device, pages 1-{depth}", lambda n: {
            "device": rows[n * 7919 % len(rows)][5]}, depth),
    ]  # fmt: skip


def _requests(query: Query) -> Iterator[tuple[dict[str, str], bool]]:
    """(params, follow the previous page's cursor?) for each request of ``query``."""
    n = 0
    while True:
        params = query.params(n)
        for page in range(query.depth):
            yield params, page > 0
        n += 1


def time_query(client: Client, query: Query, warmup: int, count: int) -> list[float]:
    """Latencies of ``count`` requests of ``query`` after ``warmup`` unmeasured ones."""
    latencies: list[float] = []
    cursor: str | None = None
    for i, (params, follow) in enumerate(_requests(query)):
        if i >= warmup + count:
            break
        wanted = dict(params, limit=str(PAGE))
        if follow and cursor is not None:  # (a walk that ran out of pages starts again)
            wanted["cursor"] = cursor
        path = "/api/v1/alerts?" + urllib.parse.urlencode(wanted)
        status, body, elapsed = client.call("GET", path)
        if status != 200:
            raise RuntimeError(f"{query.name}: GET {path} answered {status}: {body}")
        cursor = body["next_cursor"]
        if i >= warmup:
            latencies.append(elapsed)
    return latencies


@dataclass
class LoginFigures:
    """Logins of one setting (sequential or concurrent) in one run."""

    clients: int
    rate: float
    latencies: list[float] = field(default_factory=list)


def time_logins(port: int, clients: int, per_client: int) -> LoginFigures:
    """``clients`` threads each logging in ``per_client`` times, one after the other."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)

    def work() -> None:
        client = Client(port)
        mine: list[float] = []
        start.wait()
        try:
            for _ in range(per_client):
                status, body, elapsed = client.call(
                    "POST", "/api/v1/auth/login",
                    {"username": "admin", "password": BENCH_ADMIN_PASSWORD},
                )  # fmt: skip
                if status != 200:
                    errors.append(f"login answered {status}: {body}")
                    return
                mine.append(elapsed)
        finally:
            client.close()
            with lock:
                latencies.extend(mine)

    threads = [threading.Thread(target=work) for _ in range(clients)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    if errors:
        raise RuntimeError(errors[0])
    return LoginFigures(clients, len(latencies) / wall, latencies)


# ---------------------------------------------------------------------------------------------
# main


@dataclass
class Result:
    """Per query (or login setting) and database: one (p50, p99) or rate per run."""

    p50: list[float] = field(default_factory=list)
    p99: list[float] = field(default_factory=list)


def bench_database(
    db: Database, args: argparse.Namespace, rows: Sequence[tuple[Any, ...]], work: Path
) -> tuple[dict[str, Result], dict[int, Result], dict[int, list[float]]]:
    """Seed, serve, and time every query and the logins on ``db``."""
    env = db.create(work)
    try:
        started = time.perf_counter()
        db.seed(rows)
        log(f"{db.name}: {len(rows):,} alerts seeded in {time.perf_counter() - started:.1f}s")
        server = Server(env, work).start()
        try:
            token, _ = login(server.port)
            client = Client(server.port, token)
            listing: dict[str, Result] = {}
            for run in range(args.runs):
                for query in queries(rows, args.depth):
                    latencies = time_query(client, query, args.warmup, args.requests)
                    result = listing.setdefault(query.name, Result())
                    latencies.sort()
                    result.p50.append(percentile(latencies, 0.5))
                    result.p99.append(percentile(latencies, 0.99))
                    log(
                        f"  {db.name} run {run + 1}/{args.runs} {query.name}: "
                        f"p50 {result.p50[-1] * 1000:.1f} ms, p99 {result.p99[-1] * 1000:.1f} ms"
                    )
            client.close()
            logins: dict[int, Result] = {}
            rates: dict[int, list[float]] = {}
            for _ in range(args.runs):
                for clients in sorted({1, args.login_clients}):
                    figures = time_logins(server.port, clients, max(1, args.logins // clients))
                    result = logins.setdefault(clients, Result())
                    figures.latencies.sort()
                    result.p50.append(percentile(figures.latencies, 0.5))
                    result.p99.append(percentile(figures.latencies, 0.99))
                    rates.setdefault(clients, []).append(figures.rate)
                    log(
                        f"  {db.name} logins, {clients} client(s): {figures.rate:.1f}/s, "
                        f"p50 {result.p50[-1] * 1000:.0f} ms"
                    )
            return listing, logins, rates
        finally:
            server.stop()
    finally:
        db.drop()


def _ms(value: float) -> str:
    return f"{value * 1000:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--alerts", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=500, help="timed requests per query")
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--depth", type=int, default=5, help="pages a cursor walk goes")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--logins", type=int, default=40, help="logins per setting and run")
    parser.add_argument("--login-clients", type=int, default=4)
    parser.add_argument("--databases", default="sqlite,postgres", help="sqlite,postgres")
    parser.add_argument(
        "--pg",
        default="postgresql://postgres@127.0.0.1:5432",
        help="PostgreSQL server (trust auth) for the fresh databases",
    )
    parser.add_argument("--workdir", type=Path, default=None, help="default: a temp dir")
    parser.add_argument("--quick", action="store_true", help="smoke run: small and short")
    args = parser.parse_args()
    if args.quick:
        args.alerts, args.requests, args.warmup = min(args.alerts, 5000), 30, 5
        args.runs, args.logins = 1, 8
    install_cleanup()

    known = {"sqlite": Sqlite, "postgres": lambda: Postgres(args.pg)}
    databases: list[Database] = [known[name]() for name in args.databases.split(",")]
    started = time.perf_counter()
    rows = seed_rows(args.alerts)
    firing = sum(1 for row in rows if row[10] == "firing")
    log(f"{len(rows):,} alerts made ({firing:,} firing) in {time.perf_counter() - started:.1f}s")
    listing_rows: list[list[str]] = []
    login_rows: list[list[str]] = []
    with tempfile.TemporaryDirectory(prefix="opsc-bench-api-", dir=args.workdir) as tmp:
        for db in databases:
            listing, logins, rates = bench_database(db, args, rows, Path(tmp))
            for name, result in listing.items():
                p50, p99 = median(result.p50), median(result.p99)
                listing_rows.append([
                    db.name, name, _ms(p50), _ms(p99),
                    " ".join(_ms(v) for v in result.p99), "met" if p99 <= GOAL_P99 else "NOT met",
                ])  # fmt: skip
            for clients, result in logins.items():
                login_rows.append([
                    db.name, str(clients), f"{median(rates[clients]):.1f}",
                    f"{median(result.p50) * 1000:.0f}", f"{median(result.p99) * 1000:.0f}",
                ])  # fmt: skip

    print()
    print(
        f"GET /api/v1/alerts over {args.alerts:,} stored alerts, limit {PAGE}, "
        f"{args.requests} sequential requests per query after {args.warmup} warm-up; "
        f"ms, median of {args.runs} run(s)"
    )
    print_table(
        ["database", "query", "p50", "p99", "(p99 runs)", "goal p99 <= 50 ms"], listing_rows
    )
    print()
    print(
        f"POST /api/v1/auth/login (argon2id), {args.logins} logins per setting, "
        f"median of {args.runs} run(s)"
    )
    print_table(["database", "clients", "logins/s", "p50 ms", "p99 ms"], login_rows)
    met = all(row[-1] == "met" for row in listing_rows)
    print(f"goal p99 <= {GOAL_P99 * 1000:.0f} ms on every query: {'met' if met else 'NOT met'}")


if __name__ == "__main__":
    main()
