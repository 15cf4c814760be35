"""Fixtures of the parse tests: the shared real-data folder, a parser, raw-record helpers."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from parse_helpers import raw_event

from opsconductor.messages import RawEvent
from opsconductor.parse.service import Parser


@pytest.fixture(scope="session")
def parser() -> Parser:
    """A parser with the defaults (UTC, built-in classification)."""
    return Parser()


@pytest.fixture
def make_raw() -> Callable[..., RawEvent]:
    """The ``raw_event`` helper, as a fixture."""
    return raw_event
