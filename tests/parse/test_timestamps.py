"""Filling in what a timestamp leaves out: year, zone, date."""

from __future__ import annotations

import calendar
from datetime import UTC

from opsconductor.parse.timestamps import Clock, load_zone, month_number, zone_offset


def _utc(*parts: int) -> float:
    return float(calendar.timegm((*parts,)))


def test_year_rolls_back_for_new_year_arrivals() -> None:
    clock = Clock(_utc(2026, 1, 1, 0, 5, 0), UTC)
    assert clock.without_year((12, 31), (23, 59, 0)) == _utc(2025, 12, 31, 23, 59, 0)


def test_year_may_be_next_year_when_at_most_a_day_ahead() -> None:
    clock = Clock(_utc(2025, 12, 31, 23, 0, 0), UTC)
    assert clock.without_year((1, 1), (1, 0, 0)) == _utc(2026, 1, 1, 1, 0, 0)
    assert clock.without_year((1, 2), (1, 0, 0)) == _utc(2025, 1, 2, 1, 0, 0)


def test_more_than_a_day_ahead_means_last_year() -> None:
    clock = Clock(_utc(2026, 6, 1, 12, 0, 0), UTC)
    assert clock.without_year((6, 2), (12, 0, 1)) == _utc(2025, 6, 2, 12, 0, 1)
    assert clock.without_year((6, 2), (11, 0, 0)) == _utc(2026, 6, 2, 11, 0, 0)


def test_february_29_finds_a_leap_year() -> None:
    clock = Clock(_utc(2026, 3, 1, 0, 0, 0), UTC)
    assert clock.without_year((2, 29), (10, 0, 0)) == _utc(2024, 2, 29, 10, 0, 0)


def test_default_zone_applies_with_daylight_saving() -> None:
    berlin = load_zone("Europe/Berlin")
    clock = Clock(_utc(2026, 7, 1, 12, 0, 0), berlin)
    assert clock.epoch((2026, 7, 1), (14, 0, 0)) == _utc(2026, 7, 1, 12, 0, 0)
    assert clock.epoch((2026, 1, 1), (14, 0, 0)) == _utc(2026, 1, 1, 13, 0, 0)
    assert clock.epoch((2026, 2, 30), (0, 0, 0)) is None


def test_time_only_uses_the_local_date_or_yesterday() -> None:
    clock = Clock(_utc(2026, 6, 1, 0, 30, 0), UTC)
    assert clock.time_only(0, 10, 0) == _utc(2026, 6, 1, 0, 10, 0)
    assert clock.time_only(1, 20, 0) == _utc(2026, 6, 1, 1, 20, 0)  # < 1 h ahead
    assert clock.time_only(23, 50, 0) == _utc(2026, 5, 31, 23, 50, 0)
    tokyo = Clock(_utc(2026, 6, 1, 0, 30, 0), load_zone("Asia/Tokyo"))  # 09:30 local
    assert tokyo.time_only(9, 0, 0) == _utc(2026, 6, 1, 0, 0, 0)


def test_zone_tokens_and_month_names() -> None:
    assert zone_offset("CET") == 60
    assert zone_offset("GMT+8") == 480
    assert zone_offset("UTC-03:30") == -210
    assert zone_offset("GMT+25") is None
    assert zone_offset("XYZ") is None
    assert [month_number(m) for m in ("dic", "déc.", "Dez", "мая", "říj", "paź", "mrt")] == [
        12,
        12,
        12,
        5,
        10,
        10,
        3,
    ]
