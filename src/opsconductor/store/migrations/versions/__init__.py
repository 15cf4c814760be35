"""Alembic revision scripts, applied in order by ``opsconductor.store.engine.upgrade``."""
