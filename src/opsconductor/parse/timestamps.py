"""Timestamps of legacy records: month names in several languages, zone abbreviations,
and the rules that fill in what a record leaves out (year, zone, date).

The rules (also in ``docs/parsing.md``):

* no year: the year that puts the timestamp closest to ``received_at`` without being more
  than a day in the future (a ``Dec 31`` line received on Jan 1 belongs to the old year);
* no zone: the parser's default zone;
* time only: the date of ``received_at`` in the default zone, or the day before when that
  would put the timestamp more than an hour in the future.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

_DAY = 86400.0
_HALF_YEAR = 182 * _DAY
_HOUR = 3600.0

_MONTH_FORMS: tuple[tuple[int, str], ...] = (
    (
        1,
        "jan january janv janvier gen gennaio ene enero jän jänner januar janeiro januari "
        "sty stycznia styczeń янв января январь led ledna leden",
    ),
    (
        2,
        "feb february febbraio febrero fév févr février februar fev fevereiro februari "
        "lut lutego luty фев февр февраля февраль úno února únor",
    ),
    (
        3,
        "mar march mars marzo mär märz março maart mrt marca marzec мар марта март "
        "bře března březen",
    ),
    (
        4,
        "apr april aprile abr abril avr avril kwi kwietnia kwiecień апр апреля апрель "
        "dub dubna duben",
    ),
    (5, "may mag maggio mayo mai maio mei maj maja мая май kvě května květen"),
    (
        6,
        "jun june giu giugno junio juin juni junho cze czerwca czerwiec июн июня июнь "
        "čvn června červen",
    ),
    (
        7,
        "jul july lug luglio julio juil juillet juli julho lip lipca lipiec июл июля июль "
        "čvc července červenec",
    ),
    (8, "aug august ago agosto août aoû sie sierpnia sierpień авг августа август srp srpna srpen"),
    (
        9,
        "sep sept september set settembre septiembre septembre setembro wrz września "
        "wrzesień сен сент сентября сентябрь zář září",
    ),
    (
        10,
        "oct october ott ottobre octubre octobre okt oktober out outubro paź "
        "października październik окт октября октябрь říj října říjen",
    ),
    (11, "nov november novembre noviembre novembro lis listopada listopad ноя нояб ноября ноябрь"),
    (
        12,
        "dec december dic dicembre diciembre déc décembre dez dezember dezembro gru "
        "grudnia grudzień дек декабря декабрь pro prosince prosinec",
    ),
)

MONTHS: dict[str, int] = {form: number for number, forms in _MONTH_FORMS for form in forms.split()}
"""Month names and abbreviations (lower case, without a trailing dot) → month number:
English, Italian, Spanish, French, German, Portuguese, Dutch, Polish, Russian, Czech."""

ENGLISH_MONTHS: dict[str, int] = {
    name: index for index, name in enumerate(calendar.month_abbr) if name
}
"""``Jan`` … ``Dec`` → 1 … 12, the only month names RFC 3164 and logread use."""

_ZONE_HOURS: dict[str, float] = {
    "UTC": 0,
    "GMT": 0,
    "UT": 0,
    "Z": 0,
    "WET": 0,
    "WEST": 1,
    "BST": 1,
    "IST": 1,
    "CET": 1,
    "CEST": 2,
    "MEZ": 1,
    "MESZ": 2,
    "SEČ": 1,
    "SELČ": 2,
    "EET": 2,
    "EEST": 3,
    "MSK": 3,
    "EST": -5,
    "EDT": -4,
    "CST": -6,
    "CDT": -5,
    "MST": -7,
    "MDT": -6,
    "PST": -8,
    "PDT": -7,
    "AKST": -9,
    "AKDT": -8,
    "HST": -10,
    "JST": 9,
    "KST": 9,
    "HKT": 8,
    "SGT": 8,
    "AWST": 8,
    "ACST": 9.5,
    "AEST": 10,
    "AEDT": 11,
    "NZST": 12,
    "NZDT": 13,
}
ZONE_ABBREVIATIONS: dict[str, int] = {k: int(v * 60) for k, v in _ZONE_HOURS.items()}
"""Zone abbreviations → offset in minutes east of UTC. Ambiguous ones take one meaning:
``CST`` is US Central, ``IST`` is Irish Summer Time."""

_GMT_OFFSET = re.compile(r"(?:GMT|UTC|UT)([+-])(\d{1,2})(?::?(\d{2}))?")


def zone_offset(token: str) -> int | None:
    """Minutes east of UTC for ``CET``, ``GMT+8``, ``UTC-03:30`` …; None when unknown."""
    known = ZONE_ABBREVIATIONS.get(token.upper())
    if known is not None:
        return known
    match = _GMT_OFFSET.fullmatch(token)
    if match is None:
        return None
    sign, hours, minutes = match.groups()
    total = int(hours) * 60 + int(minutes or 0)
    if total > 14 * 60:
        return None
    return -total if sign == "-" else total


def month_number(token: str) -> int | None:
    """The month a (localised, possibly abbreviated with a dot) month token names."""
    return MONTHS.get(token.lower().rstrip("."))


_MEMO_LIMIT = 65536
_MISS = -1e300
"""Marks a memo miss (``None`` is a cached answer); no date from year 1 on gets near it."""
_SECOND_EDGE = 0.999999
"""``fromtimestamp`` rounds to the microsecond: a time this close to the next second may be
rounded into it, so its local date is not memoised by whole second."""

_Fields = tuple[tuple[int, int, int], tuple[int, int, int]]
_Stamp = tuple[tuple[int, int, int], tuple[int, int, int], int, int | None]


class ClockMemo:
    """Caches shared by the ``Clock`` s of one parser (one default zone). Log streams repeat
    the same timestamps a lot and arrive many per second, and a zone-aware ``datetime`` costs
    microseconds, so both answers are memoised (bounded: cleared when full)."""

    __slots__ = ("dates", "epochs", "texts")

    def __init__(self) -> None:
        self.epochs: dict[_Stamp, float | None] = {}
        self.texts: dict[str, float | None] = {}
        self.dates: dict[float, date] = {}


class Clock:
    """Turns the fields a record states into epoch seconds, filling in what it omits.

    ``received_at`` is the arrival time of the record; ``zone`` the default zone; ``memo``
    (optional) caches shared by every clock with this same ``zone``.
    """

    __slots__ = ("_local_received", "_memo", "received_at", "zone")

    def __init__(self, received_at: float, zone: tzinfo, memo: ClockMemo | None = None) -> None:
        self.received_at = received_at
        self.zone = zone
        self._memo = memo
        self._local_received: datetime | None = None

    def local_received(self) -> datetime:
        """``received_at`` as a date and time in the default zone."""
        if self._local_received is None:
            self._local_received = datetime.fromtimestamp(self.received_at, self.zone)
        return self._local_received

    def local_date(self) -> date:
        """The date of ``received_at`` in the default zone (memoised per whole second: zone
        transitions fall on whole seconds)."""
        memo = self._memo
        second = self.received_at // 1
        if memo is None or self.received_at - second > _SECOND_EDGE:
            return self.local_received().date()
        found = memo.dates.get(second)
        if found is None:
            found = self.local_received().date()
            if len(memo.dates) >= _MEMO_LIMIT:
                memo.dates.clear()
            memo.dates[second] = found
        return found

    def epoch(
        self,
        date: tuple[int, int, int],
        time: tuple[int, int, int],
        micro: int = 0,
        offset_minutes: int | None = None,
    ) -> float | None:
        """Epoch seconds of (year, month, day) (hour, minute, second); None when the date
        does not exist. Without ``offset_minutes`` the default zone applies."""
        memo = self._memo
        if memo is None:
            return self._epoch(date, time, micro, offset_minutes)
        key = (date, time, micro, offset_minutes)
        found = memo.epochs.get(key, _MISS)
        if found is _MISS:
            found = self._epoch(date, time, micro, offset_minutes)
            if len(memo.epochs) >= _MEMO_LIMIT:
                memo.epochs.clear()
            memo.epochs[key] = found
        return found

    def epoch_of_text(self, stamp: str, fields: Callable[[str], _Fields]) -> float | None:
        """``epoch(*fields(stamp))`` memoised by the text itself, for a ``stamp`` that states
        its full date and no zone: the cheapest key, and no integers to convert on a hit."""
        memo = self._memo
        if memo is None:
            return self.epoch(*fields(stamp))
        found = memo.texts.get(stamp, _MISS)
        if found is _MISS:
            found = self.epoch(*fields(stamp))
            if len(memo.texts) >= _MEMO_LIMIT:
                memo.texts.clear()
            memo.texts[stamp] = found
        return found

    def _epoch(
        self,
        date: tuple[int, int, int],
        time: tuple[int, int, int],
        micro: int,
        offset_minutes: int | None,
    ) -> float | None:
        year, month, day = date
        hour, minute, second = time
        if not ((1 <= month <= 12 and 1 <= day <= 28) or _day_exists(year, month, day)):
            return None
        if hour > 23 or minute > 59 or second > 59:
            return None
        if offset_minutes is None and self.zone is not UTC:
            try:
                local = datetime(year, month, day, hour, minute, second, micro, self.zone)
            except ValueError:
                return None
            return local.timestamp()
        seconds = days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60
        return seconds + second + micro / 1e6 - (offset_minutes or 0) * 60

    def without_year(
        self,
        month_day: tuple[int, int],
        time: tuple[int, int, int],
        micro: int = 0,
        offset_minutes: int | None = None,
    ) -> float | None:
        """The closest matching time not more than a day after ``received_at``."""
        year = self.local_date().year
        month, day = month_day
        limit = self.received_at + _DAY
        best: float | None = None
        candidates: tuple[int, ...] = (year, year - 1, year + 1)
        if (month, day) == (2, 29):  # only leap years have it
            candidates += (year - 2, year - 3, year - 4)
        for candidate in candidates:
            stamp = self.epoch((candidate, month, day), time, micro, offset_minutes)
            if stamp is None or stamp > limit:
                continue
            if best is None or abs(stamp - self.received_at) < abs(best - self.received_at):
                best = stamp
            if abs(stamp - self.received_at) < _HALF_YEAR:
                break
        return best

    def time_only(self, hour: int, minute: int, second: int, micro: int = 0) -> float | None:
        """Today's (in the default zone) date with this time; yesterday's if > 1 h ahead."""
        today = self.local_date()
        time = (hour, minute, second)
        stamp = self.epoch((today.year, today.month, today.day), time, micro)
        if stamp is not None and stamp > self.received_at + _HOUR:
            yesterday = today - timedelta(days=1)
            stamp = self.epoch((yesterday.year, yesterday.month, yesterday.day), time, micro)
        return stamp


def _day_exists(year: int, month: int, day: int) -> bool:
    return 1 <= month <= 12 and 1 <= day <= calendar.monthrange(year, month)[1]


def days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm)."""
    year -= month <= 2
    era = (year if year >= 0 else year - 399) // 400
    year_of_era = year - era * 400
    day_of_year = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146097 + day_of_era - 719468


def load_zone(name: str) -> tzinfo:
    """The zone called ``name`` (``UTC`` maps to the fast built-in UTC)."""
    if name.upper() in {"UTC", "ETC/UTC", "Z"}:
        return UTC
    return ZoneInfo(name)


def micros(fraction: str | None) -> int:
    """Microseconds of a fraction written as ``.123`` or ``123`` (extra digits ignored)."""
    if not fraction:
        return 0
    digits = fraction.lstrip(".,")[:6]
    return int(digits.ljust(6, "0")) if digits.isdigit() else 0
