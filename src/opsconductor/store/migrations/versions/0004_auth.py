"""Users, refresh tokens, API keys, server secrets, agents, system settings; device tags.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(JSONB(), "postgresql")


def _text(name: str, nullable: bool = False, **kwargs: object) -> sa.Column[str]:
    return sa.Column(name, sa.Text, nullable=nullable, **kwargs)  # type: ignore[arg-type]


def _time(name: str, nullable: bool = False) -> sa.Column[float]:
    return sa.Column(name, sa.Double, nullable=nullable)


def _create_users() -> None:
    op.create_table(
        "users",
        _text("id"),
        _text("username"),
        _text("full_name", server_default=""),
        _text("email", server_default=""),
        _text("password_hash"),
        _text("role"),
        sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
        _text("totp_secret", nullable=True),
        sa.Column("totp_enabled", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("failed_logins", sa.Integer, nullable=False, server_default="0"),
        _time("locked_until", nullable=True),
        _time("password_changed_at"),
        _time("last_login_at", nullable=True),
        _time("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("username", name="uq_users_username"),
    )
    op.create_table(
        "refresh_tokens",
        _text("id"),
        _text("family"),
        _text("user_id"),
        _text("token_hash"),
        _time("issued_at"),
        _time("expires_at"),
        _time("used_at", nullable=True),
        _time("revoked_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_refresh_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_refresh_tokens_token_hash"),
    )
    op.create_index("ix_refresh_tokens_family", "refresh_tokens", ["family"])
    op.create_index("ix_refresh_tokens_user_id", "refresh_tokens", ["user_id"])


def _create_keys() -> None:
    op.create_table(
        "api_keys",
        _text("id"),
        _text("name"),
        _text("prefix"),
        _text("key_hash"),
        _text("role"),
        _text("created_by"),
        _time("created_at"),
        _time("expires_at", nullable=True),
        _time("revoked_at", nullable=True),
        _time("last_used_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_api_keys"),
        sa.UniqueConstraint("prefix", name="uq_api_keys_prefix"),
    )
    op.create_table(
        "server_secrets",
        _text("name"),
        _text("value"),
        _time("created_at"),
        sa.PrimaryKeyConstraint("name", name="pk_server_secrets"),
    )


def _create_system() -> None:
    op.create_table(
        "agents",
        _text("name"),
        _text("domain"),
        _text("description", server_default=""),
        sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("subjects", _JSON, nullable=False, server_default="[]"),
        _text("status", server_default="unknown"),
        _time("last_seen", nullable=True),
        sa.Column("detail", _JSON, nullable=False, server_default="{}"),
        _time("updated_at"),
        sa.PrimaryKeyConstraint("name", name="pk_agents"),
    )
    op.create_table(
        "system_settings",
        _text("key"),
        sa.Column("value", _JSON, nullable=False),
        _time("updated_at"),
        _text("updated_by"),
        sa.PrimaryKeyConstraint("key", name="pk_system_settings"),
    )


def upgrade() -> None:
    """Create the tables of users, keys, agents and settings; give devices tags."""
    with op.batch_alter_table("devices") as batch:
        batch.add_column(sa.Column("tags", _JSON, nullable=False, server_default="[]"))
        batch.add_column(sa.Column("description", sa.Text, nullable=False, server_default=""))
    _create_users()
    _create_keys()
    _create_system()


def downgrade() -> None:
    """Drop them again."""
    for table in (
        "system_settings", "agents", "server_secrets", "api_keys", "refresh_tokens", "users",
    ):  # fmt: skip
        op.drop_table(table)
    with op.batch_alter_table("devices") as batch:
        batch.drop_column("description")
        batch.drop_column("tags")
