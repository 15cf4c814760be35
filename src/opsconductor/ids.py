"""ULID ids: time-sortable, unique, generated in monotonic blocks for batches."""

from __future__ import annotations

import hashlib
import os
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_DECODE = {c: i for i, c in enumerate(_ALPHABET)}
_RANDOM_BITS = 80
_MASK_128 = (1 << 128) - 1
_MASK_48 = (1 << 48) - 1


def encode(value: int) -> str:
    """Encode a 128-bit integer as a 26-character Crockford base32 ULID string."""
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def decode(text: str) -> int:
    """Decode a ULID string to its 128-bit integer."""
    value = 0
    for char in text.upper():
        value = (value << 5) | _DECODE[char]
    return value


def ulid_int(now: float | None = None) -> int:
    """A fresh ULID as an integer: 48 bits of milliseconds, 80 random bits."""
    millis = int((time.time() if now is None else now) * 1000)
    # Keep the top random bit clear so a block of consecutive ids never carries into the time.
    randomness = int.from_bytes(os.urandom(10), "big") >> 1
    return ((millis << _RANDOM_BITS) | randomness) & _MASK_128


def new_ulid(now: float | None = None) -> str:
    """A fresh ULID string."""
    return encode(ulid_int(now))


_PAIRS = [_ALPHABET[i >> 5] + _ALPHABET[i & 31] for i in range(1024)]


def ulid_block(count: int, now: float | None = None) -> list[str]:
    """``count`` consecutive ULIDs: unique, sorted, and one random draw for the whole block.

    Only the low 20 bits (last four characters) change inside a run, so the 22-character
    head is encoded once per run and the tail comes from a table: a fraction of a microsecond
    per id, which matters on the ingest hot path.
    """
    start = ulid_int(now)
    out: list[str] = []
    pairs = _PAIRS
    value = start
    end = start + count
    while value < end:
        head = encode(value >> 20)[4:]
        run_end = min(end, ((value >> 20) + 1) << 20)
        out.extend(
            head + pairs[low >> 10] + pairs[low & 1023]
            for low in range(value & 0xFFFFF, (value & 0xFFFFF) + run_end - value)
        )
        value = run_end
    return out


def ulid_floor(moment: float) -> str:
    """The smallest ULID of the millisecond ``moment`` falls in: ids ``>=`` it are not older."""
    return encode(max(0, int(moment * 1000)) << _RANDOM_BITS)


def ulid_moment(ulid: str) -> float:
    """The time (epoch seconds, to the millisecond) a ULID was minted for."""
    return (decode(ulid) >> _RANDOM_BITS) / 1000.0


def derived_ulid(moment: float, key: bytes) -> str:
    """A ULID that is a function of its inputs: the time is ``moment`` in milliseconds and the
    80 "random" bits come from a BLAKE2b hash of ``key`` — so deriving it twice from the same
    facts (e.g. re-evaluating the same events) yields the same id."""
    millis = max(0, int(moment * 1000)) & _MASK_48
    randomness = int.from_bytes(hashlib.blake2b(key, digest_size=10).digest(), "big")
    return encode((millis << _RANDOM_BITS) | randomness)
