"""Fixtures of the parse tests: the shared real-data folder, a parser, raw-record helpers."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from parse_helpers import raw_event

from opsconductor.messages import RawEvent
from opsconductor.parse.service import Parser

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``<repo>/../shared/data`` (or ``$OPSC_SHARED_DATA``); skips when it is absent."""
    folder = Path(os.environ.get("OPSC_SHARED_DATA", REPO.parent / "shared" / "data"))
    if not folder.is_dir():
        pytest.skip(f"shared real-data folder not found at {folder} (set OPSC_SHARED_DATA)")
    return folder


@pytest.fixture(scope="session")
def parser() -> Parser:
    """A parser with the defaults (UTC, built-in classification)."""
    return Parser()


@pytest.fixture
def make_raw() -> Callable[..., RawEvent]:
    """The ``raw_event`` helper, as a fixture."""
    return raw_event
