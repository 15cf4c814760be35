"""rsyslog as the benchmark peer: the same senders, counted from its output file."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

#: The shared OpenWrt sample (read only; never copied into the project).
from _common import free_port, spawn, stop_process, tail, wait_for

# ---------------------------------------------------------------------------------------------
# rsyslog peer


RSYSLOGD = shutil.which("rsyslogd") or "/usr/sbin/rsyslogd"

RSYSLOG_CONF = """\
global(workDirectory="{dir}" maxMessageSize="64k" net.enableDNS="off")
module(load="imudp" threads="1")
module(load="imtcp" maxSessions="200")
input(type="imudp" address="127.0.0.1" port="{udp}" rcvbufSize="{rcvbuf}")
input(type="imtcp" address="127.0.0.1" port="{tcp}")
main_queue(queue.type="FixedArray" queue.size="{queue}" queue.dequeueBatchSize="1024")
if $inputname == "rsyslogd" then {{
  action(type="omfile" file="{dir}/internal.log")
  stop
}}
action(type="omfile" file="{out}" template="RSYSLOG_TraditionalFileFormat"
       ioBufferSize="1m" flushOnTXEnd="on")
"""


def udp_socket_drops(port: int) -> int:
    """Kernel drop count of whatever UDP socket is bound to 127.0.0.1:``port`` (0 when none)."""
    wanted = f"0100007F:{port:04X}"
    with contextlib.suppress(OSError):
        for line in Path("/proc/net/udp").read_text().splitlines()[1:]:
            fields = line.split()
            if len(fields) > 12 and fields[1] == wanted:
                return int(fields[12])
    return 0


def _listening(port: int, table: str) -> bool:
    wanted = f":{port:04X}"
    with contextlib.suppress(OSError):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[1].endswith(wanted) and (table.endswith("udp") or fields[3] == "0A"):
                return True
    return False


@dataclass
class Rsyslog:
    """``rsyslogd -n`` with imudp and imtcp writing every record to one file (``omfile``)."""

    workdir: Path
    rcvbuf: int = 8 << 20
    queue_size: int = 100_000
    proc: subprocess.Popen[bytes] | None = None
    udp_port: int = 0
    tcp_port: int = 0
    _counted_bytes: int = 0
    _counted_lines: int = 0

    @property
    def out(self) -> Path:
        return self.workdir / "out.log"

    def start(self, timeout: float = 20.0) -> Rsyslog:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.udp_port = free_port(socket.SOCK_DGRAM)
        self.tcp_port = free_port()
        conf = self.workdir / "rsyslog.conf"
        conf.write_text(
            RSYSLOG_CONF.format(
                dir=self.workdir,
                udp=self.udp_port,
                tcp=self.tcp_port,
                out=self.out,
                rcvbuf=self.rcvbuf,
                queue=self.queue_size,
            )
        )
        err = (self.workdir / "rsyslog.err").open("wb")
        self.proc = spawn(
            [RSYSLOGD, "-n", "-f", str(conf), "-i", str(self.workdir / "rsyslog.pid")],
            stdout=err,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        err.close()

        def up() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"rsyslogd exited with {self.proc.returncode}:\n"
                    + tail(self.workdir / "rsyslog.err")
                )
            return _listening(self.udp_port, "/proc/net/udp") and _listening(
                self.tcp_port, "/proc/net/tcp"
            )

        wait_for(up, timeout, "rsyslogd to listen")
        self._counted_bytes = self._counted_lines = 0
        return self

    def lines(self) -> int:
        """Lines written to the output file so far (counted incrementally)."""
        try:
            with self.out.open("rb") as handle:
                handle.seek(self._counted_bytes)
                data = handle.read()
        except FileNotFoundError:
            return 0
        cut = data.rfind(b"\n") + 1
        self._counted_lines += data.count(b"\n", 0, cut)
        self._counted_bytes += cut
        return self._counted_lines

    @property
    def kernel_drops(self) -> int:
        return udp_socket_drops(self.udp_port)

    def stop(self) -> int | None:
        if self.proc is None:
            return None
        code = stop_process(self.proc, timeout=30.0)
        self.proc = None
        return code
