"""Cron schedules with the exact semantics of Kubernetes' CronJob controller.

Kubernetes parses ``spec.schedule`` with ``cron.ParseStandard`` of
github.com/robfig/cron/v3 and asks the result for ``Next(t)``. This module ports both
faithfully, plus the Kubernetes code around them: the API validation of ``schedule``
and ``timeZone`` and the controller's "most recent missed schedule" arithmetic. It is
pure (no clock, no I/O), so validation, the CronJob controller and the simulator
share one answer to "when does this fire?".

robfig's rules, several of which differ from Vixie cron or croniter:

- Five fields ``minute hour day-of-month month day-of-week``. Day of week is 0-6
  (``7`` is rejected); names ``JAN``-``DEC`` and ``SUN``-``SAT`` in any case; ``?`` means
  ``*`` in every field; ``N/step`` means ``N-max/step``; empty list items (``1,,2``)
  are ignored.
- Day of month and day of week: when either field is *starred* (has an item that
  starts with ``*`` or ``?`` and has no step above 1) a day must match both fields,
  otherwise either one. So ``0 0 */10 * SUN`` fires on the 1st, 11th, 21st and 31st
  *and* on every Sunday, while ``0 0 * * SUN`` fires on Sundays only.
- Descriptors ``@yearly @annually @monthly @weekly @daily @midnight @hourly`` and
  ``@every <Go duration>`` (a fixed delay after the given time, at least one second,
  ignoring time zones), spelled exactly so.
- The search looks five years ahead at most: ``0 0 30 2 *`` never fires (``None``).
- Fields match wall-clock time in the schedule's zone (UTC unless given). Across DST,
  robfig steps hours and minutes in absolute time and days and months on the
  calendar, as Go's ``time`` package does: a wall time that a spring-forward jump
  skips does not fire that day (``0 2 * * *``), and a repeated hour fires twice for
  schedules that reach it by stepping (``0 1 * * *`` fires at 01:00 EDT and again at
  01:00 EST). ``_Zone.date`` reproduces how Go's ``time.Date`` resolves such times.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

from orbit.api._cron_parse import ScheduleError, parse_schedule
from orbit.errors import Issue, ValidationError

__all__ = [
    "MISSED_SCHEDULES_LIMIT",
    "CronSchedule",
    "most_recent_missed",
    "validate_schedule",
    "validate_time_zone",
]

MISSED_SCHEDULES_LIMIT = 100
"""More missed schedules than this make Kubernetes warn ``TooManyMissedTimes``."""

_SECOND = timedelta(seconds=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_SEARCH_YEARS = 5  # robfig gives up after five years
_MIN_YEAR, _MAX_YEAR = 2, 9999 - _SEARCH_YEARS - 2  # room for the search in datetime
_TZ_PART = re.compile(r"[A-Za-z.\-_0-9+]{1,14}")  # Kubernetes' validTimeZoneCharacters


# ---------------------------------------------------------------- schedules


@attrs.frozen(kw_only=True)
class CronSchedule:
    """A parsed Kubernetes CronJob schedule; build one with :meth:`parse`.

    The field sets hold the values each field allows (``days_of_week``: 0 is Sunday).
    ``day_of_month_star`` / ``day_of_week_star`` record robfig's star bit: when either
    is set a day must match both day fields, otherwise either. An ``@every`` schedule
    has ``every_s`` set and empty field sets.
    """

    text: str
    minutes: frozenset[int] = attrs.field(default=frozenset(), repr=False)
    hours: frozenset[int] = attrs.field(default=frozenset(), repr=False)
    days_of_month: frozenset[int] = attrs.field(default=frozenset(), repr=False)
    months: frozenset[int] = attrs.field(default=frozenset(), repr=False)
    days_of_week: frozenset[int] = attrs.field(default=frozenset(), repr=False)
    day_of_month_star: bool = attrs.field(default=False, repr=False)
    day_of_week_star: bool = attrs.field(default=False, repr=False)
    every_s: int | None = attrs.field(default=None, repr=False)

    @classmethod
    def parse(cls, text: str) -> CronSchedule:
        """Parse ``text`` as Kubernetes does (``cron.ParseStandard`` plus its TZ rule).

        Raises:
            ValidationError: with one issue ``("", 'invalid schedule "<text>": <why>')``.
        """
        try:
            parsed = parse_schedule(text)
        except ScheduleError as error:
            raise ValidationError([("", f'invalid schedule "{text}": {error}')]) from None
        return cls(text=text, **parsed._asdict())

    def __str__(self) -> str:
        return self.text

    def next_after(self, t: datetime, tz: tzinfo | None = None) -> datetime | None:
        """The first activation strictly after ``t``, as robfig's ``Next`` finds it.

        Fields are matched on the wall clock of ``tz`` (UTC by default); the result is
        in ``t``'s time zone, like Go's. ``None`` when nothing fires within five years
        (``0 0 30 2 *``), where robfig returns the zero time.

        Compare results in UTC: Python never finds an ambiguous wall time (01:30 on a
        fall-back day) equal to a time in another zone.
        """
        found = self._next_epoch(_epoch_floor(t), _Zone(tz or UTC))
        return None if found is None else datetime.fromtimestamp(found, t.tzinfo)

    def times_between(
        self,
        start: datetime,
        end: datetime,
        tz: tzinfo | None = None,
        limit: int | None = None,
    ) -> Iterator[datetime]:
        """Activations in ``(start, end]``, oldest first; at most ``limit`` of them."""
        zone, end_s = _Zone(tz or UTC), _epoch_floor(end)
        found, count = self._next_epoch(_epoch_floor(start), zone), 0
        while found is not None and found <= end_s and (limit is None or count < limit):
            yield datetime.fromtimestamp(found, start.tzinfo)
            found, count = self._next_epoch(found, zone), count + 1

    def _next_epoch(self, after_s: int, zone: _Zone) -> int | None:
        """The next activation after epoch second ``after_s``, in epoch seconds."""
        if self.every_s is not None:  # robfig's ConstantDelaySchedule
            return after_s + self.every_s
        return _Search(self, zone, after_s + 1).run()

    def _day_matches(self, day: int, weekday: int) -> bool:
        dom, dow = day in self.days_of_month, weekday in self.days_of_week
        if self.day_of_month_star or self.day_of_week_star:
            return dom and dow
        return dom or dow


def _epoch_floor(t: datetime) -> int:
    """Whole epoch seconds of an aware datetime, rounded down as robfig drops nanos."""
    if t.utcoffset() is None:
        raise ValueError(f"cron times must be timezone-aware, got {t!r}")
    if not _MIN_YEAR <= t.year <= _MAX_YEAR:
        raise ValueError(f"cron times must lie in years {_MIN_YEAR}-{_MAX_YEAR}, got {t!r}")
    return (t - _EPOCH) // _SECOND


@attrs.frozen
class _Zone:
    """Go's ``time.Location`` behaviour over a tzinfo: wall clocks and ``time.Date``."""

    tz: tzinfo

    def wall(self, epoch_s: int) -> datetime:
        return datetime.fromtimestamp(epoch_s, self.tz)

    def offset_s(self, epoch_s: int) -> int:
        offset = self.wall(epoch_s).utcoffset()
        return 0 if offset is None else offset // _SECOND

    def date(self, year: int, month: int, day: int, clock: tuple[int, int, int] = (0, 0, 0)) -> int:
        """Go's ``time.Date``: normalise overflowing fields, then pick the offset.

        Go looks the offset up at the wall time read as UTC, then again at the instant
        that gives; for times a DST jump skips or repeats this picks one reading, and
        robfig's behaviour at DST edges follows from exactly that choice.
        """
        hour, minute, second = clock
        year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
        days = date(year, month, 1).toordinal() - _EPOCH_ORDINAL + day - 1
        local = days * 86400 + hour * 3600 + minute * 60 + second
        return local - self.offset_s(local - self.offset_s(local))


class _Search:
    """robfig's ``SpecSchedule.Next``, field by field, on epoch seconds.

    Each ``_seek_*`` step returns False where robfig jumps back to ``WRAP`` (a field
    rolled over, so the larger fields must be checked again).
    """

    def __init__(self, schedule: CronSchedule, zone: _Zone, start_s: int) -> None:
        self.schedule, self.zone = schedule, zone
        self.added = False  # robfig's flag: a field moved, so smaller fields start at 0
        self._move(start_s)
        self.year_limit = self.wall.year + _SEARCH_YEARS

    def _move(self, epoch_s: int) -> None:
        self.epoch_s, self.wall = epoch_s, self.zone.wall(epoch_s)

    def _reset(self, year: int, month: int, day: int, hour: int = 0) -> None:
        if not self.added:
            self.added = True
            self._move(self.zone.date(year, month, day, (hour, 0, 0)))

    def run(self) -> int | None:
        while self.wall.year <= self.year_limit:
            if (
                self._seek_month()
                and self._seek_day()
                and self._seek_hour()
                and self._seek_minute()
                and self._seek_second()
            ):
                return self.epoch_s
        return None

    def _seek_month(self) -> bool:
        while self.wall.month not in self.schedule.months:
            self._reset(self.wall.year, self.wall.month, 1)
            w = self.wall
            self._move(self.zone.date(w.year, w.month + 1, w.day, (w.hour, w.minute, w.second)))
            if self.wall.month == 1:
                return False
        return True

    def _seek_day(self) -> bool:
        while not self.schedule._day_matches(self.wall.day, self.wall.isoweekday() % 7):
            self._reset(self.wall.year, self.wall.month, self.wall.day)
            w = self.wall
            self._move(self.zone.date(w.year, w.month, w.day + 1, (w.hour, w.minute, w.second)))
            if self.wall.hour > 12:  # midnight fell into a DST gap: go to the next hour 0
                self._move(self.epoch_s + (24 - self.wall.hour) * 3600)
            elif self.wall.hour:
                self._move(self.epoch_s - self.wall.hour * 3600)
            if self.wall.day == 1:
                return False
        return True

    def _seek_hour(self) -> bool:
        while self.wall.hour not in self.schedule.hours:
            self._reset(self.wall.year, self.wall.month, self.wall.day, self.wall.hour)
            self._move(self.epoch_s + 3600)
            if self.wall.hour == 0:
                return False
        return True

    def _seek_minute(self) -> bool:
        while self.wall.minute not in self.schedule.minutes:
            if not self.added:
                self.added = True
                self._move(self.epoch_s - self.epoch_s % 60)  # Go's Truncate(time.Minute)
            self._move(self.epoch_s + 60)
            if self.wall.minute == 0:
                return False
        return True

    def _seek_second(self) -> bool:
        # ParseStandard fixes the seconds field at 0.
        while self.wall.second != 0:
            self.added = True
            self._move(self.epoch_s + 1)
            if self.wall.second == 0:
                return False
        return True


# ---------------------------------------------------------------- the controller's view


def most_recent_missed(
    schedule: CronSchedule,
    earliest: datetime,
    now: datetime,
    tz: tzinfo | None = None,
) -> tuple[datetime | None, int]:
    """The latest activation in ``(earliest, now]`` and how many were missed.

    ``earliest`` is what Kubernetes' ``mostRecentScheduleTime`` starts from (the last
    schedule time, else the creation time, moved up to ``now - startingDeadlineSeconds``).
    The count is Kubernetes' own: 0 or 1 when at most one activation passed, else the
    gap from the first missed activation to ``now`` divided by the spacing of the
    first two, plus one; exact for evenly spaced schedules, an estimate otherwise.
    Compare it with :data:`MISSED_SCHEDULES_LIMIT` as the controller does.

    Unlike Kubernetes, the time is exact for unevenly spaced schedules too
    (``30 10-12 * * 1-5`` missed over a weekend): Kubernetes searches only the last
    spacing before ``now`` and can answer "none"; this widens the search until it
    finds the latest activation.

    Raises:
        ValidationError: the schedule does not fire twice within five years after
            ``earliest``, where Kubernetes reports an invalid schedule.
    """
    zone, now_us = _Zone(tz or UTC), _epoch_floor(now) * 10**6 + now.microsecond
    first = schedule._next_epoch(_epoch_floor(earliest), zone)
    if first is not None and first * 10**6 > now_us:
        return None, 0
    second = None if first is None else schedule._next_epoch(first, zone)
    if first is None or second is None:
        why = f"it does not fire in the five years after {earliest.isoformat()}"
        raise ValidationError([("", f'invalid schedule "{schedule}": {why}')])
    if second * 10**6 > now_us:
        return datetime.fromtimestamp(first, now.tzinfo), 1
    spacing_s = second - first
    missed = (now_us - first * 10**6) // 10**6 // spacing_s + 1
    latest = _latest_until(schedule, zone, first, first + (missed - 2) * spacing_s, now_us)
    return datetime.fromtimestamp(latest, now.tzinfo), missed


def _latest_until(schedule: CronSchedule, zone: _Zone, first: int, start: int, now_us: int) -> int:
    """The last activation at or before ``now_us``, searching forward from ``start``.

    ``start`` is Kubernetes' guess (one spacing before the last whole spacing); when
    nothing fires between it and now, the window doubles back towards ``first``,
    which is known to fire no later than now.
    """
    now_s = now_us // 10**6
    while True:
        latest, found = None, schedule._next_epoch(start, zone)
        while found is not None and found * 10**6 <= now_us:
            latest, found = found, schedule._next_epoch(found, zone)
        if latest is not None:
            return latest
        if start <= first:
            return first
        start = max(first, now_s - 2 * (now_s - start))


# ---------------------------------------------------------------- validation


def validate_schedule(text: str, path: str) -> list[Issue]:
    """Kubernetes' checks of ``spec.schedule``: it parses, and it names no time zone."""
    if not text:
        return [Issue(path, "Required value")]
    try:
        parse_schedule(text)
    except ScheduleError as error:
        return [Issue(path, f'Invalid value: "{text}": {error}')]
    return []


def validate_time_zone(name: str, path: str) -> list[Issue]:
    """Kubernetes' checks of ``spec.timeZone``: an explicit IANA name this host knows."""
    invalid = f'Invalid value: "{name}": '
    if not name:
        return [Issue(path, invalid + "timeZone must be nil or non-empty string")]
    for part in name.split("/"):
        if part in (".", "..") or part.startswith("-") or not _TZ_PART.fullmatch(part):
            return [Issue(path, f"{invalid}unknown time zone {name}")]
    issues = []
    if name.lower() == "local":
        issues.append(
            Issue(
                path,
                invalid + "timeZone must be an explicit time zone as defined in "
                "https://www.iana.org/time-zones",
            )
        )
    if name != "Local" and not _known_zone(name):  # Go's LoadLocation accepts "Local"
        issues.append(Issue(path, f"{invalid}unknown time zone {name}"))
    return issues


def _known_zone(name: str) -> bool:
    if name == "UTC":
        return True
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True
