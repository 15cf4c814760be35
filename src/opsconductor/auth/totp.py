"""Time-based one-time codes (RFC 6238) with replay protection.

A code is accepted for its 30-second step and one step either side (clock drift), and only
if its step is later than the last one this user spent: the same code cannot be used twice,
and a code seen by someone else is worthless once used.
"""

from __future__ import annotations

import hmac

import pyotp
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from opsconductor.store.tables import users

STEP_SECONDS = 30
DRIFT_STEPS = 1


def matching_step(secret: str, code: str, now: float, last_step: int | None) -> int | None:
    """The step ``code`` belongs to, if it matches one near ``now`` later than ``last_step``."""
    generator = pyotp.TOTP(secret, interval=STEP_SECONDS)
    current = int(now // STEP_SECONDS)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if last_step is not None and step <= last_step:
            continue
        if hmac.compare_digest(generator.at(step * STEP_SECONDS), code):
            return step
    return None


async def spend_step(session: AsyncSession, user_id: str, step: int) -> bool:
    """Record ``step`` as spent; ``False`` if a concurrent use spent it (or a later) first."""
    result = await session.execute(
        sa.update(users)
        .where(
            users.c.id == user_id,
            sa.or_(users.c.totp_last_step.is_(None), users.c.totp_last_step < step),
        )
        .values(totp_last_step=step)
    )
    return bool(getattr(result, "rowcount", 0))
