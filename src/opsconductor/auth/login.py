"""The login decision: password, lockout per account, limit per source address, TOTP.

Failures per account are counted in the database (every API process sees them); failures per
source address are counted in this process, in a bounded table.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import pyotp
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from opsconductor.auth.passwords import hash_password, needs_rehash, verify_password
from opsconductor.auth.users import find_user
from opsconductor.store.tables import users


class LoginOutcome(StrEnum):
    """How a login attempt ended."""

    OK = "ok"
    BAD_CREDENTIALS = "bad_credentials"
    DISABLED = "disabled"
    LOCKED = "locked"
    SOURCE_BLOCKED = "source_blocked"
    TOTP_REQUIRED = "totp_required"
    TOTP_INVALID = "totp_invalid"


@dataclass(frozen=True, slots=True)
class LoginPolicy:
    """The limits a login is held to (from the settings)."""

    max_failures: int = 5
    lockout_seconds: float = 900.0
    source_max_failures: int = 20
    source_window_seconds: float = 300.0


@dataclass(frozen=True, slots=True)
class Attempt:
    """One login attempt as it arrived."""

    username: str
    password: str
    source: str
    totp: str | None = None


@dataclass
class SourceGuard:
    """Recent failed logins per source address, in a table of at most ``capacity`` addresses."""

    policy: LoginPolicy
    capacity: int = 10_000
    _failures: OrderedDict[str, deque[float]] = field(default_factory=OrderedDict)

    def blocked(self, source: str, now: float) -> bool:
        """Whether ``source`` has used up its failures within the window."""
        times = self._failures.get(source)
        if times is None:
            return False
        while times and times[0] <= now - self.policy.source_window_seconds:
            times.popleft()
        return len(times) >= self.policy.source_max_failures

    def fail(self, source: str, now: float) -> None:
        """Count a failure of ``source``."""
        times = self._failures.pop(source, None) or deque(maxlen=self.policy.source_max_failures)
        times.append(now)
        self._failures[source] = times
        while len(self._failures) > self.capacity:
            self._failures.popitem(last=False)

    def retry_after(self, source: str, now: float) -> float:
        """Seconds until ``source`` may try again."""
        times = self._failures.get(source)
        if not times:
            return 0.0
        return max(0.0, times[0] + self.policy.source_window_seconds - now)


async def attempt_login(
    session: AsyncSession, attempt: Attempt, policy: LoginPolicy, guard: SourceGuard, now: float
) -> tuple[LoginOutcome, Any | None]:
    """Decide ``attempt`` and record its effect on the account (the caller commits)."""
    if guard.blocked(attempt.source, now):
        return LoginOutcome.SOURCE_BLOCKED, None
    user = await find_user(session, attempt.username)
    # argon2 takes tens of milliseconds of CPU and lets go of the GIL: off the event loop, so
    # other requests are served meanwhile (bench/api.py).
    stored_hash = user.password_hash if user else None
    matches = await asyncio.to_thread(verify_password, stored_hash, attempt.password)
    outcome = _judge(user, matches, attempt, now)
    if outcome in (LoginOutcome.BAD_CREDENTIALS, LoginOutcome.TOTP_INVALID):
        guard.fail(attempt.source, now)
        if user is not None:
            await _count_failure(session, user, policy, now)
    elif outcome is LoginOutcome.OK:
        await _note_success(session, user, attempt.password, now)
    return outcome, user


def _judge(user: Any | None, matches: bool, attempt: Attempt, now: float) -> LoginOutcome:
    if user is None or not matches:
        return LoginOutcome.BAD_CREDENTIALS
    if user.locked_until is not None and user.locked_until > now:
        return LoginOutcome.LOCKED
    if user.disabled:
        return LoginOutcome.DISABLED
    if user.totp_enabled:
        if not attempt.totp:
            return LoginOutcome.TOTP_REQUIRED
        if not pyotp.TOTP(user.totp_secret).verify(attempt.totp, for_time=now, valid_window=1):
            return LoginOutcome.TOTP_INVALID
    return LoginOutcome.OK


async def _count_failure(session: AsyncSession, user: Any, policy: LoginPolicy, now: float) -> None:
    failures = int(user.failed_logins) + 1
    values: dict[str, Any] = {"failed_logins": failures}
    if failures >= policy.max_failures:
        values = {"failed_logins": 0, "locked_until": now + policy.lockout_seconds}
    await session.execute(sa.update(users).where(users.c.id == user.id).values(**values))


async def _note_success(session: AsyncSession, user: Any, password: str, now: float) -> None:
    values: dict[str, Any] = {"failed_logins": 0, "locked_until": None, "last_login_at": now}
    if needs_rehash(user.password_hash):
        values["password_hash"] = await asyncio.to_thread(hash_password, password)
    await session.execute(sa.update(users).where(users.c.id == user.id).values(**values))
