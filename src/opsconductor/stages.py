"""The names of the stages, in the order they start (consumers before producers)."""

from __future__ import annotations

STAGES = ("store", "alerts", "agents", "parse", "ingest", "api")
"""Every stage a process can run (``opsconductor run <stage>``; ``up`` runs them all)."""
