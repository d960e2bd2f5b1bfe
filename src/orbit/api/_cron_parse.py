"""Parsing of Kubernetes CronJob schedules: robfig/cron v3's ``ParseStandard``, ported.

Kubernetes validates ``spec.schedule`` by parsing it with ``cron.ParseStandard``, so
what it accepts is whatever that parser accepts, quirks included (see
:mod:`orbit.api._cron` for the list). This module reproduces it rule for rule, down
to Go's ``strconv.Atoi``, ``strings.Fields`` and ``time.ParseDuration``, and words its
errors so that each names the field and the part that is wrong. It returns plain
field sets; :class:`orbit.api._cron.CronSchedule` wraps them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import NamedTuple

import attrs

__all__ = ["ParsedSchedule", "ScheduleError", "parse_schedule"]

_INT64_MAX = (1 << 63) - 1
_TZ_MESSAGE = "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"
# Go's unicode.IsSpace, which strings.Fields splits on (Python's str.split adds \x1c-\x1f).
_GO_SPACE = re.compile("[\t\n\v\f\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+")
_GO_INT = re.compile(r"[+-]?[0-9]+")  # strconv.Atoi's syntax


class ScheduleError(Exception):
    """A schedule is invalid; the message names the bad part."""


class ParsedSchedule(NamedTuple):
    """The values each field allows, robfig's star bits, or an ``@every`` delay."""

    minutes: frozenset[int] = frozenset()
    hours: frozenset[int] = frozenset()
    days_of_month: frozenset[int] = frozenset()
    months: frozenset[int] = frozenset()
    days_of_week: frozenset[int] = frozenset()
    day_of_month_star: bool = False
    day_of_week_star: bool = False
    every_s: int | None = None


@attrs.frozen
class _Bounds:
    name: str
    low: int
    high: int
    names: Mapping[str, int] = attrs.field(factory=dict)
    hint: str = ""


_MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTHS = {name: number for number, name in enumerate(_MONTH_NAMES, start=1)}
_WEEKDAYS = {
    name: number for number, name in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))
}
_FIELDS = (
    _Bounds("minute", 0, 59),
    _Bounds("hour", 0, 23),
    _Bounds("day of month", 1, 31),
    _Bounds("month", 1, 12, _MONTHS, " or a month name (JAN-DEC)"),
    _Bounds("day of week", 0, 6, _WEEKDAYS, " or a day name (SUN-SAT)"),
)


def _number(part: str, bounds: _Bounds, expr: str, *, step: bool = False) -> int:
    """robfig's ``parseIntOrName`` / ``mustParseInt``: a name, or what Go's Atoi takes."""
    if not step and part.lower() in bounds.names:
        return bounds.names[part.lower()]
    what = f"{bounds.name} step" if step else bounds.name
    if not _GO_INT.fullmatch(part):
        return _fail(f'{what} "{part}" is not a number{"" if step else bounds.hint}')
    if len(part) > 25 or abs(int(part)) > _INT64_MAX:
        return _fail(f'{what} "{part}" is too large')
    if int(part) < 0:
        return _fail(f'{what} "{part}" in "{expr}" is negative')
    return int(part)


def _fail(message: str) -> int:
    raise ScheduleError(message)


def _parse_range(expr: str, bounds: _Bounds) -> tuple[range, bool]:
    """robfig's ``getRange``: the values of one list item and whether it sets the star."""
    range_and_step = expr.split("/")
    low_and_high = range_and_step[0].split("-")
    if low_and_high[0] in ("*", "?"):  # robfig ignores anything after "*-"
        start, end, star = bounds.low, bounds.high, True
    else:
        start, star = _number(low_and_high[0], bounds, expr), False
        if len(low_and_high) > 2:
            _fail(f'{bounds.name} "{expr}" has too many hyphens')
        end = _number(low_and_high[-1], bounds, expr)
    if len(range_and_step) > 2:
        _fail(f'{bounds.name} "{expr}" has too many slashes')
    step = 1
    if len(range_and_step) == 2:
        step = _number(range_and_step[1], bounds, expr, step=True)
        if len(low_and_high) == 1:  # "N/step" means "N-max/step"
            end = bounds.high
        star = star and step <= 1
    for value in (start, end):
        if not bounds.low <= value <= bounds.high:
            where = "" if expr == str(value) else f' (in "{expr}")'
            _fail(f"{bounds.name} {value} is out of range {bounds.low}-{bounds.high}{where}")
    if start > end:
        _fail(f'{bounds.name} range "{expr}" is backwards: {start} comes after {end}')
    if step == 0:
        _fail(f'{bounds.name} step in "{expr}" must be at least 1')
    return range(start, end + 1, step), star


def _parse_field(text: str, bounds: _Bounds) -> tuple[frozenset[int], bool]:
    """robfig's ``getField``: a comma-separated list; empty items are skipped."""
    values: set[int] = set()
    star = False
    for expr in filter(None, text.split(",")):
        items, item_star = _parse_range(expr, bounds)
        values.update(items)
        star = star or item_star
    return frozenset(values), star


def _parse_go_duration(text: str) -> int:
    """Go's ``time.ParseDuration`` in nanoseconds, with its error messages."""
    units = {"ns": 1, "us": 10**3, "µs": 10**3, "μs": 10**3, "ms": 10**6}
    units.update(s=10**9, m=60 * 10**9, h=3600 * 10**9)
    invalid = f'invalid duration "{text}"'
    rest, negative = text, text[:1] == "-"
    rest = rest[1:] if rest[:1] in ("-", "+") else rest
    if rest == "0":
        return 0
    if not rest:
        raise ScheduleError(invalid)
    total = 0
    while rest:
        number = re.match(r"([0-9]*)(?:\.([0-9]*))?", rest)
        assert number is not None  # the pattern matches the empty string
        whole, fraction = number.group(1), number.group(2)
        if not whole and not fraction:
            raise ScheduleError(invalid)
        rest = rest[number.end() :]
        unit = re.match(r"[^0-9.]*", rest).group()  # type: ignore[union-attr]
        if not unit:
            raise ScheduleError(f'missing unit in duration "{text}"')
        if unit not in units:
            raise ScheduleError(f'unknown unit "{unit}" in duration "{text}"')
        rest = rest[len(unit) :]
        total += _duration_term(whole, fraction or "", units[unit], invalid)
        if total > 1 << 63:
            raise ScheduleError(invalid)
    if not negative and total > _INT64_MAX:
        raise ScheduleError(invalid)
    return -total if negative else total


def _duration_term(whole: str, fraction: str, unit: int, invalid: str) -> int:
    """One ``<number><unit>`` term of a Go duration, with Go's overflow rules."""
    whole = whole.lstrip("0")
    if len(whole) > 20 or int(whole or "0") > (1 << 63) // unit:
        raise ScheduleError(invalid)
    value = int(whole or "0") * unit
    numerator, scale = 0, 1.0
    for digit in fraction:  # Go's leadingFraction: stop reading digits near 2**63
        if numerator > _INT64_MAX // 10 or numerator * 10 + int(digit) > 1 << 63:
            break
        numerator, scale = numerator * 10 + int(digit), scale * 10
    if numerator:
        value += int(float(numerator) * (float(unit) / scale))
    if value > 1 << 63:
        raise ScheduleError(invalid)
    return value


def _parse_descriptor(text: str) -> ParsedSchedule:
    """robfig's ``parseDescriptor``: the ``@`` forms, matched exactly."""
    if text in _DESCRIPTORS:
        fields, dom_star, dow_star = _DESCRIPTORS[text]
        minutes, hours, days, months, weekdays = (frozenset(values) for values in fields)
        return ParsedSchedule(minutes, hours, days, months, weekdays, dom_star, dow_star)
    if text.startswith("@every "):
        try:
            nanos = _parse_go_duration(text[len("@every ") :])
        except ScheduleError as error:
            raise ScheduleError(
                f'@every needs a duration such as "1h30m" or "90s": {error}'
            ) from None
        return ParsedSchedule(every_s=max(nanos, 10**9) // 10**9)  # robfig's Every()
    raise ScheduleError(
        f'unrecognized descriptor "{text}" (use @yearly, @annually, @monthly, @weekly, '
        "@daily, @midnight, @hourly or @every <duration>)"
    )


_ALL = tuple(range(b.low, b.high + 1) for b in _FIELDS)
_DESCRIPTORS: dict[str, tuple[tuple[range | tuple[int, ...], ...], bool, bool]] = {
    "@yearly": (((0,), (0,), (1,), (1,), _ALL[4]), False, True),
    "@monthly": (((0,), (0,), (1,), _ALL[3], _ALL[4]), False, True),
    "@weekly": (((0,), (0,), _ALL[2], _ALL[3], (0,)), True, False),
    "@daily": (((0,), (0,), _ALL[2], _ALL[3], _ALL[4]), True, True),
    "@hourly": (((0,), _ALL[1], _ALL[2], _ALL[3], _ALL[4]), True, True),
}
_DESCRIPTORS["@annually"] = _DESCRIPTORS["@yearly"]
_DESCRIPTORS["@midnight"] = _DESCRIPTORS["@daily"]


def parse_schedule(text: str) -> ParsedSchedule:
    """Parse ``text`` as Kubernetes does: ``cron.ParseStandard`` plus its TZ rule.

    Raises:
        ScheduleError: the schedule is invalid; the message says why.
    """
    if not text:
        raise ScheduleError("schedule is empty")
    if "TZ" in text:  # Kubernetes' check: a time zone goes in spec.timeZone
        raise ScheduleError(_TZ_MESSAGE)
    if text.startswith("@"):
        return _parse_descriptor(text)
    fields = [field for field in _GO_SPACE.split(text) if field]
    if len(fields) != len(_FIELDS):
        raise ScheduleError(
            "expected exactly 5 fields (minute hour day-of-month month day-of-week), "
            f"found {len(fields)}"
        )
    (minutes, _), (hours, _), (days, dom_star), (months, _), (weekdays, dow_star) = (
        _parse_field(field, bounds) for field, bounds in zip(fields, _FIELDS, strict=True)
    )
    return ParsedSchedule(minutes, hours, days, months, weekdays, dom_star, dow_star)
