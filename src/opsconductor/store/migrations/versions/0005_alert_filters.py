"""Alerts: an index serving the alert list's usual filter, status + severity (+ domain).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add ``ix_alerts_status_severity_domain_id`` (see ``store/tables.py``)."""
    op.create_index(
        "ix_alerts_status_severity_domain_id", "alerts", ["status", "severity", "domain", "id"]
    )


def downgrade() -> None:
    """Drop it again."""
    op.drop_index("ix_alerts_status_severity_domain_id", table_name="alerts")
