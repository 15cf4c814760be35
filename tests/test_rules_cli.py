"""``opsconductor rules``: list, load and test, as a user runs them (a real process)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

from tests.test_cli import _cli

CUSTOM = """
pack: site
rules:
  - id: site.probe
    agent: system
    title: "Probe {n}"
    severity: minor
    kind: threshold
    match: {message: 'site-probe-(?P<n>\\d+)'}
    fingerprint: [device_id, n]
    threshold: {count: 2, window: 1m}
"""


def _dropbear_lines(shared_data: Path) -> list[str]:
    lines = (shared_data / "openwrt" / "openwrt_lines.log").read_text().splitlines()
    return [line for line in lines if "dropbear" in line and "bad password" in line.lower()]


def test_list_shows_the_built_in_packs(tmp_path: Path) -> None:
    result = _cli(tmp_path, "rules", "list", "--json")
    assert result.returncode == 0, result.stderr
    rules = [json.loads(line) for line in result.stdout.splitlines()]
    agents = {rule["agent"] for rule in rules}
    assert agents == {"wifi", "security", "health", "wan", "system"}
    assert all(rule["origin"].startswith("pack:") for rule in rules)


def test_load_then_list_then_test(tmp_path: Path) -> None:
    rules_file = tmp_path / "site.yaml"
    rules_file.write_text(CUSTOM)
    loaded = _cli(tmp_path, "rules", "load", str(rules_file))
    assert loaded.returncode == 0, loaded.stderr
    listed = _cli(tmp_path, "rules", "list", "--agent", "system", "--json")
    ids = {json.loads(line)["id"] for line in listed.stdout.splitlines()}
    assert "site.probe" in ids
    log = tmp_path / "probe.log"
    log.write_text(
        "Sun Jul 19 21:22:03 2020 daemon.notice app: site-probe-7\n"
        "Sun Jul 19 21:22:05 2020 daemon.notice app: unrelated\n"
        "Sun Jul 19 21:22:09 2020 daemon.notice app: site-probe-7\n"
    )
    tested = _cli(tmp_path, "rules", "test", "site.probe", str(log))
    out = tested.stdout.decode()
    assert tested.returncode == 0, tested.stderr
    assert "problem minor Probe 7" in out
    assert "probe.log:1:" in out and "probe.log:3:" in out and "probe.log:2:" not in out
    assert "1 findings from rule site.probe" in out


def test_a_built_in_rule_on_real_lines(tmp_path: Path, shared_data: Path) -> None:
    lines = _dropbear_lines(shared_data)
    assert lines
    log = tmp_path / "dropbear.log"
    log.write_text("\n".join(lines) + "\n")
    tested = _cli(tmp_path, "rules", "test", "security.ssh_password_failed", str(log))
    out = tested.stdout.decode()
    assert tested.returncode == 0, tested.stderr
    assert f"{len(lines)} findings from rule security.ssh_password_failed" in out
    assert "reason:" in out


def test_an_invalid_rule_is_refused_with_the_reason(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(CUSTOM.replace("(?P<n>\\d+)", "(?P<n>\\d+"))
    loaded = _cli(tmp_path, "rules", "load", str(bad))
    assert loaded.returncode != 0
    assert b"site.probe" in loaded.stderr
    listed = _cli(tmp_path, "rules", "list", "--json")
    assert b"site.probe" not in listed.stdout


def _audit_records(tmp_path: Path, count: int) -> Path:
    """A database with ``count`` genuine audit records; returns its file."""
    from opsconductor.store import create_engine, session_factory
    from opsconductor.store.audit import AuditEntry, append_audit

    assert _cli(tmp_path, "db", "upgrade").returncode == 0
    database = tmp_path / "data" / "opsconductor.db"

    async def write() -> None:
        engine = create_engine(f"sqlite:///{database}")
        for n in range(count):
            async with session_factory(engine)() as session:
                entry = AuditEntry(
                    float(n), "kim", "admin", "POST /x", "/x", "192.0.2.1", "201", {}
                )
                await append_audit(session, entry)
                await session.commit()
        await engine.dispose()

    asyncio.run(write())
    return database


def test_audit_verify_finds_a_changed_and_a_deleted_record(tmp_path: Path) -> None:
    database = _audit_records(tmp_path, 4)
    intact = _cli(tmp_path, "audit", "verify")
    assert intact.returncode == 0, intact.stderr
    assert "audit log intact: 4 records" in intact.stdout.decode()
    with sqlite3.connect(database) as conn:
        conn.execute("UPDATE audit_log SET outcome = '403' WHERE seq = 3")
    changed = _cli(tmp_path, "audit", "verify")
    assert changed.returncode == 1
    assert "record 3 was changed" in changed.stdout.decode()
    with sqlite3.connect(database) as conn:
        conn.execute("DELETE FROM audit_log WHERE seq IN (2, 3)")
    deleted = _cli(tmp_path, "audit", "verify")
    assert deleted.returncode == 1
    assert "record 2 is missing" in deleted.stdout.decode()
