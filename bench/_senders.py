"""Load generators for the benchmarks: UDP and TCP syslog senders, each in a process of its
own so it never shares a GIL with the measuring side."""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import socket
import threading
import time
from dataclasses import dataclass

#: The shared OpenWrt sample (read only; never copied into the project).

# ---------------------------------------------------------------------------------------------
# senders (each runs in a process of its own so it never shares a GIL with the measuring side)


def _udp_sender(
    *,
    port: int,
    datagrams: list[bytes],
    rate: float,
    duration: float,
    start_at: float,
    results: mp.SimpleQueue,  # type: ignore[type-arg]
) -> None:
    """Send ``datagrams`` round-robin at ``rate``/s (0: flat out) for ``duration`` seconds.

    Pacing: every ~1 ms the sender sends as many datagrams as bring it back on schedule
    (``rate * elapsed``), so the load arrives in ~1 ms bursts. Reports (sent, first, last)
    wall-clock times.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    sock.connect(("127.0.0.1", port))
    send = sock.send
    n = len(datagrams)
    i = sent = errors = 0
    while time.time() < start_at:
        time.sleep(0.001)
    first = time.time()
    t0 = time.perf_counter()
    end = t0 + duration
    burst = 64
    while True:
        now = time.perf_counter()
        if now >= end:
            break
        due = int(rate * (now - t0)) if rate else sent + burst
        if sent >= due:
            time.sleep(0.0005)
            continue
        todo = min(due - sent, 4096)
        for _ in range(todo):
            try:
                send(datagrams[i])
            except OSError:  # ENOBUFS / ECONNREFUSED: it did not leave; count as not sent
                errors += 1
            else:
                sent += 1
            i += 1
            if i == n:
                i = 0
    last = time.time()
    sock.close()
    results.put((sent, first, last, errors))


@dataclass
class SendResult:
    """What the sender processes did, together."""

    sent: int
    first: float
    last: float
    errors: int

    @property
    def rate(self) -> float:
        span = self.last - self.first
        return self.sent / span if span > 0 else 0.0


def send_udp(
    port: int, datagrams: list[bytes], rate: float, duration: float, processes: int = 1
) -> SendResult:
    """Send for ``duration`` s at a total of ``rate``/s (0: flat out) from ``processes`` senders."""
    ctx = mp.get_context("fork")
    results = ctx.SimpleQueue()
    start_at = time.time() + 0.3
    share = rate / processes if rate else 0.0
    procs = []
    for k in range(processes):
        # Each sender starts at its own offset in the data so they do not send in lockstep.
        offset = (k * len(datagrams)) // processes
        data = datagrams[offset:] + datagrams[:offset]
        procs.append(
            ctx.Process(
                target=_udp_sender,
                kwargs={
                    "port": port,
                    "datagrams": data,
                    "rate": share,
                    "duration": duration,
                    "start_at": start_at,
                    "results": results,
                },
            )
        )
    for proc in procs:
        proc.start()
    got = [results.get() for _ in procs]
    for proc in procs:
        proc.join()
    return SendResult(
        sent=sum(g[0] for g in got),
        first=min(g[1] for g in got),
        last=max(g[2] for g in got),
        errors=sum(g[3] for g in got),
    )


def _tcp_sender(
    port: int,
    payload: bytes,
    connections: int,
    results: mp.SimpleQueue,  # type: ignore[type-arg]
) -> None:
    """Send ``payload`` over each of ``connections`` connections as fast as TCP allows."""
    socks = []
    for _ in range(connections):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        socks.append(sock)
    view = memoryview(payload)
    chunk = 256 * 1024

    def pump(sock: socket.socket) -> None:
        for start in range(0, len(view), chunk):
            sock.sendall(view[start : start + chunk])
        sock.shutdown(socket.SHUT_WR)

    first = time.time()
    threads = [threading.Thread(target=pump, args=(s,)) for s in socks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    last = time.time()
    for sock in socks:
        sock.close()
    results.put((first, last))


def start_tcp_send(
    port: int, payload: bytes, connections: int
) -> tuple[mp.Process, mp.SimpleQueue]:  # type: ignore[type-arg]
    """Start a sender process; ``queue.get()`` gives (first byte, last byte) wall times."""
    ctx = mp.get_context("fork")
    results = ctx.SimpleQueue()
    proc = ctx.Process(target=_tcp_sender, args=(port, payload, connections, results))
    proc.start()
    return proc, results  # type: ignore[return-value]


def lf_framed(records: list[bytes], count: int) -> bytes:
    """``count`` records cycled from ``records``, each followed by LF."""
    n = len(records)
    block = b"\n".join(records) + b"\n"
    whole, rest = divmod(count, n)
    return block * whole + b"".join(r + b"\n" for r in records[:rest])


def octet_counted(records: list[bytes], count: int) -> bytes:
    """``count`` records cycled from ``records``, RFC 6587 octet-counted (``LEN SP MSG``)."""
    framed = [b"%d %s" % (len(r), r) for r in records]
    n = len(framed)
    whole, rest = divmod(count, n)
    return b"".join(framed) * whole + b"".join(framed[:rest])
