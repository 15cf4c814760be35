"""Agents and alerts: rules, findings, alerts and their history, silences, maintenance
windows, the agents' saved state; a site and groups for devices (maintenance scopes).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(JSONB(), "postgresql")


def _text(name: str, *, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.Text, nullable=nullable)


def _time(name: str, *, nullable: bool = False) -> sa.Column[float]:
    return sa.Column(name, sa.Double, nullable=nullable)


def _create_rules() -> None:
    op.create_table(
        "rules",
        _text("id"),
        _text("agent"),
        _text("kind"),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("definition", _JSON, nullable=False),
        _text("origin"),
        sa.Column("revision", sa.Integer, nullable=False),
        _time("created_at"),
        _time("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_rules"),
    )
    op.create_index("ix_rules_agent_id", "rules", ["agent", "id"])


def _create_findings() -> None:
    op.create_table(
        "findings",
        *(_text(n) for n in ("id", "rule_id", "agent", "domain", "kind", "device_id", "host")),
        *(_text(n) for n in ("severity", "title", "summary", "fingerprint")),
        sa.Column("labels", _JSON, nullable=False),
        sa.Column("evidence", _JSON, nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        _time("window_seconds"),
        _time("observed_at"),
        _time("detected_at"),
        _text("alert_id", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_findings"),
    )
    for column in ("fingerprint", "device_id", "rule_id"):
        op.create_index(f"ix_findings_{column}_id", "findings", [column, "id"])


def _create_alerts() -> None:
    op.create_table(
        "alerts",
        *(_text(n) for n in ("id", "fingerprint", "rule_id", "agent", "domain", "device_id")),
        *(_text(n) for n in ("host", "title", "summary")),
        sa.Column("labels", _JSON, nullable=False),
        *(_text(n) for n in ("status", "severity", "base_severity")),
        sa.Column("flapping", sa.Boolean, nullable=False),
        _text("suppressed_by"),
        sa.Column("occurrences", sa.Integer, nullable=False),
        _time("first_seen"),
        _time("last_seen"),
        _time("resolved_at", nullable=True),
        sa.Column("transitions", _JSON, nullable=False),
        _time("last_notified_at", nullable=True),
        _text("acknowledged_by", nullable=True),
        _time("acknowledged_at", nullable=True),
        _text("assignee", nullable=True),
        _text("last_finding_id"),
        _time("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_alerts"),
        sa.UniqueConstraint("fingerprint", name="uq_alerts_fingerprint"),
    )
    op.create_index("ix_alerts_status_id", "alerts", ["status", "id"])
    op.create_index("ix_alerts_device_id_id", "alerts", ["device_id", "id"])
    op.create_table(
        "alert_history",
        _text("id"),
        _text("alert_id"),
        _time("at"),
        *(_text(n) for n in ("change", "status", "severity", "actor", "detail")),
        _text("finding_id", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_alert_history"),
    )
    op.create_index("ix_alert_history_alert_id_id", "alert_history", ["alert_id", "id"])


def _create_suppression() -> None:
    op.create_table(
        "silences",
        _text("id"),
        sa.Column("matchers", _JSON, nullable=False),
        _time("starts_at"),
        _time("ends_at"),
        _text("author"),
        _text("comment"),
        _time("created_at"),
        _time("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_silences"),
    )
    op.create_index("ix_silences_ends_at", "silences", ["ends_at"])
    op.create_table(
        "maintenance_windows",
        _text("id"),
        _text("name"),
        sa.Column("scope", _JSON, nullable=False),
        sa.Column("schedule", _JSON, nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        _text("author"),
        _text("comment"),
        _time("created_at"),
        _time("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_maintenance_windows"),
    )


def upgrade() -> None:
    """Create the tables of agents and alerts; give devices a site and groups."""
    with op.batch_alter_table("devices") as batch:
        batch.add_column(sa.Column("site", sa.Text, nullable=False, server_default=""))
        batch.add_column(sa.Column("groups", _JSON, nullable=False, server_default="[]"))
    _create_rules()
    _create_findings()
    _create_alerts()
    _create_suppression()
    op.create_table(
        "agent_state",
        _text("partition"),
        sa.Column("state", sa.LargeBinary, nullable=False),
        _time("updated_at"),
        sa.Column("epoch", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("partition", name="pk_agent_state"),
    )


def downgrade() -> None:
    """Drop them again."""
    for table in (
        "agent_state",
        "maintenance_windows",
        "silences",
        "alert_history",
        "alerts",
        "findings",
        "rules",
    ):
        op.drop_table(table)
    with op.batch_alter_table("devices") as batch:
        batch.drop_column("groups")
        batch.drop_column("site")
