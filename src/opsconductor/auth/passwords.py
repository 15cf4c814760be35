"""Password hashing (argon2id) and the password policy."""

from __future__ import annotations

import asyncio
import secrets
import string
from collections.abc import Callable
from typing import Any, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from opsconductor.errors import BackpressureError, InputError

_T = TypeVar("_T")

MIN_LENGTH = 12
MAX_LENGTH = 256
_COMMON = frozenset(
    {
        "password", "password123", "passw0rd", "123456789012", "qwertyuiopas", "letmein",
        "administrator", "opsconductor", "changeme", "welcome", "iloveyou", "trustno1",
    }
)  # fmt: skip

_HASHER = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)
"""argon2id at OWASP's recommended parameters (19 MiB, 2 passes, 1 lane): tens of
milliseconds per login on a small server, ~19 MiB per guess for an attacker's GPU."""
_DUMMY_HASH = _HASHER.hash("timing equaliser for unknown users")


class PasswordPolicyError(InputError):
    """A new password the policy refuses (HTTP 422)."""

    status_code = 422


def check_policy(password: str, username: str = "") -> None:
    """Refuse a password that is short, very long, common or contains the username."""
    if len(password) < MIN_LENGTH:
        raise PasswordPolicyError(f"password must have at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise PasswordPolicyError(f"password must have at most {MAX_LENGTH} characters")
    lowered = password.lower()
    if lowered in _COMMON or len(set(password)) < 5:
        raise PasswordPolicyError("password is too easy to guess")
    if username and username.lower() in lowered:
        raise PasswordPolicyError("password must not contain the username")


def hash_password(password: str) -> str:
    """The argon2id hash of ``password``."""
    return _HASHER.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored_hash``; with no hash, spends the same time."""
    try:
        return _HASHER.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """Whether the hash was made with weaker parameters than today's."""
    return _HASHER.check_needs_rehash(stored_hash)


def generate_password(length: int = 20) -> str:
    """A random password meeting the policy (for the first admin)."""
    alphabet = string.ascii_letters + string.digits
    while True:
        password = "".join(secrets.choice(alphabet) for _ in range(length))
        try:
            check_policy(password)
        except PasswordPolicyError:
            continue
        return password


class HashingPool:
    """Runs argon2 in worker threads, at most ``workers`` at once and ``queue`` waiting.

    Hashing takes tens of milliseconds of CPU: on the event loop it would hold every other
    request; unbounded, a flood of logins would take every core. Past the queue, a login is
    answered "busy, retry" (``BackpressureError``) at once.
    """

    def __init__(self, workers: int, queue: int) -> None:
        self.workers = workers
        self.queue = queue
        self._waiting = 0
        self._slots: asyncio.Semaphore | None = None

    async def verify(self, stored_hash: str | None, password: str) -> bool:
        """``verify_password`` in a worker thread."""
        return await self._run(verify_password, stored_hash, password)

    async def hash(self, password: str) -> str:
        """``hash_password`` in a worker thread."""
        return await self._run(hash_password, password)

    async def _run(self, work: Callable[..., _T], *args: Any) -> _T:
        if self._waiting >= self.queue:
            raise BackpressureError("too many logins at once; retry in a moment")
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.workers)
        self._waiting += 1
        try:
            async with self._slots:
                return await asyncio.to_thread(work, *args)
        finally:
            self._waiting -= 1
