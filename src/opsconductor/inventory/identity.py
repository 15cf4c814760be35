"""How a record names its device: a stable id from the sender's address and hostname.

The id is a pure function of the two, so every stage (and every replica) resolves the same
device without a database round trip; the store creates the device row on first sight.
"""

from __future__ import annotations

import hashlib


def peer_address(peer: str) -> str:
    """The address part of ``ip:port`` / ``[v6]:port`` (a bare address is returned as is)."""
    if peer.startswith("["):
        return peer[1:].split("]", 1)[0]
    if peer.count(":") == 1:
        return peer.rsplit(":", 1)[0]
    return peer


def device_key(address: str, hostname: str) -> str:
    """The natural key of a device: ``address|hostname`` (either may be empty)."""
    return f"{address}|{hostname.lower()}"


def device_id(address: str, hostname: str) -> str:
    """A stable 20-character id for the device behind ``address`` and ``hostname``."""
    digest = hashlib.blake2b(device_key(address, hostname).encode(), digest_size=10).hexdigest()
    return digest
