"""The API against its own OpenAPI document: every operation fuzzed with schemathesis.

The schema is loaded from the app (``/api/openapi.json``); each operation is called with
generated inputs (valid and invalid) on the full app over a migrated SQLite store holding a
few rows of each kind, authenticated as an admin. Every answer must be no 5xx
(``not_a_server_error``), carry a status the document lists for the operation
(``status_code_conformance``) with the documented content type and body
(``content_type_conformance``, ``response_schema_conformance``). About half of the path
ids (chosen by a hash of the generated value) are replaced with those of the seeded rows, so
that reads and changes of existing records run too.

Generation is derandomized (the same cases on every run) with at most ``MAX_EXAMPLES``
examples per operation and no deadline; the run takes well under two minutes.

Nothing is left out, because nothing can take the run's credentials away: the admin's user id
is a fresh ULID no generated value hits, and the seeded ``user_id`` is another user's, so
``PATCH``/``DELETE /users/{user_id}`` never disable, demote or delete the admin;
``POST /auth/password`` needs the current password, which no generated body holds;
``/auth/totp/setup`` only stores a pending secret, which ``/auth/totp/enable`` would need a
valid code for; logins with random credentials may lock an account (even the admin's) or
refuse the test client's address (423/429, both documented), which never touches the access
token in use; ``POST /logs`` publishes to an in-process bus nothing consumes.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.python.asgi import get_client
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from tests.conftest import ADMIN_PASSWORD, run_in_thread

from opsconductor.alerts.decision import Policy
from opsconductor.alerts.service import AlertEngine
from opsconductor.alerts.suppression import Suppressor
from opsconductor.api.app import create_app
from opsconductor.api.context import AppContext
from opsconductor.auth.users import NewUser, create_user
from opsconductor.bus.memory import MemoryBus
from opsconductor.config import Settings
from opsconductor.ids import ulid_block
from opsconductor.messages import Event, Finding
from opsconductor.observability import Metrics
from opsconductor.store import add_events, create_engine, session_factory, upgrade
from opsconductor.store.devices import upsert_devices

MAX_EXAMPLES = 20
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def _document_app() -> Any:
    """An app without a store: enough to serve its OpenAPI document."""
    context = AppContext(Settings(data_dir=Path("/nonexistent")), MemoryBus(), Metrics())
    return create_app(context)


schema = schemathesis.openapi.from_asgi("/api/openapi.json", _document_app())


@dataclass
class Target:
    """The app under test, the admin's headers and the ids of the seeded rows by path name."""

    app: Any
    headers: dict[str, str]
    ids: dict[str, str]


async def _seed_store(url: str) -> dict[str, str]:
    """Migrate, create the admin, and store an event, a finding and its alert."""
    await upgrade(url)
    engine = create_engine(url)
    now = time.time()
    event_id, finding_id = ulid_block(2, now - 60)
    line = Event(
        event_id, now - 60, now - 60, "syslog-udp", "192.0.2.1:514", "ap-1", "ap-1", 10, 3,
        "dropbear", "1", "", "Bad password attempt for 'root' from 198.51.100.7:4711", {}, {},
        "rfc3164", "ok", "security",
    )  # fmt: skip
    finding = Finding(
        id=finding_id, rule_id="security.ssh_password_failed", agent="security",
        domain="security", kind="problem", device_id="ap-1", host="ap-1", severity="warning",
        title="SSH password failed", summary="", fingerprint="fp-fuzz",
        labels={"device_id": "ap-1"}, evidence=[line.id], observed_at=now - 60,
        detected_at=now - 59,
    )  # fmt: skip
    try:
        async with session_factory(engine)() as session, session.begin():
            await create_user(session, NewUser("admin", ADMIN_PASSWORD, "admin"), now)
            await add_events(session, [line])
            await upsert_devices(session, [line])
            (change,) = await AlertEngine(lambda _: Policy()).process(
                session, [finding], now - 59, Suppressor.empty()
            )
    finally:
        await engine.dispose()
    return {"alert_id": change.alert_id, "finding_id": finding_id, "device_id": "ap-1"}


def _created(client: Any, path: str, body: dict[str, Any], key: str = "id") -> str:
    response = client.post(path, json=body)
    assert response.status_code == 201, response.text
    return str(response.json()[key])


def _seed_through_api(client: Any) -> dict[str, str]:
    """Rows made through the API itself: a user, an API key, a rule, a silence, a window."""
    later = time.time() + 3600
    rule = {
        "id": "fuzz.rule", "agent": "system", "title": "Fuzz", "severity": "minor",
        "kind": "match", "match": {"message": "fuzz"},
    }  # fmt: skip
    window = {
        "name": "nightly", "scope": {"sites": ["hq"]},
        "schedule": {"kind": "weekly", "days": ["sat"], "start": "02:00", "duration": 3600,
                     "timezone": "UTC"},
    }  # fmt: skip
    user = {"username": "operator", "password": "Night-Shift-Secret-42", "role": "operator"}
    silence = {"matchers": [{"label": "device_id", "op": "=", "value": "ap-1"}], "ends_at": later}
    return {
        "user_id": _created(client, "/api/v1/users", user),
        "key_id": _created(client, "/api/v1/keys", {"name": "fuzz"}),
        "rule_id": _created(client, "/api/v1/rules", rule),
        "silence_id": _created(client, "/api/v1/silences", silence),
        "window_id": _created(client, "/api/v1/maintenance-windows", window),
        "name": "wifi",
        "key": "ui_refresh_seconds",
    }


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    """The full app over a seeded SQLite store, called in process (ASGI), and an admin's token.

    The store is prepared on a loop of its own; the app's engine first connects on the loop
    schemathesis calls the app on, and keeps to it.
    """
    data_dir = tmp_path_factory.mktemp("fuzz")
    url = f"sqlite:///{data_dir / 'fuzz.db'}"
    ids = run_in_thread(lambda: _seed_store(url))
    engine = create_engine(url)
    context = AppContext(
        Settings(data_dir=data_dir), MemoryBus(), Metrics(), engine, session_factory(engine)
    )
    app = create_app(context)
    with get_client(app) as client:
        login = client.post(
            "/api/v1/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}
        )
        assert login.status_code == 200, login.text
        client.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
        ids.update(_seed_through_api(client))
        headers = {"Authorization": client.headers["Authorization"]}
    try:
        yield Target(app, headers, ids)
    finally:
        run_in_thread(engine.dispose)


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_operation_answers_as_documented(case: Any, target: Target) -> None:
    """No 5xx, and every answer's status, content type and body as the document says."""
    for name, value in list((case.path_parameters or {}).items()):
        if name in target.ids and zlib.crc32(str(value).encode()) % 2:
            case.path_parameters[name] = target.ids[name]
    case.call_and_validate(app=target.app, headers=target.headers, checks=CHECKS)


def test_error_answers_are_documented() -> None:
    """Each operation lists the errors the edge can give it, all with the one error body."""
    document = _document_app().openapi()
    paths = document["paths"]
    assert set(paths["/api/v1/alerts/{alert_id}"]["get"]["responses"]) == {
        "200", "400", "401", "403", "404", "422", "503"
    }  # fmt: skip
    assert {"401", "423", "429"} <= set(paths["/api/v1/auth/login"]["post"]["responses"])
    assert "401" not in paths["/healthz"]["get"]["responses"]
    body = {"$ref": "#/components/schemas/ErrorBody"}
    for item in paths.values():
        for operation in item.values():
            for status, answer in operation["responses"].items():
                if int(status) >= 400:
                    assert answer["content"]["application/json"]["schema"] == body
    assert document["components"]["schemas"]["ErrorBody"]["required"] == ["error", "detail"]
