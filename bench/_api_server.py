"""The product's API alone, in a subprocess, for the benchmarks that time HTTP answers
(``bench/api.py``, ``bench/console.py``), and the client they time it with.

Run as a script it serves: ``Runtime.for_stages(settings, ["api"])`` — the app, middleware and
uvicorn server of ``opsconductor up`` without the receivers and pipeline stages — on the
settings of its environment, and prints ``listening <url>`` once it answers.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import BENCH_ADMIN_PASSWORD, free_port, spawn, stop_process

# ---------------------------------------------------------------------------------------------
# the server (a subprocess running this script)


async def _serve() -> None:
    from opsconductor.config import Settings
    from opsconductor.runtime import Runtime

    runtime = Runtime.for_stages(Settings(), ["api"])
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await runtime.start()
    try:
        print(f"listening {runtime.http_url}", flush=True)
        await stop.wait()
    finally:
        await runtime.stop()


@dataclass
class Server:
    """The API in a subprocess, on a free loopback port."""

    env: dict[str, str]
    workdir: Path
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> Server:
        self.port = free_port()
        env = dict(os.environ, **self.env)
        env.update(
            OPSC_HTTP_HOST="127.0.0.1", OPSC_HTTP_PORT=str(self.port), OPSC_LOG_LEVEL="WARNING",
            OPSC_ADMIN_PASSWORD=BENCH_ADMIN_PASSWORD,
        )  # fmt: skip
        env.pop("OPSC_NATS_URL", None)
        err = (self.workdir / "serve.err").open("wb")
        self.proc = spawn(
            [sys.executable, __file__],
            env=env, stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        err.close()
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # blocks until listening, or EOF on failure
        if not line.startswith(b"listening"):
            self.stop()
            raise RuntimeError(
                "API server did not start:\n" + (self.workdir / "serve.err").read_text()[-3000:]
            )
        return self

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc, timeout=30.0)
            self.proc = None


# ---------------------------------------------------------------------------------------------
# the client


class Client:
    """One keep-alive HTTP/1.1 connection (stdlib: the least client time per request)."""

    def __init__(self, port: int, token: str | None = None) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any, float]:
        """(status, decoded JSON body, seconds from sending to the end of the body)."""
        headers = dict(self.headers)
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        started = time.perf_counter()
        self.conn.request(method, path, body=data, headers=headers)
        response = self.conn.getresponse()
        raw = response.read()
        elapsed = time.perf_counter() - started
        return response.status, json.loads(raw) if raw else None, elapsed

    def close(self) -> None:
        self.conn.close()


def login(port: int) -> tuple[str, float]:
    """An access token of the first admin, and how long the login took."""
    client = Client(port)
    try:
        status, body, elapsed = client.call(
            "POST", "/api/v1/auth/login", {"username": "admin", "password": BENCH_ADMIN_PASSWORD}
        )
    finally:
        client.close()
    if status != 200:
        raise RuntimeError(f"login answered {status}: {body}")
    return str(body["access_token"]), elapsed


if __name__ == "__main__":
    asyncio.run(_serve())
