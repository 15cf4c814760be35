"""The HTTP API under ``/api/v1``, plus ``/metrics``, ``/healthz`` and ``/readyz``."""
