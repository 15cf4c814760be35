"""What the management routes publish once their transaction has committed."""

from __future__ import annotations

from opsconductor.api.context import AppContext
from opsconductor.bus import subjects
from opsconductor.bus.control import announce_reload
from opsconductor.ids import new_ulid
from opsconductor.messages import AlertChange, AlertChangeBatch


async def publish_reload(
    context: AppContext, kind: str, args: dict[str, str] | None = None
) -> None:
    """Tell running stages that ``kind`` (``rules``, ``suppression``) changed in the store."""
    await announce_reload(context.bus, kind, args)


async def publish_alert_change(context: AppContext, change: AlertChange) -> None:
    """Publish an operator's change of an alert on ``alerts.<change>``."""
    batch = AlertChangeBatch(id=new_ulid(), changes=[change])
    await context.bus.publish(subjects.alerts(change.change), batch, msg_id=batch.id)
