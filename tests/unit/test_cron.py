"""Cron schedules: robfig/cron v3's parser and ``Next`` as Kubernetes uses them.

The tables come from robfig's ``parser_test.go`` / ``spec_test.go`` (six-field cases
rewritten to the five fields Kubernetes' ``ParseStandard`` takes) and Kubernetes'
``pkg/controller/cronjob/utils_test.go``; the property tests check ``next_after``
against a minute-by-minute scan written from the rules, not from the implementation.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, tzinfo
from typing import NamedTuple
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orbit.api._cron import (
    MISSED_SCHEDULES_LIMIT,
    CronSchedule,
    most_recent_missed,
    validate_schedule,
    validate_time_zone,
)
from orbit.errors import Issue, ValidationError

NEW_YORK = ZoneInfo("America/New_York")
SAO_PAULO = ZoneInfo("America/Sao_Paulo")


def utc(text: str) -> datetime:
    """``"2012-07-09 14:45"`` or with seconds, in UTC."""
    layout = "%Y-%m-%d %H:%M:%S" if text.count(":") == 2 else "%Y-%m-%d %H:%M"
    return datetime.strptime(text, layout).replace(tzinfo=UTC)


def at(text: str) -> datetime:
    """An RFC 3339-ish time with a numeric offset, as robfig's DST tables write them."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S%z")


def parse(text: str) -> CronSchedule:
    return CronSchedule.parse(text)


# ---------------------------------------------------------------- parsing


def test_parse_keeps_text_and_is_frozen_and_hashable() -> None:
    schedule = parse("*/15 9-17 * * MON-FRI")
    assert schedule.text == "*/15 9-17 * * MON-FRI"
    assert str(schedule) == "*/15 9-17 * * MON-FRI"
    assert repr(schedule) == "CronSchedule(text='*/15 9-17 * * MON-FRI')"
    assert schedule == parse("*/15 9-17 * * MON-FRI")
    assert len({schedule, parse("*/15 9-17 * * MON-FRI"), parse("@hourly")}) == 2
    with pytest.raises(AttributeError):
        schedule.text = "* * * * *"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        # robfig TestRange / TestField, on real fields
        ("5", {5}),
        ("5-5", {5}),
        ("5-7", {5, 6, 7}),
        ("5-6/2", {5}),
        ("5-7/2", {5, 7}),
        ("5-7/1", {5, 6, 7}),
        ("5,6,7", {5, 6, 7}),
        ("1,5-7/2,3", {1, 3, 5, 7}),
        ("50/3", {50, 53, 56, 59}),  # N/step means N-max/step
        ("*/20", {0, 20, 40}),
        ("?/30", {0, 30}),
        ("*/100", {0}),  # a step past the range keeps the start only
        ("1,,2", {1, 2}),  # empty list items are skipped
        ("+5", {5}),  # Go's Atoi takes a sign
        ("007", {7}),
        ("*-30", set(range(60))),  # robfig ignores what follows "*-"
        (",", set()),  # accepted, and never fires
    ],
)
def test_minute_field_values(field: str, expected: set[int]) -> None:
    assert parse(f"{field} * * * *").minutes == expected


def test_names_any_case_for_months_and_weekdays() -> None:
    schedule = parse("0 0 * jan-MAR,Dec sun,Sat")
    assert schedule.months == {1, 2, 3, 12}
    assert schedule.days_of_week == {0, 6}


def test_question_mark_is_a_star_in_every_field() -> None:
    assert parse("? ? ? ? ?") == CronSchedule(
        text="? ? ? ? ?",
        minutes=frozenset(range(60)),
        hours=frozenset(range(24)),
        days_of_month=frozenset(range(1, 32)),
        months=frozenset(range(1, 13)),
        days_of_week=frozenset(range(7)),
        day_of_month_star=True,
        day_of_week_star=True,
    )


@pytest.mark.parametrize(
    ("text", "dom_star", "dow_star"),
    [
        ("0 0 * * *", True, True),
        ("0 0 1,15 * *", False, True),
        ("0 0 */10 * SUN", False, False),  # a step above 1 clears the star (robfig #70)
        ("0 0 */1 * SUN", True, False),
        ("0 0 *,5 * 1-5", True, False),
        ("0 0 1-31 * 0-6", False, False),
    ],
)
def test_star_bit(text: str, dom_star: bool, dow_star: bool) -> None:
    schedule = parse(text)
    assert (schedule.day_of_month_star, schedule.day_of_week_star) == (dom_star, dow_star)


@pytest.mark.parametrize(
    ("descriptor", "equivalent"),
    [
        ("@yearly", "0 0 1 1 *"),
        ("@annually", "0 0 1 1 *"),
        ("@monthly", "0 0 1 * *"),
        ("@weekly", "0 0 * * 0"),
        ("@daily", "0 0 * * *"),
        ("@midnight", "0 0 * * *"),
        ("@hourly", "0 * * * *"),
    ],
)
def test_descriptors(descriptor: str, equivalent: str) -> None:
    schedule = parse(descriptor)
    assert schedule.text == descriptor
    assert schedule == attrs.evolve(parse(equivalent), text=descriptor)  # star bits too


@pytest.mark.parametrize(
    ("text", "every_s"),
    [
        ("@every 5m", 300),
        ("@every 1h30m", 5400),
        ("@every 1.5h", 5400),
        ("@every 2h45m30.9s", 9930),  # sub-second parts are dropped
        ("@every 500ms", 1),  # less than a second becomes one second
        ("@every 0", 1),
        ("@every -1h", 1),
        ("@every +90s", 90),
        ("@every 1µs", 1),
        ("@every .5m", 30),
    ],
)
def test_every(text: str, every_s: int) -> None:
    assert parse(text).every_s == every_s


def invalid(text: str) -> str:
    with pytest.raises(ValidationError) as caught:
        CronSchedule.parse(text)
    [issue] = caught.value.issues
    assert issue.path == ""
    return issue.message


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("61 * * * *", "minute 61 is out of range 0-59"),
        ("* 24 * * *", "hour 24 is out of range 0-23"),
        ("* * 0 * *", "day of month 0 is out of range 1-31"),
        ("* * 32 * *", "day of month 32 is out of range 1-31"),
        ("* * * 13 *", "month 13 is out of range 1-12"),
        ("* * * 0 *", "month 0 is out of range 1-12"),
        ("* * * * 7", "day of week 7 is out of range 0-6"),
        ("5-70 * * * *", 'minute 70 is out of range 0-59 (in "5-70")'),
        ("* * * * 1-7", 'day of week 7 is out of range 0-6 (in "1-7")'),
        ("5-3 * * * *", 'minute range "5-3" is backwards: 5 comes after 3'),
        ("*/0 * * * *", 'minute step in "*/0" must be at least 1'),
        ("5--5 * * * *", 'minute "5--5" has too many hyphens'),
        ("1-2-3 * * * *", 'minute "1-2-3" has too many hyphens'),
        ("*//2 * * * *", 'minute "*//2" has too many slashes'),
        ("*/-12 * * * *", 'minute step "-12" in "*/-12" is negative'),
        ("*/jan * * JAN *", 'minute step "jan" is not a number'),
        ("5 j * * *", 'hour "j" is not a number'),
        ("* * * jan-x *", 'month "x" is not a number or a month name (JAN-DEC)'),
        ("0 0 * * XYZ", 'day of week "XYZ" is not a number or a day name (SUN-SAT)'),
        ("0 0 * * sunday", 'day of week "sunday" is not a number or a day name (SUN-SAT)'),
        ("- * * * *", 'minute "" is not a number'),
        ("*/99999999999999999999 * * * *", 'minute step "99999999999999999999" is too large'),
        ("L * * * *", 'minute "L" is not a number'),
        (
            "* * * *",
            "expected exactly 5 fields (minute hour day-of-month month day-of-week), found 4",
        ),
        (
            "0 * * * * *",
            "expected exactly 5 fields (minute hour day-of-month month day-of-week), found 6",
        ),
        ("   ", "expected exactly 5 fields (minute hour day-of-month month day-of-week), found 0"),
        (
            " @daily",
            "expected exactly 5 fields (minute hour day-of-month month day-of-week), found 1",
        ),
        ("", "schedule is empty"),
        ("TZ=UTC 0 * * * *", "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"),
        (
            "CRON_TZ=America/New_York 0 9 * * *",
            "cannot use TZ or CRON_TZ in schedule, use timeZone field instead",
        ),
        ("@every Xm", '@every needs a duration such as "1h30m" or "90s": invalid duration "Xm"'),
        (
            "@every 1d",
            '@every needs a duration such as "1h30m" or "90s": unknown unit "d" in duration "1d"',
        ),
        (
            "@every 5",
            '@every needs a duration such as "1h30m" or "90s": missing unit in duration "5"',
        ),
        ("@every ", '@every needs a duration such as "1h30m" or "90s": invalid duration ""'),
        (
            "@every 1h ",
            '@every needs a duration such as "1h30m" or "90s": unknown unit "h " in duration "1h "',
        ),
        (
            "@every 9999999999h",
            '@every needs a duration such as "1h30m" or "90s": invalid duration "9999999999h"',
        ),
    ],
)
def test_invalid_schedules(text: str, why: str) -> None:
    assert invalid(text) == f'invalid schedule "{text}": {why}'


@pytest.mark.parametrize("text", ["@unrecognized", "@daily ", "@DAILY", "@every"])
def test_unrecognized_descriptors(text: str) -> None:
    assert invalid(text) == (
        f'invalid schedule "{text}": unrecognized descriptor "{text}" (use @yearly, '
        "@annually, @monthly, @weekly, @daily, @midnight, @hourly or @every <duration>)"
    )


def test_fields_split_on_go_whitespace_only() -> None:
    assert parse("0\t9\u00a0* *\n1-5").hours == {9}  # Go's unicode.IsSpace
    assert "found 1" in invalid("0\x1c9\x1c*\x1c*\x1c*")  # Python's split would split these


def test_validation_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match=r'invalid schedule "61 \* \* \* \*"'):
        CronSchedule.parse("61 * * * *")


# ---------------------------------------------------------------- validation


def test_validate_schedule() -> None:
    assert validate_schedule("*/5 * * * *", "spec.schedule") == []
    assert validate_schedule("@every 1h", "spec.schedule") == []
    assert validate_schedule("", "spec.schedule") == [Issue("spec.schedule", "Required value")]
    assert validate_schedule("61 * * * *", "spec.schedule") == [
        Issue("spec.schedule", 'Invalid value: "61 * * * *": minute 61 is out of range 0-59')
    ]
    assert validate_schedule("TZ=UTC * * * * *", "[0].spec.schedule") == [
        Issue(
            "[0].spec.schedule",
            'Invalid value: "TZ=UTC * * * * *": cannot use TZ or CRON_TZ in schedule, '
            "use timeZone field instead",
        )
    ]


@pytest.mark.parametrize(
    "name", ["America/New_York", "UTC", "Etc/GMT+5", "Europe/London", "Asia/Kolkata"]
)
def test_valid_time_zones(name: str) -> None:
    assert validate_time_zone(name, "spec.timeZone") == []


EXPLICIT = "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones"


@pytest.mark.parametrize(
    ("name", "messages"),
    [
        ("", ['Invalid value: "": timeZone must be nil or non-empty string']),
        ("Local", [f'Invalid value: "Local": {EXPLICIT}']),
        (
            "local",  # Go's LoadLocation knows only "Local", so both checks fail
            [
                f'Invalid value: "local": {EXPLICIT}',
                'Invalid value: "local": unknown time zone local',
            ],
        ),
        (
            "Mars/Olympus_Mons",
            ['Invalid value: "Mars/Olympus_Mons": unknown time zone Mars/Olympus_Mons'],
        ),
        ("America", ['Invalid value: "America": unknown time zone America']),
        ("../etc/passwd", ['Invalid value: "../etc/passwd": unknown time zone ../etc/passwd']),
        ("/etc/localtime", ['Invalid value: "/etc/localtime": unknown time zone /etc/localtime']),
        ("America/-x", ['Invalid value: "America/-x": unknown time zone America/-x']),
        (
            "Europe/Atlantis",
            ['Invalid value: "Europe/Atlantis": unknown time zone Europe/Atlantis'],
        ),
        ("utc", ['Invalid value: "utc": unknown time zone utc']),
        ("zone.tab", ['Invalid value: "zone.tab": unknown time zone zone.tab']),
    ],
)
def test_invalid_time_zones(name: str, messages: list[str]) -> None:
    assert validate_time_zone(name, "spec.timeZone") == [
        Issue("spec.timeZone", message) for message in messages
    ]


# ---------------------------------------------------------------- robfig's tables


@pytest.mark.parametrize(
    ("time", "spec", "fires"),
    [
        # robfig spec_test.go TestActivation
        ("2012-07-09 15:00", "0/15 * * * *", True),
        ("2012-07-09 15:45", "0/15 * * * *", True),
        ("2012-07-09 15:40", "0/15 * * * *", False),
        ("2012-07-09 15:05", "5/15 * * * *", True),
        ("2012-07-09 15:20", "5/15 * * * *", True),
        ("2012-07-09 15:50", "5/15 * * * *", True),
        ("2012-07-15 15:00", "0/15 * * Jul *", True),
        ("2012-07-15 15:00", "0/15 * * Jun *", False),
        ("2012-07-15 08:30", "30 08 ? Jul Sun", True),
        ("2012-07-15 08:30", "30 08 15 Jul ?", True),
        ("2012-07-16 08:30", "30 08 ? Jul Sun", False),
        ("2012-07-16 08:30", "30 08 15 Jul ?", False),
        ("2012-07-09 15:00", "@hourly", True),
        ("2012-07-09 15:04", "@hourly", False),
        ("2012-07-09 15:00", "@daily", False),
        ("2012-07-09 00:00", "@daily", True),
        ("2012-07-09 00:00", "@weekly", False),
        ("2012-07-08 00:00", "@weekly", True),
        ("2012-07-08 01:00", "@weekly", False),
        ("2012-07-08 00:00", "@monthly", False),
        ("2012-07-01 00:00", "@monthly", True),
        # both day fields restricted: either matches
        ("2012-07-15 00:00", "* * 1,15 * Sun", True),
        ("2012-06-15 00:00", "* * 1,15 * Sun", True),
        ("2012-08-01 00:00", "* * 1,15 * Sun", True),
        ("2012-07-15 00:00", "* * */10 * Sun", True),
        # one starred: both must match
        ("2012-07-15 00:00", "* * * * Mon", False),
        ("2012-07-09 00:00", "* * 1,15 * *", False),
        ("2012-07-15 00:00", "* * 1,15 * *", True),
        ("2012-07-15 00:00", "* * */2 * Sun", True),
    ],
)
def test_activation(time: str, spec: str, fires: bool) -> None:
    moment = utc(time)
    assert (parse(spec).next_after(moment - timedelta(seconds=1)) == moment) is fires


@pytest.mark.parametrize(
    ("time", "spec", "expected"),
    [
        # robfig spec_test.go TestNext; seconds fields dropped (ParseStandard fixes them at 0)
        ("2012-07-09 14:45", "0/15 * * * *", "2012-07-09 15:00"),
        ("2012-07-09 14:59", "0/15 * * * *", "2012-07-09 15:00"),
        ("2012-07-09 14:59:59", "0/15 * * * *", "2012-07-09 15:00"),
        ("2012-07-09 15:45", "20-35/15 * * * *", "2012-07-09 16:20"),
        ("2012-07-09 23:46", "*/15 * * * *", "2012-07-10 00:00"),
        ("2012-07-09 23:45", "20-35/15 * * * *", "2012-07-10 00:20"),
        ("2012-07-09 23:35:51", "20-35/15 * * * *", "2012-07-10 00:20"),
        ("2012-07-09 23:35:51", "20-35/15 1/2 * * *", "2012-07-10 01:20"),
        ("2012-07-09 23:35:51", "20-35/15 10-12 * * *", "2012-07-10 10:20"),
        ("2012-07-09 23:35:51", "20-35/15 1/2 */2 * *", "2012-07-11 01:20"),
        ("2012-07-09 23:35:51", "20-35/15 * 9-20 * *", "2012-07-10 00:20"),
        ("2012-07-09 23:35:51", "20-35/15 * 9-20 Jul *", "2012-07-10 00:20"),
        ("2012-07-09 23:35", "0 0 9 Apr-Oct ?", "2012-08-09 00:00"),
        ("2012-07-09 23:35", "0 0 */5 Apr,Aug,Oct Mon", "2012-08-01 00:00"),
        ("2012-07-09 23:35", "0 0 */5 Oct Mon", "2012-10-01 00:00"),
        ("2012-07-09 23:35", "0 0 * Feb Mon", "2013-02-04 00:00"),
        ("2012-07-09 23:35", "0 0 * Feb Mon/2", "2013-02-01 00:00"),
        ("2012-12-31 23:59:45", "* * * * *", "2013-01-01 00:00"),
        ("2012-07-09 23:35", "0 0 29 Feb ?", "2016-02-29 00:00"),
        # robfig parser_test.go TestStandardSpecSchedule
        ("2025-01-01 18:00", "5 * * * *", "2025-01-01 18:05"),
        ("2025-01-01 18:02", "@every 5m", "2025-01-01 18:07"),
    ],
)
def test_next(time: str, spec: str, expected: str) -> None:
    assert parse(spec).next_after(utc(time)) == utc(expected)


@pytest.mark.parametrize(
    "spec", ["0 0 30 Feb ?", "0 0 31 Apr ?", "0 0 31 2,4,6,9,11 *", ", * * * *"]
)
def test_unsatisfiable_schedules_never_fire(spec: str) -> None:
    assert parse(spec).next_after(utc("2012-07-09 23:35")) is None


@pytest.mark.parametrize(
    ("time", "spec", "expected"),
    [
        # robfig TestNextWithTz: fields match the wall clock of the zone given
        ("2016-01-03T13:09:03+0530", "14 14 * * *", "2016-01-03T14:14:00+0530"),
        ("2016-01-03T04:09:03+0530", "14 14 * * ?", "2016-01-03T14:14:00+0530"),
        ("2016-01-03T14:09:03+0530", "14 14 * * *", "2016-01-03T14:14:00+0530"),
        ("2016-01-03T14:00:00+0530", "14 14 * * ?", "2016-01-03T14:14:00+0530"),
    ],
)
def test_next_in_a_fixed_offset_zone(time: str, spec: str, expected: str) -> None:
    moment = at(time)
    assert parse(spec).next_after(moment, moment.tzinfo) == at(expected)


@pytest.mark.parametrize(
    ("time", "spec", "expected"),
    [
        # robfig TestNext, America/New_York. Spring forward: 02:00 EST -> 03:00 EDT
        ("2012-03-11T00:00:00-0500", "30 2 11 Mar ?", "2013-03-11T02:30:00-0400"),
        ("2012-03-11T00:00:00-0500", "0 * * * ?", "2012-03-11T01:00:00-0500"),
        ("2012-03-11T01:00:00-0500", "0 * * * ?", "2012-03-11T03:00:00-0400"),
        ("2012-03-11T03:00:00-0400", "0 * * * ?", "2012-03-11T04:00:00-0400"),
        ("2012-03-11T04:00:00-0400", "0 * * * ?", "2012-03-11T05:00:00-0400"),
        ("2012-03-11T00:00:00-0500", "0 1 * * ?", "2012-03-11T01:00:00-0500"),
        ("2012-03-11T01:00:00-0500", "0 1 * * ?", "2012-03-12T01:00:00-0400"),
        ("2012-03-11T00:00:00-0500", "0 2 * * ?", "2012-03-12T02:00:00-0400"),  # skipped
        # fall back: 02:00 EDT -> 01:00 EST
        ("2012-11-04T00:00:00-0400", "30 2 04 Nov ?", "2012-11-04T02:30:00-0500"),
        ("2012-11-04T01:45:00-0400", "30 1 04 Nov ?", "2012-11-04T01:30:00-0500"),
        ("2012-11-04T00:00:00-0400", "0 * * * ?", "2012-11-04T01:00:00-0400"),
        ("2012-11-04T01:00:00-0400", "0 * * * ?", "2012-11-04T01:00:00-0500"),
        ("2012-11-04T01:00:00-0500", "0 * * * ?", "2012-11-04T02:00:00-0500"),
        ("2012-11-04T00:00:00-0400", "0 1 * * ?", "2012-11-04T01:00:00-0400"),  # runs twice
        ("2012-11-04T01:00:00-0400", "0 1 * * ?", "2012-11-04T01:00:00-0500"),
        ("2012-11-04T01:00:00-0500", "0 1 * * ?", "2012-11-05T01:00:00-0500"),
        ("2012-11-04T00:00:00-0400", "0 2 * * ?", "2012-11-04T02:00:00-0500"),
        ("2012-11-04T02:00:00-0500", "0 2 * * ?", "2012-11-05T02:00:00-0500"),
        ("2012-11-04T00:00:00-0400", "0 3 * * ?", "2012-11-04T03:00:00-0500"),
        ("2012-11-04T03:00:00-0500", "0 3 * * ?", "2012-11-05T03:00:00-0500"),
        ("2012-11-04T00:00:00-0400", "0 3 3 * ?", "2012-12-03T03:00:00-0500"),
    ],
)
def test_next_across_dst_in_new_york(time: str, spec: str, expected: str) -> None:
    result = parse(spec).next_after(at(time).astimezone(NEW_YORK), NEW_YORK)
    assert result is not None
    assert result.tzinfo is NEW_YORK  # returned in the zone of the time given
    assert result.astimezone(UTC) == at(expected)
    assert result.utcoffset() == at(expected).utcoffset()


@pytest.mark.parametrize(
    ("time", "spec", "expected"),
    [
        # robfig issue #157: in Sao Paulo 2018 DST began at midnight, so 00:00 did not exist
        ("2018-10-17T05:00:00-0400", "0 9 10 * ?", "2018-11-10T06:00:00-0500"),
        ("2018-02-14T05:00:00-0500", "0 9 22 * ?", "2018-02-22T07:00:00-0500"),
        ("2018-11-03T12:00:00-0300", "0 * * * *", "2018-11-03T13:00:00-0300"),
        ("2018-11-03T23:00:00-0300", "0 * * * *", "2018-11-04T01:00:00-0200"),
        ("2018-11-03T12:00:00-0300", "30 0,1 * * *", "2018-11-04T01:30:00-0200"),
    ],
)
def test_next_when_midnight_does_not_exist(time: str, spec: str, expected: str) -> None:
    assert parse(spec).next_after(at(time), SAO_PAULO) == at(expected)


def test_the_result_keeps_the_zone_of_the_time_given() -> None:
    berlin = datetime(2024, 7, 1, 12, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    result = parse("0 * * * *").next_after(berlin)  # matched in UTC, returned in Berlin
    assert result == datetime(2024, 7, 1, 13, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    assert result is not None
    assert result.tzinfo is berlin.tzinfo


@pytest.mark.parametrize(
    ("time", "expected"),
    [
        ("2012-07-09 23:35", "2016-02-29 00:00"),
        ("2015-03-01 00:00", "2016-02-29 00:00"),
        ("2016-02-29 00:00", "2020-02-29 00:00"),
        ("2095-03-01 00:00", "2096-02-29 00:00"),
    ],
)
def test_leap_day(time: str, expected: str) -> None:
    assert parse("0 0 29 2 *").next_after(utc(time)) == utc(expected)


def test_leap_day_more_than_five_years_away_is_not_found() -> None:
    # 2100 is no leap year: 2096 -> 2104 is eight years, past robfig's five-year search
    assert parse("0 0 29 2 *").next_after(utc("2097-01-01 00:00")) is None


def test_leap_day_or_a_weekday() -> None:
    # Both day fields restricted: Feb 29 or any Monday in February.
    times = list(
        parse("0 0 29 2 MON").times_between(utc("2023-12-31 00:00"), utc("2024-12-31 00:00"))
    )
    assert [t.day for t in times] == [5, 12, 19, 26, 29]


def test_every_ignores_zones_and_drops_fractions() -> None:
    start = datetime(2024, 3, 10, 1, 30, 15, 999_999, tzinfo=NEW_YORK)
    result = parse("@every 1h").next_after(start, NEW_YORK)
    assert result == datetime(2024, 3, 10, 3, 30, 15, tzinfo=NEW_YORK)  # DST began at 02:00
    assert result is not None
    elapsed = result.astimezone(UTC) - start.replace(microsecond=0).astimezone(UTC)
    assert elapsed == timedelta(hours=1)


def test_next_after_is_strictly_after() -> None:
    schedule = parse("* * * * *")
    assert schedule.next_after(utc("2024-01-01 10:00")) == utc("2024-01-01 10:01")
    assert schedule.next_after(utc("2024-01-01 10:00:59")) == utc("2024-01-01 10:01")
    just_before = utc("2024-01-01 10:00") - timedelta(microseconds=1)
    assert schedule.next_after(just_before) == utc("2024-01-01 10:00")


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        parse("* * * * *").next_after(datetime(2024, 1, 1))  # noqa: DTZ001


def test_times_between() -> None:
    schedule = parse("*/15 * * * *")
    start, end = utc("2024-01-01 10:00"), utc("2024-01-01 11:00")
    assert list(schedule.times_between(start, end)) == [
        utc("2024-01-01 10:15"),
        utc("2024-01-01 10:30"),
        utc("2024-01-01 10:45"),
        utc("2024-01-01 11:00"),
    ]
    assert list(schedule.times_between(start, end, limit=2)) == [
        utc("2024-01-01 10:15"),
        utc("2024-01-01 10:30"),
    ]
    assert list(schedule.times_between(end, start)) == []
    assert list(parse("0 0 30 2 *").times_between(start, end + timedelta(days=3000))) == []


def test_times_between_counts_the_repeated_hour_twice() -> None:
    start = datetime(2024, 11, 3, 0, 0, tzinfo=NEW_YORK)
    times = list(parse("30 * * * *").times_between(start, start + timedelta(hours=5), NEW_YORK))
    assert [(t.hour, t.utcoffset()) for t in times][:3] == [
        (0, timedelta(hours=-4)),
        (1, timedelta(hours=-4)),
        (1, timedelta(hours=-5)),
    ]


def test_next_does_not_step_minute_by_minute_over_years() -> None:
    # A sparse schedule five years out answers in a few hundred field steps.
    assert parse("59 23 29 2 *").next_after(utc("2097-03-01 00:00")) is None
    assert parse("59 23 31 12 *").next_after(utc("2024-01-01 00:00")) == utc("2024-12-31 23:59")


# ---------------------------------------------------------------- missed schedules

TOP = utc("2016-05-19 10:00")  # Kubernetes' topOfTheHour(), a Thursday


@pytest.mark.parametrize(
    ("spec", "earliest", "now", "expected", "missed"),
    [
        # Kubernetes utils_test.go TestMostRecentScheduleTime
        ("0 * * * *", TOP, TOP + timedelta(seconds=30), None, 0),
        ("0 * * * *", TOP, TOP + timedelta(minutes=61), TOP + timedelta(minutes=60), 1),
        (
            "0 * * * *",
            TOP + timedelta(seconds=10),
            TOP + timedelta(minutes=301),
            TOP + timedelta(minutes=300),
            5,
        ),
        (
            "30 6-16/4 * * 1-5",
            TOP + timedelta(minutes=30),
            TOP + timedelta(hours=24, minutes=31),
            TOP + timedelta(hours=24, minutes=30),
            2,  # Kubernetes' estimate; three were missed
        ),
        (
            "30 6-16/4 * * 1-5",
            TOP + timedelta(minutes=30),
            TOP + timedelta(hours=96, minutes=31),
            TOP + timedelta(hours=96, minutes=30),
            6,
        ),
        (
            "@every 1h",
            TOP + timedelta(minutes=1),
            TOP + timedelta(days=7),
            TOP + timedelta(days=6, hours=23, minutes=1),
            167,
        ),
        ("*/5 * * * *", TOP + timedelta(minutes=30), TOP + timedelta(minutes=31), None, 0),
        ("0 * * * *", TOP, TOP + timedelta(hours=1), TOP + timedelta(hours=1), 1),  # now counts
    ],
)
def test_most_recent_missed(
    spec: str, earliest: datetime, now: datetime, expected: datetime | None, missed: int
) -> None:
    assert most_recent_missed(parse(spec), earliest, now) == (expected, missed)


def test_most_recent_missed_finds_the_latest_when_kubernetes_finds_none() -> None:
    # Kubernetes' "another complex schedule": it searches only the last hour-long
    # spacing before now and reports no time (with "few missed"); the latest
    # activation really was Friday 12:30.
    earliest, now = TOP + timedelta(minutes=30), TOP + timedelta(hours=30, minutes=30)
    latest, missed = most_recent_missed(parse("30 10,11,12 * * 1-5"), earliest, now)
    assert latest == utc("2016-05-20 12:30")
    assert missed == 30  # Kubernetes' estimate: 29 h since Thursday 11:30, one per hour
    assert missed <= MISSED_SCHEDULES_LIMIT


def test_most_recent_missed_over_a_weekend_gap() -> None:
    earliest = utc("2016-05-20 12:30")  # a Friday
    latest, _ = most_recent_missed(parse("* 9 * * 1-5"), earliest, utc("2016-05-25 08:00"))
    assert latest == utc("2016-05-24 09:59")


def test_too_many_missed() -> None:
    _, missed = most_recent_missed(parse("* * * * *"), TOP, TOP + timedelta(days=365))
    assert missed == 365 * 24 * 60 > MISSED_SCHEDULES_LIMIT


def test_most_recent_missed_in_a_zone() -> None:
    earliest = datetime(2024, 3, 9, 12, 0, tzinfo=NEW_YORK)
    now = datetime(2024, 3, 10, 12, 0, tzinfo=NEW_YORK)
    latest, missed = most_recent_missed(parse("30 2 * * *"), earliest, now, NEW_YORK)
    assert (latest, missed) == (None, 0)  # 02:30 does not exist on the 10th
    latest, missed = most_recent_missed(parse("0 */6 * * *"), earliest, now, NEW_YORK)
    assert latest == datetime(2024, 3, 10, 12, 0, tzinfo=NEW_YORK)


@pytest.mark.parametrize("spec", ["59 23 31 2 *", "0 0 30 2 *"])
def test_schedules_that_never_fire_are_invalid_to_the_controller(spec: str) -> None:
    with pytest.raises(ValidationError, match="does not fire in the five years after"):
        most_recent_missed(parse(spec), TOP, TOP + timedelta(hours=1))


# ---------------------------------------------------------------- properties


class Spec(NamedTuple):
    """What a generated schedule must mean, worked out while generating its text."""

    text: str
    fields: tuple[frozenset[int], ...]  # minute, hour, day of month, month, day of week
    dom_star: bool
    dow_star: bool

    def matches(self, wall: datetime) -> bool:
        minute, hour, days, months, weekdays = self.fields
        if wall.minute not in minute or wall.hour not in hour or wall.month not in months:
            return False
        dom, dow = wall.day in days, wall.isoweekday() % 7 in weekdays
        return (dom and dow) if self.dom_star or self.dow_star else (dom or dow)


MONTH_NAMES = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
DAY_NAMES = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]
BOUNDS = [(0, 59, []), (0, 23, []), (1, 31, []), (1, 12, MONTH_NAMES), (0, 6, DAY_NAMES)]


@st.composite
def items(draw: st.DrawFn, low: int, high: int, names: list[str]) -> tuple[str, set[int], bool]:
    """One list item: its text, the values it allows and whether it sets the star."""

    def value(lowest: int = low) -> tuple[int, str]:
        number = draw(st.integers(lowest, high))
        if names and draw(st.booleans()) is True:
            name = names[number - low]
            return number, draw(st.sampled_from([name, name.lower(), name.title()]))
        return number, str(number)

    kind = draw(st.sampled_from(["star", "value", "range", "star/step", "range/step", "n/step"]))
    step = draw(st.integers(1, high - low + 2))
    if kind == "star":
        return draw(st.sampled_from("*?")), set(range(low, high + 1)), True
    if kind == "star/step":
        return f"*/{step}", set(range(low, high + 1, step)), step == 1
    first, first_text = value()
    if kind == "value":
        return first_text, {first}, False
    if kind == "n/step":
        return f"{first_text}/{step}", set(range(first, high + 1, step)), False
    last, last_text = value(first)
    if kind == "range":
        return f"{first_text}-{last_text}", set(range(first, last + 1)), False
    return f"{first_text}-{last_text}/{step}", set(range(first, last + 1, step)), False


@st.composite
def specs(draw: st.DrawFn) -> Spec:
    texts, fields, stars = [], [], []
    for index, (low, high, names) in enumerate(BOUNDS):
        # Leave months and days open more often so that most schedules fire within days.
        if index >= 2 and draw(st.integers(0, 2)):
            texts.append("*")
            fields.append(frozenset(range(low, high + 1)))
            stars.append(True)
            continue
        parts = draw(st.lists(items(low, high, names), min_size=1, max_size=3))
        texts.append(",".join(text for text, _, _ in parts))
        fields.append(frozenset().union(*(values for _, values, _ in parts)))
        stars.append(any(star for _, _, star in parts))
    return Spec(" ".join(texts), tuple(fields), stars[2], stars[4])


def minutes_after(t: datetime, count: int) -> Iterator[datetime]:
    """Every whole minute strictly after ``t``, in UTC.

    Kept in UTC on purpose: Python compares an ambiguous wall time (01:30 on a
    fall-back day) with a time in another zone as never equal.
    """
    first = t.astimezone(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
    for index in range(count):
        yield first + timedelta(minutes=index)


WINDOW = 8 * 24 * 60  # minutes the reference scans


def reference_next(spec: Spec, t: datetime, tz: tzinfo) -> datetime | None:
    """The first minute after ``t`` whose wall clock in ``tz`` matches, in UTC."""
    return next((m for m in minutes_after(t, WINDOW) if spec.matches(m.astimezone(tz))), None)


moments = st.datetimes(
    min_value=datetime(2000, 1, 1),  # noqa: DTZ001
    max_value=datetime(2040, 12, 31),  # noqa: DTZ001
    timezones=st.just(UTC),
)


@settings(max_examples=300, deadline=None)
@given(spec=specs())
def test_parse_agrees_with_the_rules(spec: Spec) -> None:
    schedule = parse(spec.text)
    assert (
        schedule.minutes,
        schedule.hours,
        schedule.days_of_month,
        schedule.months,
        schedule.days_of_week,
    ) == spec.fields
    assert (schedule.day_of_month_star, schedule.day_of_week_star) == (spec.dom_star, spec.dow_star)


@settings(max_examples=150, deadline=None)
@given(spec=specs(), t=moments)
def test_next_after_is_the_first_match_in_utc(spec: Spec, t: datetime) -> None:
    found = parse(spec.text).next_after(t)
    expected = reference_next(spec, t, UTC)
    if expected is not None:
        assert found == expected  # later than t, matching, and nothing skipped before it
    else:
        assert found is None or found > t + timedelta(minutes=WINDOW)


dst_moments = st.sampled_from(
    [datetime(2012, 3, 9), datetime(2012, 11, 2), datetime(2024, 3, 8), datetime(2024, 11, 1)]  # noqa: DTZ001
).flatmap(
    lambda day: st.integers(0, 4 * 24 * 3600).map(
        lambda s: (day.replace(tzinfo=NEW_YORK) + timedelta(seconds=s)).astimezone(UTC)
    )
)


@settings(max_examples=100, deadline=None)
@given(spec=specs(), t=dst_moments)
def test_next_after_is_the_first_match_across_dst(spec: Spec, t: datetime) -> None:
    # In New York (changes at 02:00, never at midnight) robfig's answer is the first
    # instant whose wall clock matches: skipped wall times never fire, repeated ones
    # may fire twice.
    found = parse(spec.text).next_after(t, NEW_YORK)
    expected = reference_next(spec, t, NEW_YORK)
    if expected is not None:
        assert found is not None
        assert found.astimezone(UTC) == expected
        assert spec.matches(found.astimezone(NEW_YORK))
    else:
        assert found is None or found > t + timedelta(minutes=WINDOW)


@settings(max_examples=60, deadline=None)
@given(spec=specs(), t=moments, hours=st.integers(1, 72))
def test_times_between_lists_every_match(spec: Spec, t: datetime, hours: int) -> None:
    end = t + timedelta(hours=hours)
    expected = [m for m in minutes_after(t, hours * 60) if m <= end and spec.matches(m)]
    assert list(parse(spec.text).times_between(t, end)) == expected


@settings(max_examples=60, deadline=None)
@given(spec=specs(), earliest=moments, hours=st.integers(0, 72), extra_s=st.integers(0, 59))
def test_most_recent_missed_agrees_with_a_scan(
    spec: Spec, earliest: datetime, hours: int, extra_s: int
) -> None:
    now = earliest + timedelta(hours=hours, seconds=extra_s)
    schedule = parse(spec.text)
    passed = [m for m in minutes_after(earliest, hours * 60 + 1) if m <= now and spec.matches(m)]
    if not passed and schedule.next_after(earliest) is None:
        return  # never fires: covered by test_schedules_that_never_fire_are_invalid_...
    latest, missed = most_recent_missed(schedule, earliest, now)
    assert latest == (passed[-1] if passed else None)
    if len(passed) <= 1:
        assert missed == len(passed)
    else:  # Kubernetes' estimate from the spacing of the first two
        spacing = (passed[1] - passed[0]) // timedelta(seconds=1)
        assert missed == (now - passed[0]) // timedelta(seconds=1) // spacing + 1


@settings(max_examples=50, deadline=None)
@given(
    step=st.sampled_from([1, 2, 3, 5, 10, 15, 20, 30]),
    earliest=moments,
    minutes=st.integers(0, 3000),
)
def test_missed_count_is_exact_for_evenly_spaced_schedules(
    step: int, earliest: datetime, minutes: int
) -> None:
    now = earliest + timedelta(minutes=minutes)
    schedule = parse(f"*/{step} * * * *")
    expected = list(schedule.times_between(earliest, now))
    assert most_recent_missed(schedule, earliest, now) == (
        expected[-1] if expected else None,
        len(expected),
    )
