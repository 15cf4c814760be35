"""``opsconductor run <stage>`` processes for distributed end-to-end tests."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx


class Stages:
    """``opsconductor run <stage>`` processes sharing one environment."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = {**os.environ, **env}
        self.logs = logs
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def cli(self, *args: str) -> None:
        subprocess.run(
            [sys.executable, "-m", "opsconductor", *args],
            env=self.env,
            check=True,
            capture_output=True,
            timeout=120,
        )

    def start(self, name: str, http_port: int, *, stage: str | None = None) -> None:
        """Start ``opsconductor run <stage>`` as process ``name`` (``stage`` defaults to it)."""
        env = {**self.env, "OPSC_HTTP_PORT": str(http_port)}
        log = (self.logs / f"{name}.log").open("ab")
        self.procs[name] = subprocess.Popen(
            [sys.executable, "-m", "opsconductor", "run", stage or name],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def kill(self, stage: str) -> None:
        proc = self.procs.pop(stage)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)

    def stop_all(self) -> None:
        for proc in self.procs.values():
            proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()


async def wait_ready(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            try:
                if (await client.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise AssertionError(f"stage on port {port} did not become ready")
