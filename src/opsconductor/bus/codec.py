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
    """The message published on ``subject``.

    Raises ``msgspec.DecodeError`` (a ``ValueError``) on bad bytes, ``ValueError`` when the
    subject names no known family.
    """
    decoder = _decoders.get(subjects.family(subject))
    if decoder is None:
        raise ValueError(f"no message type is registered for subject {subject!r}")
    return decoder.decode(payload)
