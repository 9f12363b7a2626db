"""Periods on the server's clock: buckets of 15 minutes, hours, days and weeks in its time
zone (a day is 23 or 25 hours when the clocks change), the day or week a report covers,
and the period a report compares with. Pure functions of instants (unix seconds)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import Enum
from zoneinfo import ZoneInfo

from dashboard.errors import DashboardError


class Interval(str, Enum):
    """How a report's counts are bucketed."""

    QUARTER = "15min"
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"


class Compare(str, Enum):
    """What a period is set beside: the same span just before it, the same hours a day
    before, or the same weekday and hours a week before."""

    PREVIOUS = "previous"
    YESTERDAY = "yesterday"
    LAST_WEEK = "last_week"


@dataclass(frozen=True)
class Period:
    """[start, end) in unix seconds, and how people name it.

    Example:
        >>> p = day_period(dt.date(2026, 12, 5), ZoneInfo("Europe/Paris"))
        >>> p.label, (p.end - p.start) / 3600
        ('Sat 5 Dec 2026', 24.0)
    """

    start: float
    end: float
    label: str


def _local(t: float, tz: ZoneInfo) -> dt.datetime:
    return dt.datetime.fromtimestamp(t, tz)


def bucket_start(t: float, interval: Interval, tz: ZoneInfo) -> float:
    """The start of `t`'s bucket on the clock of `tz`. In the hour the clocks go back, the
    two 01:00s are two buckets (each its own instant).

    Example:
        >>> paris = ZoneInfo("Europe/Paris")
        >>> t = dt.datetime(2026, 12, 5, 10, 37, tzinfo=paris).timestamp()
        >>> [_local(bucket_start(t, i, paris), paris).strftime("%a %H:%M") for i in Interval]
        ['Sat 10:30', 'Sat 10:00', 'Sat 00:00', 'Mon 00:00']
    """
    local = _local(t, tz)
    if interval is Interval.QUARTER:
        start = local.replace(minute=local.minute // 15 * 15, second=0, microsecond=0)
    elif interval is Interval.HOUR:
        start = local.replace(minute=0, second=0, microsecond=0)
    else:
        day = local.date() - dt.timedelta(days=local.weekday() if interval is Interval.WEEK
                                          else 0)
        return midnight(day, tz)
    return start.timestamp()   # the fold of `local` is kept: the right one of two 01:00s


def midnight(day: dt.date, tz: ZoneInfo) -> float:
    """The instant a local day starts.

    Example:
        >>> midnight(dt.date(2026, 1, 1), ZoneInfo("UTC"))
        1767225600.0
    """
    return dt.datetime.combine(day, dt.time(0), tz).timestamp()


def buckets(start: float, end: float, interval: Interval, tz: ZoneInfo) -> list[float]:
    """Every bucket start from `start`'s bucket up to `end` (excluded).

    Example:
        >>> london = ZoneInfo("Europe/London")   # clocks back at 02:00 on 25 Oct 2026
        >>> day = day_period(dt.date(2026, 10, 25), london)
        >>> len(buckets(day.start, day.end, Interval.HOUR, london))
        25
    """
    out, t = [], bucket_start(start, interval, tz)
    while t < end:
        out.append(t)
        t = bucket_end(t, interval, tz)
    return out


def bucket_end(start: float, interval: Interval, tz: ZoneInfo) -> float:
    """Where the bucket starting at `start` ends: 15 minutes and hours are fixed lengths
    of real time (a change of the clocks moves the clock, not them); days and weeks end
    at a local midnight (a day may be 23 or 25 hours).

    Example:
        >>> london = ZoneInfo("Europe/London")
        >>> day = day_period(dt.date(2026, 3, 29), london)    # clocks forward at 01:00
        >>> (bucket_end(day.start, Interval.DAY, london) - day.start) / 3600
        23.0
    """
    if interval is Interval.QUARTER:
        return start + 900
    if interval is Interval.HOUR:
        return start + 3600
    days = 7 if interval is Interval.WEEK else 1
    return midnight(_local(start, tz).date() + dt.timedelta(days=days), tz)


def day_period(day: dt.date, tz: ZoneInfo) -> Period:
    """A local day, midnight to midnight."""
    return Period(midnight(day, tz), midnight(day + dt.timedelta(days=1), tz),
                  f"{day:%a} {day.day} {day:%b %Y}")


def week_period(day: dt.date, tz: ZoneInfo) -> Period:
    """The local week (Monday to Sunday) holding `day`.

    Example:
        >>> week_period(dt.date(2026, 12, 5), ZoneInfo("UTC")).label
        'week 49 of 2026 (Mon 30 Nov - Sun 6 Dec)'
    """
    monday = day - dt.timedelta(days=day.weekday())
    sunday = monday + dt.timedelta(days=6)
    year, week, _ = monday.isocalendar()
    return Period(midnight(monday, tz), midnight(sunday + dt.timedelta(days=1), tz),
                  f"week {week} of {year} ({monday:%a} {monday.day} {monday:%b} - "
                  f"{sunday:%a} {sunday.day} {sunday:%b})")


def compared(period: Period, how: Compare, tz: ZoneInfo) -> Period:
    """The period `period` is set beside: shifted by whole local days (a day before, a
    week before, or for `PREVIOUS` as many days as it spans; hours of one day: the same
    hours the day before), so the same hours of the clock line up across a change of the
    clocks. Any other span is set beside as long a span just before it.

    Example:
        >>> utc = ZoneInfo("UTC")
        >>> compared(day_period(dt.date(2026, 12, 5), utc), Compare.LAST_WEEK, utc).label
        'Sat 28 Nov 2026'
    """
    a, b = _local(period.start, tz), _local(period.end, tz)
    whole = a.time() == b.time() == dt.time(0)
    if how is Compare.PREVIOUS:
        one_day = b.date() == a.date() or (b.date() - a.date()).days == 1 and b.time() == \
            dt.time(0)
        if not whole and not one_day:   # neither days nor hours of a day: as long, just before
            span = period.end - period.start
            return Period(period.start - span, period.start,
                          _label(period.start - span, period.start, tz))
        days = max(1, (b.date() - a.date()).days) if whole else 1   # hours: the day before
    else:
        days = 1 if how is Compare.YESTERDAY else 7
    first, last = a.date() - dt.timedelta(days=days), b.date() - dt.timedelta(days=days)
    if whole and (last - first).days == 1:
        return day_period(first, tz)
    if whole and (last - first).days == 7 and first.weekday() == 0:
        return week_period(first, tz)
    start = dt.datetime.combine(first, a.time(), tz).timestamp()
    end = dt.datetime.combine(last, b.time(), tz).timestamp()
    return Period(start, end, _label(start, end, tz))


def _label(start: float, end: float, tz: ZoneInfo) -> str:
    a, b = _local(start, tz), _local(end, tz)
    return f"{a:%a %d %b %Y %H:%M} - {b:%a %d %b %H:%M}"


def check_range(start: float | None, end: float | None, now: float) -> None:
    """A period must end after it starts, and not start in the future.

    Example:
        >>> check_range(20.0, 10.0, 100.0)
        Traceback (most recent call last):
        ...
        dashboard.errors.DashboardError: The period is empty: it ends before it starts.
    """
    if start is not None and end is not None and end <= start:
        raise DashboardError("The period is empty: it ends before it starts.")
    if start is not None and start > now + 60:
        raise DashboardError("The period starts in the future: nothing has been counted "
                             "there yet.")


def change_pct(now: int | float, before: int | float) -> float | None:
    """The change from `before` to `now` in percent; None when there was nothing before.

    Example:
        >>> change_pct(120, 100), change_pct(5, 0)
        (20.0, None)
    """
    return None if not before else round((now - before) / before * 100, 1)


def pct_text(v: float | None) -> str:
    """A change in percent as written in reports; a dash for none.

    Example:
        >>> pct_text(12.5), pct_text(-3.0), pct_text(None)
        ('+12.5%', '-3.0%', '–')
    """
    return "–" if v is None else f"{v:+.1f}%"
