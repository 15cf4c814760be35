"""Maintenance schedules in their own time zone, across daylight saving changes."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from opsconductor.alerts.schedule import parse_schedule, to_instant

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def at(zone: ZoneInfo, *parts: int, fold: int = 0) -> float:
    return datetime(*parts, tzinfo=zone, fold=fold).timestamp()  # type: ignore[misc]


def weekly(days: list[str], start: str, duration: float, tz: str) -> dict[str, object]:
    return {"kind": "weekly", "days": days, "start": start, "duration": duration, "timezone": tz}


SUNDAY_NIGHT = parse_schedule(weekly(["sun"], "02:00", 7200, "Europe/Berlin"))


@pytest.mark.parametrize(
    ("name", "moment", "start"),
    [
        # An ordinary Sunday: 02:00-04:00 CET.
        ("before", at(BERLIN, 2026, 3, 22, 1, 59), None),
        ("open", at(BERLIN, 2026, 3, 22, 2, 0), at(BERLIN, 2026, 3, 22, 2, 0)),
        ("closing", at(BERLIN, 2026, 3, 22, 4, 0), None),
        # 2026-03-29: clocks jump 02:00 CET → 03:00 CEST. 02:00 does not exist: the window
        # opens at the first instant after the gap (03:00 CEST) and lasts two real hours.
        ("spring: open at 03:00", at(BERLIN, 2026, 3, 29, 3, 0), at(BERLIN, 2026, 3, 29, 3, 0)),
        ("spring: 01:59 closed", at(BERLIN, 2026, 3, 29, 1, 59), None),
        ("spring: 04:59 open", at(BERLIN, 2026, 3, 29, 4, 59), at(BERLIN, 2026, 3, 29, 3, 0)),
        ("spring: 05:00 closed", at(BERLIN, 2026, 3, 29, 5, 0), None),
        # 2026-10-25: clocks go back 03:00 CEST → 02:00 CET. 02:00 happens twice: the first
        # (CEST) opens it; two real hours later it is 03:00 CET.
        ("autumn: first 02:30", at(BERLIN, 2026, 10, 25, 2, 30), at(BERLIN, 2026, 10, 25, 2, 0)),
        ("autumn: second 02:30", at(BERLIN, 2026, 10, 25, 2, 30, fold=1),
         at(BERLIN, 2026, 10, 25, 2, 0)),
        ("autumn: 02:59 CET", at(BERLIN, 2026, 10, 25, 2, 59, fold=1),
         at(BERLIN, 2026, 10, 25, 2, 0)),
        ("autumn: 03:00 CET closed", at(BERLIN, 2026, 10, 25, 3, 0), None),
    ],
)  # fmt: skip
def test_weekly_window_across_berlin_dst(name: str, moment: float, start: float | None) -> None:
    assert SUNDAY_NIGHT.active_start(moment) == start, name


def test_spring_forward_gap_starts_at_the_first_instant_after_it() -> None:
    assert to_instant(datetime(2026, 3, 29).date(), 2, 30, BERLIN) == at(BERLIN, 2026, 3, 29, 3)
    assert to_instant(datetime(2026, 3, 8).date(), 2, 15, NEW_YORK) == at(NEW_YORK, 2026, 3, 8, 3)


def test_new_york_weekly_window_keeps_local_time() -> None:
    schedule = parse_schedule(weekly(["saturday"], "23:00", 4 * 3600, "America/New_York"))
    # Saturday 2026-03-07 23:00 EST → Sunday 04:00 EDT (clocks jump at 02:00): 4 real hours
    # end at 04:00 EDT, not 03:00.
    start = at(NEW_YORK, 2026, 3, 7, 23, 0)
    assert schedule.active_start(at(NEW_YORK, 2026, 3, 8, 3, 30)) == start
    assert schedule.active_start(at(NEW_YORK, 2026, 3, 8, 4, 0)) is None
    summer = at(NEW_YORK, 2026, 7, 4, 23, 30)  # EDT: the same wall-clock time
    assert schedule.active_start(summer) == at(NEW_YORK, 2026, 7, 4, 23, 0)
    assert schedule.next_change_after(summer) == at(NEW_YORK, 2026, 7, 5, 3, 0)
    assert schedule.next_change_after(at(NEW_YORK, 2026, 7, 5, 3, 0)) == at(
        NEW_YORK, 2026, 7, 11, 23, 0
    )


def test_cron_schedule() -> None:
    schedule = parse_schedule(
        {"kind": "cron", "cron": "30 1 * * sat", "duration": 1800, "timezone": "Europe/Berlin"}
    )
    saturday = at(BERLIN, 2026, 6, 6, 1, 30)
    assert schedule.active_start(saturday + 60) == saturday
    assert schedule.active_start(saturday + 1800) is None
    assert schedule.active_start(at(BERLIN, 2026, 6, 7, 1, 40)) is None  # Sunday
    assert list(schedule.starts_after(saturday, horizon=15 * 86400)) == [
        at(BERLIN, 2026, 6, 13, 1, 30), at(BERLIN, 2026, 6, 20, 1, 30),
    ]  # fmt: skip


def test_cron_day_fields_either_match_when_both_are_set() -> None:
    schedule = parse_schedule({"kind": "cron", "cron": "0 3 1 * mon", "duration": 60})
    first_of_month = datetime(2026, 7, 1, 3, 0, 30, tzinfo=ZoneInfo("UTC")).timestamp()  # Wed
    monday = datetime(2026, 7, 6, 3, 0, 30, tzinfo=ZoneInfo("UTC")).timestamp()
    tuesday = datetime(2026, 7, 7, 3, 0, 30, tzinfo=ZoneInfo("UTC")).timestamp()
    assert schedule.active_start(first_of_month) is not None
    assert schedule.active_start(monday) is not None
    assert schedule.active_start(tuesday) is None


def test_every_minute_cron_is_cheap_to_evaluate() -> None:
    schedule = parse_schedule({"kind": "cron", "cron": "*/5 * * * *", "duration": 7 * 86400})
    moment = at(BERLIN, 2026, 10, 25, 2, 31, fold=1)
    assert schedule.active_start(moment) == moment - 60
