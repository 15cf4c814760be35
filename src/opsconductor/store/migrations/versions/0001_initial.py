"""Initial schema: devices, events, dead letters.

Revision ID: 0001
Revises:
Create Date: 2025-01-01

The tables are spelled out here rather than imported from ``tables.py`` so this revision keeps
describing the schema it created after ``tables.py`` moves on (index choices: see ``tables``).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(JSONB(), "postgresql")


def _create_devices() -> None:
    op.create_table(
        "devices",
        sa.Column("id", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("address", sa.Text, nullable=False),
        sa.Column("hostname", sa.Text, nullable=False),
        sa.Column("first_seen", sa.Double, nullable=False),
        sa.Column("last_seen", sa.Double, nullable=False),
        sa.Column("created_at", sa.Double, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_devices"),
    )
    op.create_index("ix_devices_name_id", "devices", ["name", "id"])


def _create_events() -> None:
    op.create_table(
        "events",
        sa.Column("id", sa.Text, nullable=False),
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
        sa.Column("structured_data", _JSON, nullable=False),
        sa.Column("extra", _JSON, nullable=False),
        sa.Column("format", sa.Text, nullable=False),
        sa.Column("parse_status", sa.Text, nullable=False),
        sa.Column("domain", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_events"),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_events_device_id_id", "events", ["device_id", "id"])


def _create_dead_letters() -> None:
    op.create_table(
        "dead_letters",
        sa.Column("id", sa.Text, nullable=False),
        sa.Column("received_at", sa.Double, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("peer", sa.Text, nullable=False),
        sa.Column("stage", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.Double, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_dead_letters"),
    )
    op.create_index("ix_dead_letters_received_at_id", "dead_letters", ["received_at", "id"])
    op.create_index(
        "ix_dead_letters_source_received_at_id", "dead_letters", ["source", "received_at", "id"]
    )


def upgrade() -> None:
    """Create the three tables and their indexes."""
    _create_devices()
    _create_events()
    _create_dead_letters()


def downgrade() -> None:
    """Drop the three tables."""
    op.drop_table("dead_letters")
    op.drop_table("events")
    op.drop_table("devices")
