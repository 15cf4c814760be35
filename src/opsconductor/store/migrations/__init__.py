"""Alembic migrations of the store (a package so the scripts ship with the wheel)."""
