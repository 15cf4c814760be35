"""The ingest stage: binds the syslog listeners and publishes what arrives on ``raw.syslog``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
from dataclasses import dataclass, field

from opsconductor.bus.protocol import Bus
from opsconductor.config import Settings
from opsconductor.errors import ConfigError
from opsconductor.ingest.batcher import RecordBatcher
from opsconductor.ingest.syslog import (
    SyslogStreamServer,
    UdpSyslogProtocol,
    kernel_udp_drops,
    tls_context,
    udp_socket,
)
from opsconductor.observability import Metrics

log = logging.getLogger(__name__)


@dataclass
class Listener:
    """One bound receiver, for shutdown and for printing where it listens."""

    source: str
    address: str
    batcher: RecordBatcher
    server: asyncio.Server | None = None
    transport: asyncio.DatagramTransport | None = None
    stream: SyslogStreamServer | None = None
    sock: socket.socket | None = field(default=None, repr=False)


class IngestStage:
    """Syslog receivers for UDP, TCP and TLS, each feeding its own batcher."""

    name = "ingest"

    def __init__(self, settings: Settings, bus: Bus, metrics: Metrics) -> None:
        self._settings = settings
        self._bus = bus
        self._metrics = metrics
        self.listeners: list[Listener] = []
        metrics.add_gauge_source(
            "opsc_udp_kernel_drops",
            "Datagrams the kernel dropped on a UDP socket.",
            "address",
            self._kernel_drops,
        )

    async def start(self) -> None:
        """Bind every enabled listener."""
        s = self._settings
        if s.syslog_udp_port:
            await self._start_udp(s.syslog_host, s.syslog_udp_port)
        if s.syslog_tcp_port:
            await self._start_stream("syslog-tcp", s.syslog_host, s.syslog_tcp_port, None)
        if s.syslog_tls_port:
            if s.syslog_tls_cert is None or s.syslog_tls_key is None:
                log.info("syslog over TLS is off: OPSC_SYSLOG_TLS_CERT and _KEY are not set")
            else:
                try:
                    context = tls_context(
                        s.syslog_tls_cert, s.syslog_tls_key, s.syslog_tls_client_ca
                    )
                except (OSError, ssl.SSLError) as exc:
                    raise ConfigError(f"cannot load the syslog TLS certificate: {exc}") from exc
                await self._start_stream("syslog-tls", s.syslog_host, s.syslog_tls_port, context)

    async def stop(self) -> None:
        """Close listeners, finish open connections and publish what is pending."""
        for listener in self.listeners:
            if listener.transport is not None:
                listener.transport.close()
            if listener.server is not None:
                listener.server.close()
            if listener.stream is not None:
                await listener.stream.close_connections()
        for listener in self.listeners:
            await listener.batcher.stop()
        self.listeners.clear()

    async def drain(self) -> None:
        """Wait until everything received so far is published."""
        for listener in self.listeners:
            await listener.batcher.drain()

    def _batcher(self, source: str) -> RecordBatcher:
        s = self._settings
        return RecordBatcher(
            self._bus,
            source,
            self._metrics,
            max_events=s.batch_max_events,
            max_bytes=s.batch_max_bytes,
            max_record_bytes=s.syslog_max_message_bytes,
            max_delay=s.batch_max_delay_ms / 1000.0,
            max_queued_batches=s.queue_max_batches,
            subject="raw.syslog",
        )

    async def _start_udp(self, host: str, port: int) -> None:
        batcher = self._batcher("syslog-udp")
        await batcher.start()
        try:
            sock = udp_socket(host, port, self._settings.udp_receive_buffer_bytes)
        except OSError as exc:
            raise ConfigError(f"cannot bind syslog UDP {host}:{port}: {exc}") from exc
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: UdpSyslogProtocol(batcher), sock=sock
        )
        bound = sock.getsockname()
        self.listeners.append(
            Listener(
                "syslog-udp",
                f"udp://{bound[0]}:{bound[1]}",
                batcher,
                transport=transport,
                sock=sock,
            )
        )

    async def _start_stream(self, source: str, host: str, port: int, context: object) -> None:
        batcher = self._batcher(source)
        await batcher.start()
        stream = SyslogStreamServer(
            self._bus,
            batcher,
            self._metrics,
            max_bytes=self._settings.syslog_max_message_bytes,
            max_connections=self._settings.syslog_max_connections,
        )
        try:
            server = await asyncio.start_server(
                stream.handle, host, port, ssl=context, reuse_address=True, limit=1 << 20
            )
        except OSError as exc:
            raise ConfigError(f"cannot bind {source} {host}:{port}: {exc}") from exc
        bound = server.sockets[0].getsockname()
        scheme = "tls" if context is not None else "tcp"
        self.listeners.append(
            Listener(
                source, f"{scheme}://{bound[0]}:{bound[1]}", batcher, server=server, stream=stream
            )
        )

    def _kernel_drops(self) -> dict[str, float]:
        drops: dict[str, float] = {}
        for listener in self.listeners:
            if listener.sock is not None:
                with contextlib.suppress(OSError):
                    drops[listener.address] = float(kernel_udp_drops(listener.sock))
        return drops
