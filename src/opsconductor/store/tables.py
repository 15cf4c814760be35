"""The store's tables, as SQLAlchemy Core ``Table`` objects (the hot path never builds ORM objects).

Times are ``double precision`` epoch seconds (UTC): the same number every stage already carries,
compact (8 bytes), exact through a JSON cursor, and compared without time-zone conversions.

Index choices for ``events`` (the table that grows to millions of rows). Each secondary index
is paid on every insert, so ``events`` has one:

primary key ``id``
    A ULID minted when the record was received. The listing is newest received first, so the
    key is also the main read path (keyset pagination by id, ``since``/``until`` as an id
    range) and the retention path (delete ids below the cutoff's ULID). On SQLite the table
    is ``WITHOUT ROWID``: rows are clustered by id and every insert appends.
``ix_events_device_id_id`` (device_id, id)
    "Events of this device": thousands of devices, many quiet, so scanning for one would walk
    most of the table; with ``id`` in the key a page is a pure index range scan, no sort.

Left out on purpose: an index on the stated ``timestamp`` (device clocks are often wrong, and
it cost ~25% of the SQLite insert rate with replayed logs), ``(domain, …)`` (a handful of
common values; ~15% of insert rate), ``severity``/``program``/``source`` (low cardinality,
usually combined with the above) and, on PostgreSQL, a ``pg_trgm`` GIN index on ``message``:
it made the substring search indexable but halved the insert rate (28k → 12.6k events/s,
batch 2000). These filters narrow the newest-first scan, which is quick whenever matches are
common; rare values are the price: a longer scan.

There is no foreign key from ``events.device_id`` to ``devices``: it would cost a lookup per
inserted row on the hot path, and every event's device row is upserted in the same transaction.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

JsonDocument = sa.JSON().with_variant(JSONB(), "postgresql")
"""JSON text on SQLite, ``jsonb`` on PostgreSQL."""

devices = sa.Table(
    "devices",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("address", sa.Text, nullable=False),
    sa.Column("hostname", sa.Text, nullable=False),
    sa.Column("first_seen", sa.Double, nullable=False),
    sa.Column("last_seen", sa.Double, nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("site", sa.Text, nullable=False, server_default=""),
    sa.Column("groups", JsonDocument, nullable=False, server_default="[]"),
    sa.Column("tags", JsonDocument, nullable=False, server_default="[]"),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Index("ix_devices_name_id", "name", "id"),
)

events = sa.Table(
    "events",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("received_at", sa.Double, nullable=False),
    sa.Column("timestamp", sa.Double, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("peer", sa.Text, nullable=False),
    sa.Column("device_id", sa.Text, nullable=False),
    sa.Column("host", sa.Text, nullable=False),
    sa.Column("facility", sa.SmallInteger, nullable=True),
    sa.Column("severity", sa.SmallInteger, nullable=True),
    sa.Column("program", sa.Text, nullable=False),
    sa.Column("procid", sa.Text, nullable=False),
    sa.Column("msgid", sa.Text, nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("structured_data", JsonDocument, nullable=False),
    sa.Column("extra", JsonDocument, nullable=False),
    sa.Column("format", sa.Text, nullable=False),
    sa.Column("parse_status", sa.Text, nullable=False),
    sa.Column("domain", sa.Text, nullable=False),
    sa.Index("ix_events_device_id_id", "device_id", "id"),
    sqlite_with_rowid=False,
)

EVENT_COLUMNS: tuple[str, ...] = tuple(column.name for column in events.columns)
"""Column order of ``events``; the hot-path insert builds its tuples in this order."""

dead_letters = sa.Table(
    "dead_letters",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("received_at", sa.Double, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("peer", sa.Text, nullable=False),
    sa.Column("stage", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Index("ix_dead_letters_received_at_id", "received_at", "id"),
    sa.Index("ix_dead_letters_source_received_at_id", "source", "received_at", "id"),
)


def as_columns(rows: list[tuple[Any, ...]]) -> tuple[list[Any], ...]:
    """Transpose row tuples into one list per column: the ``unnest`` arrays on PostgreSQL."""
    return tuple(list(column) for column in zip(*rows, strict=True))


# ---- agents, findings, alerts, suppression (migration 0002) ------------------------------

rules = sa.Table(
    "rules",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("agent", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("definition", JsonDocument, nullable=False),
    sa.Column("origin", sa.Text, nullable=False),  # "pack:<name>" or "user"
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("updated_at", sa.Double, nullable=False),
    sa.Index("ix_rules_agent_id", "agent", "id"),
)
"""Rules are data: ``definition`` is the whole validated rule document (``agents.rules.Rule``);
``agent``, ``kind`` and ``enabled`` are copied out of it for filtering."""

findings = sa.Table(
    "findings",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("rule_id", sa.Text, nullable=False),
    sa.Column("agent", sa.Text, nullable=False),
    sa.Column("domain", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("device_id", sa.Text, nullable=False),
    sa.Column("host", sa.Text, nullable=False),
    sa.Column("severity", sa.Text, nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
    sa.Column("fingerprint", sa.Text, nullable=False),
    sa.Column("labels", JsonDocument, nullable=False),
    sa.Column("evidence", JsonDocument, nullable=False),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("window_seconds", sa.Double, nullable=False),
    sa.Column("observed_at", sa.Double, nullable=False),
    sa.Column("detected_at", sa.Double, nullable=False),
    sa.Column("alert_id", sa.Text, nullable=True),
    sa.Index("ix_findings_fingerprint_id", "fingerprint", "id"),
    sa.Index("ix_findings_device_id_id", "device_id", "id"),
    sa.Index("ix_findings_rule_id_id", "rule_id", "id"),
)
"""Findings as agents published them; ``id`` is a ULID of the detection time whose random part
is derived from the finding's content, so a redelivered finding lands on the same row."""

alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("fingerprint", sa.Text, nullable=False),
    sa.Column("rule_id", sa.Text, nullable=False),
    sa.Column("agent", sa.Text, nullable=False),
    sa.Column("domain", sa.Text, nullable=False),
    sa.Column("device_id", sa.Text, nullable=False),
    sa.Column("host", sa.Text, nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
    sa.Column("labels", JsonDocument, nullable=False),
    sa.Column("status", sa.Text, nullable=False),  # firing | resolved
    sa.Column("severity", sa.Text, nullable=False),
    sa.Column("base_severity", sa.Text, nullable=False),
    sa.Column("flapping", sa.Boolean, nullable=False),
    sa.Column("suppressed_by", sa.Text, nullable=False),  # "" or silence:<id> / maintenance:<id>
    sa.Column("occurrences", sa.Integer, nullable=False),
    sa.Column("first_seen", sa.Double, nullable=False),
    sa.Column("last_seen", sa.Double, nullable=False),
    sa.Column("resolved_at", sa.Double, nullable=True),
    sa.Column("transitions", JsonDocument, nullable=False),  # recent status-change times
    sa.Column("last_notified_at", sa.Double, nullable=True),
    sa.Column("acknowledged_by", sa.Text, nullable=True),
    sa.Column("acknowledged_at", sa.Double, nullable=True),
    sa.Column("assignee", sa.Text, nullable=True),
    sa.Column("last_finding_id", sa.Text, nullable=False),
    sa.Column("updated_at", sa.Double, nullable=False),
    sa.UniqueConstraint("fingerprint", name="uq_alerts_fingerprint"),
    sa.Index("ix_alerts_status_id", "status", "id"),
    sa.Index("ix_alerts_device_id_id", "device_id", "id"),
    sa.Index("ix_alerts_status_severity_domain_id", "status", "severity", "domain", "id"),
)
"""One row per fingerprint (the unique index the upsert relies on).

The listing is newest first (by id), so each index ends in ``id``: ``(status, id)`` walks the
firing (or resolved) alerts in order; ``(device_id, id)`` one device's; ``(status, severity,
domain, id)`` serves a rare combination such as firing critical WAN alerts (41 of 100,000
in ``bench/api.py``), which the newest-first walk of the table would otherwise scan to the
end: 35–50 ms at 100,000 alerts, 0.2 ms with it (migration 0005). A rare combination without
a status (e.g. every critical alert of one domain) still walks the table."""

alert_history = sa.Table(
    "alert_history",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("alert_id", sa.Text, nullable=False),
    sa.Column("at", sa.Double, nullable=False),
    sa.Column("change", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("severity", sa.Text, nullable=False),
    sa.Column("actor", sa.Text, nullable=False),  # "system" or the user
    sa.Column("detail", sa.Text, nullable=False),
    sa.Column("finding_id", sa.Text, nullable=True),
    sa.Index("ix_alert_history_alert_id_id", "alert_id", "id"),
)
"""Every change of an alert (decisions, operator actions, comments), oldest first by id."""

silences = sa.Table(
    "silences",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("matchers", JsonDocument, nullable=False),
    sa.Column("starts_at", sa.Double, nullable=False),
    sa.Column("ends_at", sa.Double, nullable=False),
    sa.Column("author", sa.Text, nullable=False),
    sa.Column("comment", sa.Text, nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("updated_at", sa.Double, nullable=False),
    sa.Index("ix_silences_ends_at", "ends_at"),
)

maintenance_windows = sa.Table(
    "maintenance_windows",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("scope", JsonDocument, nullable=False),  # {"devices": [], "groups": [], "sites": []}
    sa.Column("schedule", JsonDocument, nullable=False),  # weekly or cron, with a time zone
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("author", sa.Text, nullable=False),
    sa.Column("comment", sa.Text, nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("updated_at", sa.Double, nullable=False),
)

agent_state = sa.Table(
    "agent_state",
    metadata,
    sa.Column("partition", sa.Text, primary_key=True),
    sa.Column("state", sa.LargeBinary, nullable=False),
    sa.Column("updated_at", sa.Double, nullable=False),
    sa.Column("epoch", sa.Integer, nullable=False),
)
"""The agents' windows and timers, saved per partition so a worker that takes a partition over
(or restarts) continues where the last owner stopped; ``epoch`` fences out a former owner."""

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("at", sa.Double, nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("target", sa.Text, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("outcome", sa.Text, nullable=False),
    sa.Column("detail", JsonDocument, nullable=False),
    sa.Column("prev_hash", sa.Text, nullable=False),
    sa.Column("hash", sa.Text, nullable=False),
    sa.Index("ix_audit_log_actor_seq", "actor", "seq"),
)
"""Append-only, hash-chained record of every change made through the API (``store/audit``)."""

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("username", sa.Text, nullable=False, unique=True),
    sa.Column("full_name", sa.Text, nullable=False, server_default=""),
    sa.Column("email", sa.Text, nullable=False, server_default=""),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("totp_secret", sa.Text),
    sa.Column("totp_enabled", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("totp_last_step", sa.BigInteger),
    sa.Column("failed_logins", sa.Integer, nullable=False, server_default="0"),
    sa.Column("locked_until", sa.Double),
    sa.Column("password_changed_at", sa.Double, nullable=False),
    sa.Column("last_login_at", sa.Double),
    sa.Column("created_at", sa.Double, nullable=False),
)
"""People who log in: argon2 password hash, role, optional TOTP, failed-login lockout."""

refresh_tokens = sa.Table(
    "refresh_tokens",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("family", sa.Text, nullable=False, index=True),
    sa.Column("user_id", sa.Text, nullable=False, index=True),
    sa.Column("token_hash", sa.Text, nullable=False, unique=True),
    sa.Column("issued_at", sa.Double, nullable=False),
    sa.Column("expires_at", sa.Double, nullable=False),
    sa.Column("used_at", sa.Double),
    sa.Column("revoked_at", sa.Double),
)
"""Refresh tokens (SHA-256 of the token only); one family per login, rotated on every use."""

web_sessions = sa.Table(
    "web_sessions",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),  # SHA-256 of the cookie's secret
    sa.Column("user_id", sa.Text, nullable=False, index=True),
    sa.Column("csrf", sa.Text, nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("seen_at", sa.Double, nullable=False),
    sa.Column("expires_at", sa.Double, nullable=False),
    sa.Column("source", sa.Text, nullable=False, server_default=""),
    sa.Column("user_agent", sa.Text, nullable=False, server_default=""),
)
"""Browser sessions of the web console: the cookie's secret hashed, its CSRF token, its limits."""

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("prefix", sa.Text, nullable=False, unique=True),
    sa.Column("key_hash", sa.Text, nullable=False),
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("created_by", sa.Text, nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("expires_at", sa.Double),
    sa.Column("revoked_at", sa.Double),
    sa.Column("last_used_at", sa.Double),
)
"""API keys of service accounts: a recognisable prefix in the clear, the secret hashed."""

server_secrets = sa.Table(
    "server_secrets",
    metadata,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
)
"""Secrets every API process shares (the token signing key), created once, never returned."""

agents = sa.Table(
    "agents",
    metadata,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("domain", sa.Text, nullable=False),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("subjects", JsonDocument, nullable=False, server_default="[]"),
    sa.Column("status", sa.Text, nullable=False, server_default="unknown"),
    sa.Column("last_seen", sa.Double),
    sa.Column("detail", JsonDocument, nullable=False, server_default="{}"),
    sa.Column("updated_at", sa.Double, nullable=False),
)
"""The domain agents: definition, enabled flag, subjects, and status from their heartbeats."""

system_settings = sa.Table(
    "system_settings",
    metadata,
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("value", JsonDocument, nullable=False),
    sa.Column("updated_at", sa.Double, nullable=False),
    sa.Column("updated_by", sa.Text, nullable=False),
)
"""Settings changed at run time through the API (``api/settings``)."""

addons = sa.Table(
    "addons",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("manifest", JsonDocument, nullable=False),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("builtin", sa.Boolean, nullable=False),
    sa.Column("version", sa.Text, nullable=False),
    sa.Column("installed_at", sa.Double, nullable=False),
    sa.Column("updated_at", sa.Double, nullable=False),
)
"""Installed addons: ``manifest`` is the whole validated document (``addons.manifest``),
``version`` copied out of it; ``builtin`` marks the ones seeded from ``addons/builtin``.
Per-addon secrets (a webhook's token or HMAC key) are not kept here."""
