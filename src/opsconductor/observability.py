"""Prometheus metrics and structured JSON logs shared by every stage.

One ``Metrics`` object per process (its own registry, so tests may run several), passed to the
stages that count things. Counters are bumped per batch, never per record, on the hot paths.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from typing import Any

import msgspec
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

_json = msgspec.json.Encoder(enc_hook=str)


class Metrics:
    """The product's Prometheus metrics, in a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.received = Counter(
            "opsc_records_received", "Records accepted by a receiver.", ["source"], registry=r
        )
        self.parsed = Counter(
            "opsc_records_parsed",
            "Records parsed, by status (ok, partial).",
            ["status"],
            registry=r,
        )
        self.unparsed = Counter(
            "opsc_records_unparsed", "Records that fit no format, kept as generic.", registry=r
        )
        self.dead_lettered = Counter(
            "opsc_records_dead_lettered",
            "Records rejected and kept as dead letters.",
            ["stage"],
            registry=r,
        )
        self.dropped = Counter(
            "opsc_records_dropped",
            "Records not accepted, by reason.",
            ["source", "reason"],
            registry=r,
        )
        self.stored = Counter("opsc_events_stored", "Events written to the store.", registry=r)
        self.lag = Gauge(
            "opsc_stage_lag_seconds",
            "Age of the newest record a stage finished (now - received_at).",
            ["stage"],
            registry=r,
        )
        self.batch_seconds = Histogram(
            "opsc_stage_batch_seconds",
            "Time a stage spent on one batch.",
            ["stage"],
            registry=r,
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self.connections = Gauge(
            "opsc_receiver_connections", "Open stream connections.", ["source"], registry=r
        )
        self.findings = Counter(
            "opsc_findings", "Findings published by the agents.", ["agent"], registry=r
        )
        self.alert_changes = Counter(
            "opsc_alert_changes", "Alert changes applied, by outcome.", ["change"], registry=r
        )
        self.agent_errors = Counter(
            "opsc_agent_errors",
            "Events an agent could not evaluate (a defect; the event itself is stored).",
            ["agent"],
            registry=r,
        )
        self.rule_reloads = Counter(
            "opsc_rule_reloads", "Rule sets loaded into running agents.", registry=r
        )
        self.partitions_owned = Gauge(
            "opsc_agent_partitions_owned", "Agent partitions this process owns.", registry=r
        )
        self.ws_connections = Gauge(
            "opsc_ws_connections", "Open WebSocket connections of the live feed.", registry=r
        )
        self.ws_frames = Counter(
            "opsc_ws_frames",
            "Live-feed frames queued for WebSocket connections, by type.",
            ["type"],
            registry=r,
        )
        self.audit_skipped = Counter(
            "opsc_audit_anonymous_skipped",
            "Change requests without credentials not written to the audit log (over the rate).",
            registry=r,
        )
        self.ws_slow_consumers = Counter(
            "opsc_ws_slow_consumers",
            "WebSocket connections closed because they did not read their frames in time.",
            registry=r,
        )

    def add_gauge_source(
        self, name: str, doc: str, label: str, read: Callable[[], dict[str, float]]
    ) -> None:
        """Register a gauge read at scrape time (queue depth, kernel drops)."""
        self.registry.register(_CallbackGauge(name, doc, label, read))

    def observe_lag(self, stage: str, received_at: float) -> None:
        """Record how far behind real time a stage is."""
        self.lag.labels(stage).set(max(0.0, time.time() - received_at))

    def render(self) -> bytes:
        """The Prometheus text exposition."""
        return generate_latest(self.registry)


class _CallbackGauge(Collector):
    def __init__(
        self, name: str, doc: str, label: str, read: Callable[[], dict[str, float]]
    ) -> None:
        self._name, self._doc, self._label, self._read = name, doc, label, read

    def collect(self) -> Any:
        family = GaugeMetricFamily(self._name, self._doc, labels=[self._label])
        try:
            values = self._read()
        except Exception:  # a scrape must never fail because one source did
            logging.getLogger(__name__).exception("gauge %s could not be read", self._name)
            values = {}
        for key, value in values.items():
            family.add_metric([key], value)
        yield family

    def describe(self) -> Any:
        return []


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and any ``extra`` fields."""

    _skip = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "color_message"}

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in self._skip and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return _json.encode(entry).decode()


def configure_logging(level: str) -> None:
    """Send every log record to stderr as JSON."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
