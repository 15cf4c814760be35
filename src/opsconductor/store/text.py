"""Text search conditions shared by the listings."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa


def contains_text(column: sa.ColumnElement[Any], text: str) -> sa.ColumnElement[bool]:
    """``column`` holds ``text``, ignoring case (on SQLite, ASCII letters); ``%`` and ``_`` in
    ``text`` are literal characters, not wildcards."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.ilike(f"%{escaped}%", escape="\\")
