"""Helpers shared by the benchmarks: test data, senders, metrics scraping, processes, medians.

Nothing here is product code; the benchmarks drive the product only from outside (a
subprocess, its syslog ports and its ``/metrics``), the way an operator would.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import math
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

#: The shared OpenWrt sample (read only; never copied into the project).
SHARED_DATA = Path(
    os.environ.get("OPSC_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)
OPENWRT_LINES = SHARED_DATA / "openwrt" / "openwrt_lines.log"

_FACILITIES = {
    "kern": 0, "user": 1, "mail": 2, "daemon": 3, "auth": 4, "syslog": 5, "lpr": 6, "news": 7,
    "uucp": 8, "cron": 9, "authpriv": 10, "ftp": 11, "local0": 16, "local1": 17, "local2": 18,
    "local3": 19, "local4": 20, "local5": 21, "local6": 22, "local7": 23,
}  # fmt: skip
_SEVERITIES = {
    "emerg": 0, "alert": 1, "crit": 2, "err": 3, "error": 3, "warn": 4, "warning": 4,
    "notice": 5, "info": 6, "debug": 7,
}  # fmt: skip
# OpenWrt ``logread``: "Sun Jul 19 21:22:03 2020 daemon.notice netifd: Interface ..."
_LOGREAD = re.compile(
    r"^\w{3} (?P<mon>\w{3}) +(?P<day>\d{1,2}) (?P<time>\d\d:\d\d:\d\d) \d{4} "
    r"(?P<fac>\w+)\.(?P<sev>\w+) (?P<rest>.*)$"
)


def openwrt_lines(path: Path = OPENWRT_LINES) -> list[str]:
    """The non-empty lines of the shared OpenWrt sample, as they are (``logread`` format)."""
    with path.open(encoding="utf-8", errors="replace") as handle:
        return [line.rstrip("\r\n") for line in handle if line.strip()]


def rfc3164_lines(path: Path = OPENWRT_LINES, hosts: int = 16) -> list[bytes]:
    """The OpenWrt sample as RFC 3164 records, ``<PRI>Mmm dd hh:mm:ss host prog[pid]: msg``.

    For ``logread`` lines (about 70 % of the sample) facility and severity come from the
    line's ``facility.severity`` field and the year is dropped, as RFC 3164 does. The other
    lines (bare ``prog[pid]: msg`` / ``wlan1: …`` lines, or other time formats) get
    ``<13>`` (user.notice) and the previous line's timestamp in front. The host cycles through
    ``openwrt-00`` … so the product sees several devices.
    """
    out: list[bytes] = []
    stamp = "Jul 19 21:22:03"
    for n, line in enumerate(openwrt_lines(path)):
        host = f"openwrt-{n % hosts:02d}"
        match = _LOGREAD.match(line)
        if match is None:
            out.append(f"<13>{stamp} {host} {line}".encode())
            continue
        pri = _FACILITIES.get(match["fac"], 1) * 8 + _SEVERITIES.get(match["sev"], 5)
        stamp = f"{match['mon']} {int(match['day']):2d} {match['time']}"
        out.append(f"<{pri}>{stamp} {host} {match['rest']}".encode())
    return out


# ---------------------------------------------------------------------------------------------
# statistics and output


def median(values: Sequence[float]) -> float:
    """The median of the values that are numbers (failed runs are NaN), or NaN for none."""
    numbers = [v for v in values if not math.isnan(v)]
    return statistics.median(numbers) if numbers else float("nan")


def fmt_rate(value: float) -> str:
    """``123,456`` (or ``-`` for NaN)."""
    return "-" if math.isnan(value) else f"{value:,.0f}"


def fmt_runs(values: Iterable[float]) -> str:
    """The individual runs, rounded to thousands: ``151k 148k 160k``."""
    return " ".join(f"{v / 1000:,.0f}k" if v >= 10_000 else f"{v:,.0f}" for v in values)


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """A plain-text table with aligned columns."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    print(line)
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))


def log(message: str) -> None:
    """Progress on stderr, so stdout keeps only the results."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# ports and processes


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """A port free for both TCP and UDP on 127.0.0.1 right now."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, kind) as first:
            first.bind(("127.0.0.1", 0))
            port = first.getsockname()[1]
            other = socket.SOCK_DGRAM if kind == socket.SOCK_STREAM else socket.SOCK_STREAM
            with socket.socket(socket.AF_INET, other) as second:
                try:
                    second.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free port")


def wait_for(check: Callable[[], bool], timeout: float, what: str, poll: float = 0.1) -> None:
    """Poll ``check`` until true; RuntimeError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if check():
                return
        time.sleep(poll)
    raise RuntimeError(f"timed out after {timeout:.0f}s waiting for {what}")


_LIVE: set[subprocess.Popen[bytes]] = set()


def _stop_leftovers() -> None:
    for proc in list(_LIVE):
        stop_process(proc, timeout=10.0)


def install_cleanup() -> None:
    """Stop the processes this benchmark started when it exits, also on SIGTERM or Ctrl-C."""
    atexit.register(_stop_leftovers)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def spawn(args: list[str], **kwargs: object) -> subprocess.Popen[bytes]:
    """``Popen``, remembered so that ``install_cleanup`` can stop it."""
    proc: subprocess.Popen[bytes] = subprocess.Popen(args, **kwargs)  # type: ignore[call-overload]
    _LIVE.add(proc)
    return proc


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 30.0) -> int | None:
    """SIGTERM the process we started, then SIGKILL it if it has not exited in ``timeout``."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            log(f"pid {proc.pid} did not stop in {timeout:.0f}s; killing it")
            proc.kill()
            proc.wait()
    _LIVE.discard(proc)
    return proc.returncode


def tail(path: Path, lines: int = 15) -> str:
    """The last lines of a log file, for error messages."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def http_get(url: str, timeout: float = 5.0) -> bytes:
    """The body of a GET."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read()


BENCH_ADMIN_PASSWORD = "Bench-Secret-Word-7"
"""``OPSC_ADMIN_PASSWORD`` of every product a benchmark starts."""


def admin_token(base: str) -> str:
    """An access token of the first admin of the product at ``base``."""
    body = {"username": "admin", "password": BENCH_ADMIN_PASSWORD}
    request = urllib.request.Request(
        f"{base}/api/v1/auth/login",
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return str(json.loads(response.read())["access_token"])


@dataclass
class Product:
    """``python -m opsconductor up`` in a subprocess, on free loopback ports."""

    workdir: Path
    env_extra: dict[str, str] | None = None
    proc: subprocess.Popen[bytes] | None = None
    http_port: int = 0
    udp_port: int = 0
    tcp_port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def start(self, timeout: float = 60.0) -> Product:
        """Start and wait for ``/readyz``."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.http_port = free_port()
        self.udp_port = free_port(socket.SOCK_DGRAM)
        self.tcp_port = free_port()
        env = dict(os.environ)
        env.update(
            OPSC_DATA_DIR=str(self.workdir / "data"),
            OPSC_HTTP_HOST="127.0.0.1",
            OPSC_HTTP_PORT=str(self.http_port),
            OPSC_SYSLOG_HOST="127.0.0.1",
            OPSC_SYSLOG_UDP_PORT=str(self.udp_port),
            OPSC_SYSLOG_TCP_PORT=str(self.tcp_port),
            OPSC_SYSLOG_TLS_PORT="0",
            OPSC_LOG_LEVEL="WARNING",
            OPSC_ADMIN_PASSWORD=BENCH_ADMIN_PASSWORD,
            OPSC_METRICS_OPEN="true",  # scraped like a Prometheus on a trusted network
        )
        env.update(self.env_extra or {})
        out = (self.workdir / "up.out").open("wb")
        err = (self.workdir / "up.err").open("wb")
        self.proc = spawn(
            [sys.executable, "-m", "opsconductor", "up"],
            env=env,
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
        )
        out.close()
        err.close()

        def ready() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"opsconductor up exited with {self.proc.returncode}:\n"
                    + tail(self.workdir / "up.err")
                )
            return b'"ready":true' in http_get(self.url + "/readyz", timeout=2.0).replace(b" ", b"")

        try:
            wait_for(ready, timeout, "opsconductor up /readyz", poll=0.2)
        except RuntimeError:
            self.stop()
            raise
        return self

    def metrics(self) -> Metrics:
        """One scrape of ``/metrics``."""
        return Metrics.parse(http_get(self.url + "/metrics").decode())

    def stop(self) -> int | None:
        """SIGTERM and wait (the product drains its queues on the way out)."""
        if self.proc is None:
            return None
        code = stop_process(self.proc, timeout=60.0)
        self.proc = None
        return code


# ---------------------------------------------------------------------------------------------
# metrics


_SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>.*)\})? (?P<value>\S+)")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


@dataclass(frozen=True)
class Metrics:
    """A parsed Prometheus text exposition."""

    samples: tuple[tuple[str, dict[str, str], float], ...]

    @classmethod
    def parse(cls, text: str) -> Metrics:
        out = []
        for line in text.splitlines():
            if not line or line.startswith("#"):
                continue
            match = _SAMPLE.match(line)
            if match is None:
                continue
            labels = dict(_LABEL.findall(match["labels"] or ""))
            out.append((match["name"], labels, float(match["value"])))
        return cls(tuple(out))

    def total(self, name: str, **labels: str) -> float:
        """Sum of every sample called ``name`` whose labels include ``labels``."""
        return sum(
            value for sample, have, value in self.samples
            if sample == name and all(have.get(k) == v for k, v in labels.items())
        )  # fmt: skip

    @property
    def parsed(self) -> float:
        """Records the parse stage finished: parsed (any status) + unparsed + parse dead letters."""
        return (
            self.total("opsc_records_parsed_total")
            + self.total("opsc_records_unparsed_total")
            + self.total("opsc_records_dead_lettered_total", stage="parse")
        )

    @property
    def lost(self) -> float:
        """Records the product says it lost: overload drops + kernel UDP socket drops."""
        return self.total("opsc_records_dropped_total") + self.total("opsc_udp_kernel_drops")

    @property
    def stored(self) -> float:
        return self.total("opsc_events_stored_total")

    @property
    def queued(self) -> float:
        return self.total("opsc_queue_depth")
