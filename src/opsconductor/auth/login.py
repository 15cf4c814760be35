"""The login decision: password, lockout per account, limit per source address, TOTP.

Failures per account are counted in the database, atomically (every API process sees them,
and concurrent failures all count); failures per source address are counted in this process,
in a bounded table, with attempts still in progress counted as failures until they end — so
a burst of concurrent guesses cannot slip past the limit. IPv6 sources count per /64.

A locked account answers "locked" whatever the password, without counting, so a lock
neither confirms a guess nor extends itself.
"""

from __future__ import annotations

import ipaddress
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from opsconductor.auth.passwords import HashingPool, needs_rehash
from opsconductor.auth.totp import matching_step, spend_step
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


FAILURES = frozenset({LoginOutcome.BAD_CREDENTIALS, LoginOutcome.TOTP_INVALID})


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


def source_key(address: str) -> str:
    """What the per-address limit counts by: the address, or its /64 for IPv6."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


@dataclass
class SourceGuard:
    """Recent failed logins per source, in a table of at most ``capacity`` sources."""

    policy: LoginPolicy
    capacity: int = 10_000
    _failures: OrderedDict[str, deque[float]] = field(default_factory=OrderedDict)
    _pending: dict[str, int] = field(default_factory=dict)

    def begin(self, source: str, now: float) -> bool:
        """Admit an attempt from ``source`` (and hold its place) unless the limit is used up."""
        key = source_key(source)
        if self._recent(key, now) + self._pending.get(key, 0) >= self.policy.source_max_failures:
            return False
        self._pending[key] = self._pending.get(key, 0) + 1
        return True

    def finish(self, source: str, failed: bool, now: float) -> None:
        """End an attempt ``begin`` admitted, counting it if it failed."""
        key = source_key(source)
        left = self._pending.get(key, 1) - 1
        if left:
            self._pending[key] = left
        else:
            self._pending.pop(key, None)
        if failed:
            times = self._failures.pop(key, None) or deque(maxlen=self.policy.source_max_failures)
            times.append(now)
            self._failures[key] = times
            while len(self._failures) > self.capacity:
                self._failures.popitem(last=False)

    def retry_after(self, source: str, now: float) -> float:
        """Seconds until ``source`` may try again."""
        times = self._failures.get(source_key(source))
        if not times:
            return 1.0
        return max(1.0, times[0] + self.policy.source_window_seconds - now)

    def _recent(self, key: str, now: float) -> int:
        times = self._failures.get(key)
        if times is None:
            return 0
        while times and times[0] <= now - self.policy.source_window_seconds:
            times.popleft()
        return len(times)


@dataclass(frozen=True, slots=True)
class LoginService:
    """What a login needs besides the database: limits, the address guard, the hashing pool."""

    policy: LoginPolicy
    guard: SourceGuard
    hashing: HashingPool


async def attempt_login(
    session: AsyncSession, attempt: Attempt, service: LoginService, now: float
) -> tuple[LoginOutcome, Any | None]:
    """Decide ``attempt`` and record its effect on the account (the caller commits)."""
    if not service.guard.begin(attempt.source, now):
        return LoginOutcome.SOURCE_BLOCKED, None
    outcome = LoginOutcome.BAD_CREDENTIALS
    try:
        outcome, user = await _decide(session, attempt, service, now)
    finally:
        service.guard.finish(attempt.source, outcome in FAILURES, now)
    return outcome, user


async def _decide(
    session: AsyncSession, attempt: Attempt, service: LoginService, now: float
) -> tuple[LoginOutcome, Any | None]:
    user = await find_user(session, attempt.username)
    stored_hash = user.password_hash if user is not None else None
    matches = await service.hashing.verify(stored_hash, attempt.password)
    if user is None:
        await _touch_nothing(session)  # as much database work as a known name's failure
        return LoginOutcome.BAD_CREDENTIALS, None
    if user.locked_until is not None and user.locked_until > now:
        return LoginOutcome.LOCKED, user
    outcome = await _judge(session, user, matches, attempt, now)
    if outcome in FAILURES:
        await count_failure(session, user.id, service.policy, now)
    elif outcome is LoginOutcome.OK:
        await _note_success(session, user, attempt.password, service.hashing, now)
    return outcome, user


async def _judge(
    session: AsyncSession, user: Any, matches: bool, attempt: Attempt, now: float
) -> LoginOutcome:
    if not matches:
        return LoginOutcome.BAD_CREDENTIALS
    if user.disabled:
        return LoginOutcome.DISABLED
    if not user.totp_enabled:
        return LoginOutcome.OK
    if not attempt.totp:
        return LoginOutcome.TOTP_REQUIRED
    step = matching_step(user.totp_secret, attempt.totp, now, user.totp_last_step)
    if step is None or not await spend_step(session, user.id, step):
        return LoginOutcome.TOTP_INVALID
    return LoginOutcome.OK


async def count_failure(
    session: AsyncSession, user_id: str, policy: LoginPolicy, now: float
) -> None:
    """Count one failed login of ``user_id`` (atomically); lock the account at the limit."""
    result = await session.execute(
        sa.update(users)
        .where(users.c.id == user_id)
        .values(failed_logins=users.c.failed_logins + 1)
        .returning(users.c.failed_logins)
    )
    if (result.scalar() or 0) >= policy.max_failures:
        await session.execute(
            sa.update(users)
            .where(users.c.id == user_id)
            .values(failed_logins=0, locked_until=now + policy.lockout_seconds)
        )


async def _touch_nothing(session: AsyncSession) -> None:
    await session.execute(
        sa.update(users).where(users.c.id == "").values(failed_logins=users.c.failed_logins + 1)
    )


async def _note_success(
    session: AsyncSession, user: Any, password: str, hashing: HashingPool, now: float
) -> None:
    values: dict[str, Any] = {"failed_logins": 0, "locked_until": None, "last_login_at": now}
    if needs_rehash(user.password_hash):
        values["password_hash"] = await hashing.hash(password)
    await session.execute(sa.update(users).where(users.c.id == user.id).values(**values))
