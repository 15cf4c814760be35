"""What the management routes publish once their transaction has committed."""

from __future__ import annotations

from opsconductor.api.context import AppContext
from opsconductor.bus import subjects
from opsconductor.ids import new_ulid
from opsconductor.messages import AlertChange, AlertChangeBatch, ControlMessage


async def publish_reload(
    context: AppContext, kind: str, args: dict[str, str] | None = None
) -> None:
    """Tell running stages that ``kind`` (``rules``, ``suppression``) changed in the store."""
    message = ControlMessage(id=new_ulid(), verb="reload", kind=kind, args=args or {})
    await context.bus.publish(subjects.control("reload", kind), message, msg_id=message.id)


async def publish_alert_change(context: AppContext, change: AlertChange) -> None:
    """Publish an operator's change of an alert on ``alerts.<change>``."""
    batch = AlertChangeBatch(id=new_ulid(), changes=[change])
    await context.bus.publish(subjects.alerts(change.change), batch, msg_id=batch.id)
