"""Wire encoding of bus messages: msgpack via msgspec, one decoder per subject family."""

from __future__ import annotations

import msgspec

from opsconductor.bus import subjects
from opsconductor.messages import Message

_encoder = msgspec.msgpack.Encoder()
_decoders: dict[str, msgspec.msgpack.Decoder[Message]] = {
    name: msgspec.msgpack.Decoder(kind) for name, kind in subjects.FAMILIES.items()
}


def encode(message: Message) -> bytes:
    """Bytes for the wire."""
    return _encoder.encode(message)


def decode(subject: str, payload: bytes) -> Message:
    """The message published on ``subject``; raises ``msgspec.DecodeError`` on bad bytes."""
    return _decoders[subjects.family(subject)].decode(payload)
