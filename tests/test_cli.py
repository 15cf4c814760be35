"""The ``opsconductor`` command as a user runs it: a real process, real output."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from tests.conftest import free_port


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSC_")}
    env.update({"OPSC_DATA_DIR": str(tmp_path / "data"), "OPSC_LOG_LEVEL": "WARNING", **extra})
    return env


def _cli(
    tmp_path: Path, *args: str, stdin: bytes | None = None, **extra: str
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "opsconductor", *args],
        env=_env(tmp_path, **extra),
        input=stdin,
        check=False,
        capture_output=True,
        timeout=120,
    )


def test_version(tmp_path: Path) -> None:
    result = _cli(tmp_path, "version")
    assert result.returncode == 0
    assert result.stdout.decode().strip() == "0.1.0"


def test_config_show_masks_secrets(tmp_path: Path) -> None:
    config = tmp_path / "opsc.yaml"
    config.write_text("syslog_udp_port: 6000\nretention_days: 3\n")
    result = _cli(
        tmp_path,
        "config",
        "show",
        "--config",
        str(config),
        OPSC_DATABASE_URL="postgresql+asyncpg://opsc:hunter2@db/opsc",
        OPSC_RETENTION_DAYS="2",
    )
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["syslog_udp_port"] == 6000  # from the file
    assert shown["retention_days"] == 2.0  # the environment wins over the file
    assert "hunter2" not in result.stdout.decode()
    assert shown["database_url"] == "postgresql+asyncpg://opsc:***@db/opsc"


def test_bad_settings_are_a_clear_error(tmp_path: Path) -> None:
    result = _cli(tmp_path, "config", "show", OPSC_DEFAULT_TIMEZONE="Mars/Olympus")
    assert result.returncode == 2
    assert b"unknown time zone" in result.stderr


def test_run_without_nats_explains(tmp_path: Path) -> None:
    result = _cli(tmp_path, "run", "parse")
    assert result.returncode == 2
    assert b"OPSC_NATS_URL" in result.stderr


def test_db_upgrade_and_replay(tmp_path: Path, shared_data: Path) -> None:
    assert _cli(tmp_path, "db", "upgrade").returncode == 0
    assert _cli(tmp_path, "db", "upgrade").returncode == 0  # idempotent
    source = shared_data / "openwrt" / "openwrt_lines.log"
    result = _cli(tmp_path, "replay", str(source))
    assert result.returncode == 0, result.stderr
    assert b"replayed 561 records" in result.stderr
    result = _cli(tmp_path, "replay", "-", stdin=b"<13>Oct 11 22:14:15 r1 app: from stdin\n")
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(tmp_path / "data" / "opsconductor.db") as db:
        (count,) = db.execute("SELECT count(*) FROM events").fetchone()
        (stdin_host,) = db.execute(
            "SELECT host FROM events WHERE message = 'from stdin'"
        ).fetchone()
    assert count == 562
    assert stdin_host == "r1"


def _up_once(tmp_path: Path, check: Callable[[int], None]) -> str:
    """Run ``opsconductor up`` until ``check(http_port)`` is done; its stderr."""
    http, syslog = free_port(), free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "opsconductor", "up"],
        env=_env(
            tmp_path,
            OPSC_HTTP_PORT=str(http),
            OPSC_SYSLOG_UDP_PORT=str(syslog),
            OPSC_SYSLOG_TCP_PORT=str(syslog),
            OPSC_SYSLOG_TLS_PORT="0",
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode()
        assert line.strip() == f"OpsConductor listening: http://127.0.0.1:{http}"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if httpx.get(f"http://127.0.0.1:{http}/readyz").status_code == 200:
                break
            time.sleep(0.1)
        assert httpx.get(f"http://127.0.0.1:{http}/healthz").json() == {"status": "ok"}
        check(http)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err.decode()
    assert f"udp://0.0.0.0:{syslog}" in err.decode()
    return err.decode()


def test_up_prints_where_it_listens_and_the_first_admin_login_once(tmp_path: Path) -> None:
    err = _up_once(tmp_path, lambda port: None)
    found = re.search(r"created user admin with password (\S+)", err)
    assert found, err
    password = found.group(1)

    def log_in(port: int) -> None:
        url = f"http://127.0.0.1:{port}/api/v1/auth/login"
        answer = httpx.post(url, json={"username": "admin", "password": password})
        assert answer.status_code == 200, answer.text

    again = _up_once(tmp_path, log_in)
    assert password not in again and "created user admin" not in again


def test_classification_file_extends_the_table(tmp_path: Path) -> None:
    table = tmp_path / "extra.yaml"
    table.write_text("rules:\n  - domain: wan\n    program: my-lte-modem\n")
    lines = b"<13>Oct 11 22:14:15 r1 my-lte-modem: signal lost\n<13>Oct 11 22:14:15 r1 x: y\n"
    result = _cli(tmp_path, "replay", "-", stdin=lines, OPSC_CLASSIFICATION_FILE=str(table))
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(tmp_path / "data" / "opsconductor.db") as db:
        domains = dict(db.execute("SELECT program, domain FROM events").fetchall())
    assert domains == {"my-lte-modem": "wan", "x": "generic"}


def test_replay_original_pace_keeps_the_gaps(tmp_path: Path) -> None:
    lines = (
        b"Sun Jul 19 21:22:03 2020 daemon.notice netifd: first\n"
        b"Sun Jul 19 21:22:04 2020 daemon.notice netifd: one second later\n"
        b"Sun Jul 19 23:22:05 2020 daemon.notice netifd: two hours later\n"
    )
    started = time.monotonic()
    result = _cli(tmp_path, "replay", "--pace", "original", "--max-gap", "1.5", "-", stdin=lines)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert b"replayed 3 records" in result.stderr
    # 1 s of stated gap, then 2 h capped at --max-gap (1.5 s): at least 2.5 s of waiting.
    assert elapsed >= 2.5
