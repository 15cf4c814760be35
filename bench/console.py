"""Console benchmark: every page of the web console over 100,000 alerts and 10,000,000 events.

Prints, per page and database, the server time (the ``Server-Timing: app;dur=`` the product
adds to every answer: from the request reaching the app to the start of the answer) p50 and
max over ``--requests`` requests, median of ``--runs`` runs, and the wall time the client saw,
against the goal: every page under 300 ms of server time, on SQLite and on PostgreSQL.

    python bench/console.py                       # 100,000 alerts, 10,000,000 events, both
    python bench/console.py --quick               # smoke run: 5,000 alerts, 200,000 events
    python bench/console.py --databases sqlite --events 2000000

How
    For each database a fresh store is made and migrated (``bench/_databases.py``), then
    filled in bulk (``bench/_alert_store.py``, ``bench/_console_store.py``): ``--alerts``
    alerts with ~2 findings and 1–2 history rows each, 2,000 devices, ``--events`` events
    received evenly over the last 7 days (~60,000 in the last hour at 10 M), and the built-in
    rules (``opsconductor rules list`` stores them, as the agents stage does). The API and
    console then run in a subprocess (``bench/_api_server.py``: the app, middleware and
    uvicorn server of ``opsconductor up``, without the pipeline). The client logs in as the
    first admin and asks for each page as a browser would (``Accept: text/html``) on one
    keep-alive connection: ``--warmup`` unmeasured requests, then ``--requests`` timed ones.
    A page that does not answer 200 fails the run. Pages that name a record use one picked
    from the store (a firing alert, the noisiest device, a built-in rule).

These are measurements, not tests: nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _alert_store import seed_rows
from _api_server import Server, login
from _common import install_cleanup, log, median, print_table
from _console_store import ConsolePostgres, ConsoleSqlite

GOAL = 0.300


@dataclass
class Timing:
    """Server and wall times of one page, one list per run."""

    server_p50: list[float] = field(default_factory=list)
    server_max: list[float] = field(default_factory=list)
    wall_p50: list[float] = field(default_factory=list)


def pages(alert_id: str, device_id: str, rule_id: str) -> list[tuple[str, str]]:
    """(name, path) of every console page timed."""
    return [
        ("dashboard", "/"),
        ("alerts", "/alerts"),
        ("alerts firing", "/alerts?status=firing"),
        ("alerts critical wan", "/alerts?status=firing&severity=critical&domain=wan"),
        ("alerts, all, most severe", "/alerts?status=all&sort=severity"),
        ("alerts, all, last seen", "/alerts?status=all&sort=last_seen"),
        ("alert detail", f"/alerts/{alert_id}"),
        ("findings", "/findings"),
        ("findings, rare filter", "/findings?severity=critical&domain=wan"),
        ("events", "/events"),
        ("events of a device", f"/events?device={device_id}"),
        ("events search (no match)", "/events?q=no-such-text-anywhere"),
        ("events search (common)", "/events?q=wan"),
        ("events search, all time", "/events?q=no-such-text-anywhere&window=all"),
        ("events, errors, 7 days", "/events?severity=err&window=7d"),
        ("devices", "/devices"),
        ("device detail", f"/devices/{device_id}"),
        ("rules", "/rules"),
        ("rule detail", f"/rules/{rule_id}"),
        ("rule editor", f"/rules/{rule_id}/edit"),
        ("device form", f"/devices/{device_id}/edit"),
        ("silences", "/silences"),
        ("users", "/admin/users"),
        ("API keys", "/admin/keys"),
        ("audit log", "/admin/audit"),
        ("audit log, filtered", "/admin/audit?action=DELETE"),
        ("system", "/admin/system"),
        ("profile", "/profile"),
    ]


def fetch(conn: http.client.HTTPConnection, token: str, path: str) -> tuple[float, float]:
    """(server seconds, wall seconds) of one page."""
    started = time.perf_counter()
    conn.request("GET", path, headers={"Authorization": f"Bearer {token}", "Accept": "text/html"})
    response = conn.getresponse()
    response.read()
    wall = time.perf_counter() - started
    if response.status != 200:
        raise RuntimeError(f"GET {path} answered {response.status}")
    timing = response.getheader("server-timing", "")
    server = float(timing.split("dur=", 1)[1]) / 1000 if "dur=" in timing else wall
    return server, wall


def bench_database(db: ConsoleSqlite | ConsolePostgres, args: argparse.Namespace,
                   work: Path) -> dict[str, Timing]:  # fmt: skip
    """Fill ``db``, serve it, and time every page ``--runs`` times."""
    env = db.create(work)
    try:
        rows = seed_rows(args.alerts)
        started = time.perf_counter()
        db.seed(rows)
        db.seed_rest(rows, args.events)
        subprocess.run(  # stores the built-in rules, as the agents stage does on its first start
            [sys.executable, "-m", "opsconductor", "rules", "list"],
            env={**os.environ, **env}, check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        log(f"{db.name}: {len(rows):,} alerts, {args.events:,} events stored in "
            f"{time.perf_counter() - started:.0f} s")  # fmt: skip
        firing = next(r for r in reversed(rows) if r[10] == "firing")
        server = Server(env, work).start()
        try:
            token, _ = login(server.port)
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
            timings: dict[str, Timing] = {}
            for run in range(args.runs):
                for name, path in pages(firing[0], "openwrt-0000", "wifi.handshake_timeout"):
                    for _ in range(args.warmup):
                        fetch(conn, token, path)
                    measured = [fetch(conn, token, path) for _ in range(args.requests)]
                    timing = timings.setdefault(name, Timing())
                    timing.server_p50.append(statistics.median(s for s, _ in measured))
                    timing.server_max.append(max(s for s, _ in measured))
                    timing.wall_p50.append(statistics.median(w for _, w in measured))
                    log(f"  {db.name} run {run + 1}/{args.runs} {name}: server p50 "
                        f"{timing.server_p50[-1] * 1000:.1f} ms, max "
                        f"{timing.server_max[-1] * 1000:.1f} ms")  # fmt: skip
            conn.close()
            return timings
        finally:
            server.stop()
    finally:
        db.drop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--alerts", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--requests", type=int, default=20, help="timed requests per page")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.alerts, args.events, args.requests, args.runs = 5_000, 200_000, 5, 1
    install_cleanup()
    results: dict[str, dict[str, Timing]] = {}
    with tempfile.TemporaryDirectory(prefix="opsc-console-bench-") as tmp:
        for name in args.databases.split(","):
            db = ConsoleSqlite() if name == "sqlite" else ConsolePostgres(args.pg)
            results[name] = bench_database(db, args, Path(tmp))
    print(f"\nConsole pages, {args.alerts:,} alerts, {args.events:,} events; server time "
          f"(Server-Timing), median of {args.runs} run(s) of {args.requests} requests; "
          f"goal: every page < {GOAL * 1000:.0f} ms")  # fmt: skip
    headers = ["page"]
    for name in results:
        headers += [f"{name} p50 ms", f"{name} max ms", f"{name} wall p50 ms"]
    table = []
    names = list(next(iter(results.values())))
    for page in names:
        row = [page]
        for timings in results.values():
            t = timings[page]
            row += [f"{median(t.server_p50) * 1000:.1f}", f"{median(t.server_max) * 1000:.1f}",
                    f"{median(t.wall_p50) * 1000:.1f}"]  # fmt: skip
        table.append(row)
    print_table(headers, table)
    for name, timings in results.items():
        worst = max(median(t.server_max) for t in timings.values())
        verdict = "met" if worst < GOAL else "NOT met"
        print(f"{name}: slowest page max {worst * 1000:.1f} ms — goal {verdict}")


if __name__ == "__main__":
    main()
