"""create_bus picks the implementation from the settings."""

from __future__ import annotations

from pydantic import SecretStr

from opsconductor.bus.factory import create_bus
from opsconductor.bus.memory import MemoryBus
from opsconductor.bus.nats import JetStreamBus
from opsconductor.config import Settings


def test_no_nats_url_means_the_in_process_bus() -> None:
    assert isinstance(create_bus(Settings(nats_url=None)), MemoryBus)


def test_a_nats_url_means_jetstream_with_the_configured_prefix() -> None:
    bus = create_bus(Settings(nats_url=SecretStr("nats://127.0.0.1:4222"), nats_prefix="acme"))
    assert isinstance(bus, JetStreamBus)
    assert bus.prefix == "acme"
