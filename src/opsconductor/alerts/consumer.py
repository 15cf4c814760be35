"""The alerts stage (the orchestrator): ``findings.>`` in, stored findings and alerts,
``alerts.<change>`` out.

One transaction per delivered group of finding batches: the findings are stored (a finding
already stored — a redelivery — changes nothing), each alert is decided and upserted, its
history written; after the commit the changes are published for the live feed and the
notifiers. A timer re-checks suppressed alerts, so an alert held by a silence or a
maintenance window that has ended notifies if it is still firing. Rules (cooldown and
escalation per rule), suppression data and the run-time settings (default cooldown and
escalation) are reloaded on ``control.reload.rules``, ``.suppression``, ``.devices``,
``.settings`` and ``.alerts``, and every ``REFRESH_SECONDS`` in any case.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from opsconductor.agents.repository import enabled_rules
from opsconductor.agents.rules import Rule
from opsconductor.alerts.decision import Policy
from opsconductor.alerts.loading import load_suppressor
from opsconductor.alerts.service import AlertEngine, recorded_changes, release_suppressions
from opsconductor.alerts.suppression import Suppressor
from opsconductor.bus import subjects
from opsconductor.bus.control import listen_for_reloads, reload_kinds
from opsconductor.bus.protocol import Bus, Delivery, Subscription
from opsconductor.config import Settings
from opsconductor.messages import AlertChange, AlertChangeBatch, FindingBatch
from opsconductor.observability import Metrics
from opsconductor.system_settings import overrides

log = logging.getLogger(__name__)

REFRESH_SECONDS = 30.0
"""Longest time before rule policies and suppression data are read again without a reload."""


class AlertStage:
    """Stores findings, decides and applies alerts, publishes their changes."""

    name = "alerts"

    def __init__(
        self,
        settings: Settings,
        bus: Bus,
        sessions: async_sessionmaker[AsyncSession],
        metrics: Metrics,
        write_lock: asyncio.Lock | None = None,
    ) -> None:
        self._settings = settings
        self._write_lock = write_lock or asyncio.Lock()
        self._bus = bus
        self._sessions = sessions
        self._metrics = metrics
        self._policies: dict[str, Policy] = {}
        #: run-time settings an operator stored (``system_settings``), over ``settings``
        self._overrides: dict[str, Any] = {}
        self._suppressor = Suppressor.empty()
        self._engine = AlertEngine(self.policy_for)
        self._subscriptions: list[Subscription] = []
        self._timer: asyncio.Task[None] | None = None
        self._seconds = metrics.batch_seconds.labels("alerts")

    def policy_for(self, rule_id: str) -> Policy:
        """The rule's cooldown and escalation, or the defaults from the settings."""
        return self._policies.get(rule_id) or self._default_policy()

    async def start(self) -> None:
        """Load policies and suppression data, then consume findings and reload commands."""
        await self.refresh()
        self._subscriptions.append(
            await self._bus.consume(*subjects.ALERTS_CONSUMER, self.handle, max_batch=16)
        )
        self._subscriptions.append(await listen_for_reloads(self._bus, "alerts", self._on_control))
        self._timer = asyncio.create_task(self._timer_loop(), name="alerts-timer")

    async def stop(self) -> None:
        """Stop the timer and the consumers (after the batch in hand)."""
        if self._timer is not None:
            self._timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._timer
            self._timer = None
        for subscription in self._subscriptions:
            await subscription.stop()
        self._subscriptions.clear()

    async def refresh(self) -> None:
        """Read rule policies and silences / maintenance windows / device scopes again."""
        async with self._sessions() as session:
            rules = await enabled_rules(session)
            self._suppressor = await load_suppressor(session)
            self._overrides = await overrides(session)
        self._policies = {rule.id: self._policy(rule) for rule in rules}

    async def handle(self, deliveries: Sequence[Delivery]) -> None:
        """Apply a group of finding batches in one transaction; publish after the commit."""
        findings = [
            finding
            for delivery in deliveries
            if isinstance(delivery.message, FindingBatch)
            for finding in delivery.message.findings
        ]
        if not findings:
            return
        started = time.perf_counter()
        async with self._write_lock, self._sessions() as session:
            changes = await self._engine.process(session, findings, time.time(), self._suppressor)
            if any(delivery.redelivered for delivery in deliveries):
                # The first attempt may have committed and died before publishing: publish
                # what the stored findings did again, with the ids it was published with.
                fresh = {change.id for change in changes}
                recorded = await recorded_changes(session, findings)
                changes += [change for change in recorded if change.id not in fresh]
            await session.commit()
        origin = ",".join(d.message.id for d in deliveries if isinstance(d.message, FindingBatch))
        await self.publish(changes, origin)
        self._seconds.observe(time.perf_counter() - started)
        self._metrics.observe_lag(self.name, max(f.detected_at for f in findings))

    async def publish(self, changes: Sequence[AlertChange], origin: str) -> None:
        """Publish changes grouped by kind on ``alerts.<change>``; ids derive from ``origin``."""
        by_change: dict[str, list[AlertChange]] = defaultdict(list)
        for change in changes:
            by_change[change.change].append(change)
            self._metrics.alert_changes.labels(change.change).inc()
        digest = hashlib.blake2b(origin.encode(), digest_size=12).hexdigest()
        for kind, group in by_change.items():
            msg_id = f"alerts.{digest}.{kind}"
            await self._bus.publish(
                subjects.alerts(kind), AlertChangeBatch(msg_id, group), msg_id=msg_id
            )

    async def release(self) -> None:
        """Lift the marks of suppressions that ended; re-notify what still fires."""
        now = time.time()
        async with self._write_lock, self._sessions() as session:
            changes = await release_suppressions(session, now, self._suppressor)
            await session.commit()
        if changes:
            await self.publish(changes, f"release.{now}")

    async def _on_control(self, deliveries: Sequence[Delivery]) -> None:
        kinds = reload_kinds(deliveries)
        if kinds & {"rules", "suppression", "devices", "settings", "alerts"}:
            await self.refresh()
            await self.release()

    async def _timer_loop(self) -> None:
        last_refresh = time.monotonic()
        while True:
            await asyncio.sleep(self._settings.agent_tick_seconds)
            try:
                if time.monotonic() - last_refresh >= REFRESH_SECONDS:
                    await self.refresh()
                    last_refresh = time.monotonic()
                await self.release()
            except Exception:
                log.exception("alert timers failed; trying again at the next tick")

    def _default_policy(self) -> Policy:
        s, stored = self._settings, self._overrides
        return Policy(
            cooldown=float(stored.get("alert_cooldown_seconds", s.alert_cooldown_seconds)),
            flap_count=s.alert_flap_count,
            flap_window=s.alert_flap_window_seconds,
            escalate_after=int(stored.get("alert_escalate_after", s.alert_escalate_after)),
        )

    def _policy(self, rule: Rule) -> Policy:
        default = self._default_policy()
        return Policy(
            cooldown=default.cooldown if rule.cooldown is None else rule.cooldown,
            flap_count=default.flap_count,
            flap_window=default.flap_window,
            escalate_after=(
                default.escalate_after if rule.escalate_after is None else rule.escalate_after
            ),
        )
