"""``opsconductor addons``: install, list, enable, disable and schema, as a user runs them
(a real process); changes land in the audit log."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import yaml
from tests.conftest import ROOT
from tests.test_cli import _cli

HOOK = """
id: site.hook
name: Site hook
version: 1.0.0
method: webhook
parser:
  kind: json
  fields: {host: host, event: event}
fingerprint: [host, event]
device: {field: host}
"""


def _listed(tmp_path: Path) -> dict[str, dict[str, object]]:
    result = _cli(tmp_path, "addons", "list", "--json")
    assert result.returncode == 0, result.stderr
    return {row["id"]: row for row in map(json.loads, result.stdout.splitlines())}


def _audit_actions(tmp_path: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(tmp_path / "data" / "opsconductor.db") as conn:
        rows = conn.execute("SELECT action, target FROM audit_log ORDER BY seq").fetchall()
    return [(str(action), str(target)) for action, target in rows]


def test_list_shows_the_builtins(tmp_path: Path) -> None:
    listed = _listed(tmp_path)
    assert set(listed) == {
        "alertmanager", "generic-json", "generic-snmp", "grafana", "openwrt-syslog",
    }  # fmt: skip
    assert all(row["builtin"] and row["enabled"] for row in listed.values())
    table = _cli(tmp_path, "addons", "list")
    assert b"5 addons" in table.stdout


def test_install_yaml_then_json_new_version_enable_disable(tmp_path: Path) -> None:
    manifest = tmp_path / "hook.yaml"
    manifest.write_text(HOOK)
    installed = _cli(tmp_path, "addons", "install", str(manifest))
    assert installed.returncode == 0, installed.stderr
    out = installed.stdout.decode()
    assert "site.hook 1.0.0 (webhook, enabled): installed" in out
    assert "webhook: POST /api/v1/webhooks/site.hook" in out
    again = _cli(tmp_path, "addons", "install", str(manifest))
    assert "site.hook 1.0.0 (webhook, enabled): unchanged" in again.stdout.decode()

    document = yaml.safe_load(HOOK) | {"version": "1.1.0", "title": "{event} on {host}"}
    as_json = tmp_path / "hook.json"
    as_json.write_text(json.dumps(document))
    updated = _cli(tmp_path, "addons", "install", str(as_json))
    assert "site.hook 1.1.0 (webhook, enabled): updated" in updated.stdout.decode()
    stored = _listed(tmp_path)["site.hook"]["manifest"]
    assert isinstance(stored, dict) and stored["title"] == "{event} on {host}"

    disabled = _cli(tmp_path, "addons", "disable", "site.hook")
    assert (disabled.returncode, disabled.stdout.decode().strip()) == (0, "site.hook disabled")
    assert _listed(tmp_path)["site.hook"]["enabled"] is False
    twice = _cli(tmp_path, "addons", "disable", "site.hook")
    assert twice.stdout.decode().strip() == "site.hook was disabled already"
    assert _cli(tmp_path, "addons", "enable", "site.hook").returncode == 0
    assert _listed(tmp_path)["site.hook"]["enabled"] is True
    assert _audit_actions(tmp_path) == [
        ("addons install", "site.hook"), ("addons install", "site.hook"),
        ("addons disable", "site.hook"), ("addons enable", "site.hook"),
    ]  # fmt: skip


def test_an_invalid_manifest_lists_its_problems(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(HOOK.replace("fingerprint: [host, event]", "fingerprint: [host, nope]"))
    result = _cli(tmp_path, "addons", "install", str(bad))
    assert result.returncode == 1
    err = result.stderr.decode()
    assert "addon site.hook (bad.yaml) does not validate:" in err
    assert "fingerprint.1: unknown field 'nope'" in err
    assert "site.hook" not in _listed(tmp_path)
    broken = tmp_path / "broken.json"
    broken.write_text('{"id": ')
    failed = _cli(tmp_path, "addons", "install", str(broken))
    assert failed.returncode == 1
    assert "not valid YAML or JSON" in failed.stderr.decode()


def test_builtins_need_force_and_unknown_ids_fail(tmp_path: Path) -> None:
    clash = tmp_path / "am.yaml"
    clash.write_text(HOOK.replace("id: site.hook", "id: alertmanager"))
    refused = _cli(tmp_path, "addons", "install", str(clash))
    assert refused.returncode == 1
    assert "is built in" in refused.stderr.decode()
    forced = _cli(tmp_path, "addons", "install", "--force", str(clash))
    assert forced.returncode == 0, forced.stderr
    assert _listed(tmp_path)["alertmanager"]["builtin"] is False
    missing = _cli(tmp_path, "addons", "enable", "nope")
    assert missing.returncode == 1
    assert "no addon 'nope'" in missing.stderr.decode()


def test_schema_prints_the_published_file(tmp_path: Path) -> None:
    result = _cli(tmp_path, "addons", "schema")
    assert result.returncode == 0
    published = (ROOT / "docs" / "addon-manifest.schema.json").read_text(encoding="utf-8")
    assert result.stdout.decode() == published
