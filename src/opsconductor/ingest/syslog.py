"""Syslog receivers: UDP datagrams, and TCP or TLS streams with RFC 6587 framing.

* UDP: one datagram is one record. When the pipeline cannot keep up the record is dropped
  and counted, and the kernel's own drop count for the socket is exported too.
* TCP/TLS: octet counting or LF-delimited framing, detected per connection. Reading pauses
  while the pipeline is full, so the sender feels TCP backpressure instead of memory growing.
  A frame that cannot be decoded is kept as a dead letter with the reason; the connection
  goes on where the framing allows it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
import sys
import time
from pathlib import Path
from typing import Any

from opsconductor.bus.protocol import Bus
from opsconductor.ingest.batcher import RecordBatcher, publish_rejects
from opsconductor.ingest.framing import FrameDecoder, FrameError
from opsconductor.observability import Metrics

log = logging.getLogger(__name__)

READ_CHUNK = 65536
_SO_RCVBUFFORCE = 33  # <asm-generic/socket.h>


class UdpSyslogProtocol(asyncio.DatagramProtocol):
    """Hands every datagram to the batcher; never blocks the loop.

    Size limits are the parser's job (an over-long record becomes a dead letter there).
    """

    def __init__(self, batcher: RecordBatcher) -> None:
        self._batcher = batcher
        self._peers: dict[tuple[Any, int], str] = {}

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        peer = self._peers.get(addr)
        if peer is None:
            peer = _format_peer(addr)
            if len(self._peers) < 65536:
                self._peers[addr] = peer
        self._batcher.offer(data, peer, time.time())

    def error_received(self, exc: Exception) -> None:
        log.warning("UDP receive error: %s", exc)


def _format_peer(addr: tuple[object, ...]) -> str:
    host, port = addr[0], addr[1]
    return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"


class SyslogStreamServer:
    """TCP or TLS syslog listener with per-connection framing detection."""

    def __init__(
        self,
        bus: Bus,
        batcher: RecordBatcher,
        metrics: Metrics,
        *,
        max_bytes: int,
        max_connections: int = 1024,
        idle_timeout: float = 300.0,
    ) -> None:
        self._bus = bus
        self._batcher = batcher
        self._metrics = metrics
        self._max_bytes = max_bytes
        self._idle_timeout = idle_timeout
        self._max_connections = max_connections
        self._refused = metrics.dropped.labels(batcher.source, "too_many_connections")
        self._connections = metrics.connections.labels(batcher.source)
        self._tasks: set[asyncio.Task[None]] = set()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve one connection until the peer closes it or goes idle."""
        peer = _format_peer(writer.get_extra_info("peername") or ("?", 0))
        task = asyncio.current_task()
        if task is None or len(self._tasks) >= self._max_connections:
            log.warning(
                "refusing syslog connection from %s: %d connections are open",
                peer,
                len(self._tasks),
            )
            self._refused.inc()
            writer.close()
            return
        self._tasks.add(task)
        decoder = FrameDecoder(max_frame_bytes=self._max_bytes)
        self._connections.inc()
        try:
            await self._read_frames(reader, decoder, peer)
        except (ConnectionError, ssl.SSLError, TimeoutError) as exc:
            log.info("syslog connection from %s ended: %s", peer, exc)
        except Exception:  # a receiver must outlive anything one connection does
            log.exception("syslog connection from %s failed", peer)
        finally:
            self._connections.dec()
            try:
                await self._deliver(decoder.finish(), peer)
            except Exception:
                log.exception("could not deliver the last frames of %s", peer)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            self._tasks.discard(task)

    async def _read_frames(
        self, reader: asyncio.StreamReader, decoder: FrameDecoder, peer: str
    ) -> None:
        while True:
            chunk = await asyncio.wait_for(reader.read(READ_CHUNK), self._idle_timeout)
            if not chunk:
                return
            await self._deliver(decoder.feed(chunk), peer)
            if decoder.closed:  # the framing is lost for good: nothing more can be read
                return

    async def _deliver(self, items: list[bytes | FrameError], peer: str) -> None:
        if not items:
            return
        received_at = time.time()
        frames = [item for item in items if not isinstance(item, FrameError)]
        if len(frames) < len(items):
            rejects = [(peer, item.data, item.reason) for item in items
                       if isinstance(item, FrameError)]  # fmt: skip
            await publish_rejects(self._bus, self._metrics, self._batcher.source, rejects)
        await self._batcher.put_many(frames, peer, received_at)

    async def close_connections(self) -> None:
        """Cancel every open connection handler (each still delivers its buffered frames)."""
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


def tls_context(cert: Path, key: Path, client_ca: Path | None) -> ssl.SSLContext:
    """Server TLS context (RFC 5425); with ``client_ca`` clients must present a certificate."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    if client_ca is not None:
        context.load_verify_locations(client_ca)
        context.verify_mode = ssl.CERT_REQUIRED
    return context


def udp_socket(host: str, port: int, receive_buffer: int) -> socket.socket:
    """A bound UDP socket with a large receive buffer (bursts wait in the kernel, not lost)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    if sys.platform == "linux":
        # SO_RCVBUFFORCE (privileged) passes net.core.rmem_max, which is often a few hundred
        # KiB: far too little to ride out a burst at 100k+ datagrams/s. Python does not
        # export the constant, so it is spelled out.
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, _SO_RCVBUFFORCE, receive_buffer)
    granted = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
    if granted < receive_buffer:
        log.warning(
            "UDP receive buffer is %d bytes, not the %d asked for; raise "
            "net.core.rmem_max to ride out bursts",
            granted,
            receive_buffer,
        )
    sock.bind((host, port))
    sock.setblocking(False)
    return sock


def kernel_udp_drops(sock: socket.socket) -> int:
    """Datagrams the kernel dropped for this socket (``/proc/net/udp*``), 0 when unknown."""
    inode = str(_inode(sock))
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if len(fields) > 12 and fields[9] == inode:
                    return int(fields[12])
    return 0


def _inode(sock: socket.socket) -> int:
    import os

    return os.fstat(sock.fileno()).st_ino
