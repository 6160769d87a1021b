"""Deadline rules of docs/deadlines.md: hand-checked cases, then properties (hypothesis).

Every expected deadline below was worked out by hand from a wall calendar; the
code under test computes none of them.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sopgen.businesstime import BusinessCalendar
from sopgen.model import BusinessHours, Config
from sopgen.timeframe import Kind, Timeframe, parse

BERLIN_ZONE = ZoneInfo("Europe/Berlin")
MON_FRI = frozenset(range(5))


BERLIN_CONFIG = Config(
    company="Acme Retail GmbH",
    timezone="Europe/Berlin",
    business_hours=BusinessHours(MON_FRI, time(9), time(17)),
    holiday_country="DE",
    holiday_subdivision="BE",
    closed=frozenset({date(2026, 12, 24), date(2026, 12, 31)}),
    roles={"cs-rep": "Customer Service Representative"},
)


def config(**changes: Any) -> Config:
    return replace(BERLIN_CONFIG, **changes)


BERLIN = BusinessCalendar.from_config(config())
LOS_ANGELES = BusinessCalendar.from_config(
    config(
        timezone="America/Los_Angeles",
        business_hours=BusinessHours(MON_FRI, time(8), time(17)),
        holiday_country=None,
        holiday_subdivision=None,
        closed=frozenset(),
    )
)
KOLKATA = BusinessCalendar(ZoneInfo("Asia/Kolkata"), range(6), time(10), time(18, 30))
AUCKLAND = BusinessCalendar.from_config(
    config(
        timezone="Pacific/Auckland",
        business_hours=BusinessHours(MON_FRI, time(8, 30), time(17)),
        holiday_country="NZ",
        holiday_subdivision=None,
        closed=frozenset(),
    )
)
BERLIN_NO_HOLIDAYS = BusinessCalendar(BERLIN_ZONE, MON_FRI, time(9), time(17))

CALENDARS = {
    "berlin": BERLIN,
    "la": LOS_ANGELES,
    "kolkata": KOLKATA,
    "auckland": AUCKLAND,
    "plain": BERLIN_NO_HOLIDAYS,
}

# Hand-checked deadlines: one table per calendar; columns: id | anchor | within | deadline.
TABLES = {
    "berlin": """
# the worked examples of docs/deadlines.md (Fri 2026-11-20 18:05, Berlin)
fri-evening-1bd        | 2026-11-20 18:05+01:00 | 1 business day          | 2026-11-24 17:00+01:00
fri-evening-immediate  | 2026-11-20 18:05+01:00 | Immediate               | 2026-11-23 09:00+01:00
mon-10-5bd             | 2026-11-23 10:00+01:00 | 5 business days         | 2026-11-30 17:00+01:00
mon-17-2bd-after       | 2026-11-23 17:00+01:00 | 2 business days after x | 2026-11-25 17:00+01:00
seed-within-5bd        | 2026-11-23 10:00+01:00 | Within 5 business days  | 2026-11-30 17:00+01:00
# day 0
at-closing-is-day-0    | 2026-11-24 17:00+01:00 | 1 business day          | 2026-11-25 17:00+01:00
second-after-closing   | 2026-11-24 17:00:01+01:00 | 1 business day       | 2026-11-26 17:00+01:00
before-opening-day-0   | 2026-11-24 07:00+01:00 | 1 business day          | 2026-11-25 17:00+01:00
saturday               | 2026-11-21 11:00+01:00 | 1 business day          | 2026-11-24 17:00+01:00
anchor-in-utc          | 2026-11-24 16:30+00:00 | 1 business day          | 2026-11-26 17:00+01:00
# closures 24th and 31st; holidays 25th, 26th, 1 Jan, Good Friday, 8 March (Berlin only)
pre-christmas-1bd      | 2026-12-23 10:00+01:00 | 1 business day          | 2026-12-28 17:00+01:00
pre-christmas-3bd      | 2026-12-23 10:00+01:00 | 3 business days         | 2026-12-30 17:00+01:00
into-next-year         | 2026-12-23 10:00+01:00 | 4 business days         | 2027-01-04 17:00+01:00
on-christmas-1bd       | 2026-12-25 11:00+01:00 | 1 business day          | 2026-12-29 17:00+01:00
on-christmas-immediate | 2026-12-25 11:00+01:00 | Immediate               | 2026-12-28 09:00+01:00
on-closure-immediate   | 2026-12-24 10:00+01:00 | Immediate               | 2026-12-28 09:00+01:00
on-closure-31st        | 2026-12-31 10:00+01:00 | 1 business day          | 2027-01-05 17:00+01:00
good-friday            | 2026-04-03 10:00+02:00 | 1 business day          | 2026-04-08 17:00+02:00
womens-day-monday      | 2027-03-05 10:00+01:00 | 1 business day          | 2027-03-09 17:00+01:00
christmas-2040         | 2040-12-24 10:00+01:00 | 1 business day          | 2040-12-27 17:00+01:00
# business hours
1630-2bh               | 2026-11-24 16:30+01:00 | 2 business hours        | 2026-11-25 10:30+01:00
friday-1630-2bh        | 2026-11-20 16:30+01:00 | 2 business hours        | 2026-11-23 10:30+01:00
closing-1bh            | 2026-11-24 17:00+01:00 | 1 business hour         | 2026-11-25 10:00+01:00
before-opening-8bh     | 2026-11-24 07:00+01:00 | 8 business hours        | 2026-11-24 17:00+01:00
opening-16bh           | 2026-11-23 09:00+01:00 | 16 business hours       | 2026-11-24 17:00+01:00
christmas-4bh          | 2026-12-23 16:00+01:00 | 4 business hours        | 2026-12-28 12:00+01:00
# Immediate
immediate-inside       | 2026-11-24 11:15+01:00 | Immediate               | 2026-11-24 11:15+01:00
immediate-at-closing   | 2026-11-24 17:00+01:00 | Immediate               | 2026-11-24 17:00+01:00
immediate-pre-opening  | 2026-11-24 07:00+01:00 | Immediate               | 2026-11-24 09:00+01:00
immediate-utc-anchor   | 2026-11-24 10:15+00:00 | Immediate               | 2026-11-24 11:15+01:00
# elapsed and calendar time
1-hour                 | 2026-11-20 18:05+01:00 | 1 hour                  | 2026-11-20 19:05+01:00
90-minutes             | 2026-11-20 23:00+01:00 | 90 minutes              | 2026-11-21 00:30+01:00
3-days                 | 2026-11-20 18:05+01:00 | 3 days                  | 2026-11-23 18:05+01:00
# spring change 2026-03-29: 02:00 CET -> 03:00 CEST
spring-24-hours        | 2026-03-28 12:00+01:00 | 24 hours                | 2026-03-29 13:00+02:00
spring-1-day           | 2026-03-28 12:00+01:00 | 1 day                   | 2026-03-29 12:00+02:00
spring-1-day-to-gap    | 2026-03-28 02:30+01:00 | 1 day                   | 2026-03-29 03:00+02:00
spring-1-hour-jump     | 2026-03-29 01:30+01:00 | 1 hour                  | 2026-03-29 03:30+02:00
spring-1-week          | 2026-03-25 10:00+01:00 | 1 week                  | 2026-04-01 10:00+02:00
spring-1bd             | 2026-03-27 10:00+01:00 | 1 business day          | 2026-03-30 17:00+02:00
spring-2bh             | 2026-03-27 16:00+01:00 | 2 business hours        | 2026-03-30 10:00+02:00
# autumn change 2026-10-25: 03:00 CEST -> 02:00 CET
autumn-24-hours        | 2026-10-24 12:00+02:00 | 24 hours                | 2026-10-25 11:00+01:00
autumn-48-hours        | 2026-10-24 09:00+02:00 | 48 hours                | 2026-10-26 08:00+01:00
autumn-1-day           | 2026-10-24 12:00+02:00 | 1 day                   | 2026-10-25 12:00+01:00
autumn-1-day-to-fold   | 2026-10-24 02:30+02:00 | 1 day                   | 2026-10-25 02:30+02:00
autumn-1-hour-in-fold  | 2026-10-25 02:30+02:00 | 1 hour                  | 2026-10-25 02:30+01:00
autumn-1bd             | 2026-10-23 12:00+02:00 | 1 business day          | 2026-10-26 17:00+01:00
    """,
    "plain": """
# Berlin zone and hours, no holidays, no closures
no-closure-on-24th     | 2026-12-23 10:00+01:00 | 1 business day          | 2026-12-24 17:00+01:00
# the largest timeframe the grammar allows: 2000 weeks; 1250 days of 8 hours
10000-business-days    | 2026-11-23 10:00+01:00 | 10000 business days     | 2065-03-23 17:00+01:00
10000-business-hours   | 2026-11-23 09:00+01:00 | 10000 business hours    | 2031-09-05 17:00+02:00
    """,
    "la": """
# Los Angeles, Mon-Fri 08:00-17:00; clocks change 2026-03-08 and 2026-11-01
berlin-anchor-1bd      | 2026-11-24 01:00+01:00 | 1 business day          | 2026-11-24 17:00-08:00
berlin-anchor-now      | 2026-11-24 01:00+01:00 | Immediate               | 2026-11-23 16:00-08:00
autumn-24-hours        | 2026-10-31 12:00-07:00 | 24 hours                | 2026-11-01 11:00-08:00
autumn-1-day           | 2026-10-31 12:00-07:00 | 1 day                   | 2026-11-01 12:00-08:00
spring-1-day-to-gap    | 2026-03-07 02:30-08:00 | 1 day                   | 2026-03-08 03:00-07:00
    """,
    "kolkata": """
# Kolkata, Mon-Sat 10:00-18:30, UTC+05:30: 20:00 UTC Friday is Saturday 01:30
utc-friday-1bd         | 2026-11-20 20:00+00:00 | 1 business day          | 2026-11-23 18:30+05:30
saturday-1bh           | 2026-11-21 18:00+05:30 | 1 business hour         | 2026-11-23 10:30+05:30
    """,
    "auckland": """
# Auckland, Mon-Fri 08:30-17:00, NZ holidays; Friday 18:05 Berlin is Saturday 06:05 there
berlin-friday-1bd      | 2026-11-20 18:05+01:00 | 1 business day          | 2026-11-24 17:00+13:00
berlin-friday-now      | 2026-11-20 18:05+01:00 | Immediate               | 2026-11-23 08:30+13:00
labour-day-monday      | 2026-10-23 17:30+13:00 | 1 business day          | 2026-10-28 17:00+13:00
dst-end-24-hours       | 2026-04-04 12:00+13:00 | 24 hours                | 2026-04-05 11:00+12:00
    """,
}


def table_cases() -> list[object]:
    cases: list[object] = []
    for calendar, table in TABLES.items():
        for line in table.strip().splitlines():
            if not line.strip().startswith("#"):
                name, anchor, within, expected = (cell.strip() for cell in line.split("|"))
                cases.append(
                    pytest.param(calendar, anchor, within, expected, id=f"{calendar}-{name}")
                )
    return cases


@pytest.mark.parametrize(("calendar", "anchor", "within", "expected"), table_cases())
def test_deadline(calendar: str, anchor: str, within: str, expected: str) -> None:
    cal = CALENDARS[calendar]
    due = cal.deadline(datetime.fromisoformat(anchor), parse(within))
    want = datetime.fromisoformat(expected)
    # same instant and offset (compared in UTC: Python never finds a time in a repeated
    # hour equal to one in another tzinfo)
    assert (due.astimezone(UTC), due.utcoffset()) == (want.astimezone(UTC), want.utcoffset())
    assert due.tzinfo is cal.zone


def test_naive_anchor_is_refused() -> None:
    with pytest.raises(ValueError, match="no UTC offset"):
        BERLIN.deadline(datetime(2026, 11, 23, 10), parse("1 business day"))


def test_localize_in_a_zone_whose_winter_offset_is_zero() -> None:
    london = BusinessCalendar(ZoneInfo("Europe/London"), MON_FRI, time(9), time(17))
    assert london.localize(datetime(2026, 3, 29, 1, 30)).isoformat() == "2026-03-29T02:00:00+01:00"
    assert london.localize(datetime(2026, 10, 25, 1, 30)).isoformat() == "2026-10-25T01:30:00+01:00"


def test_a_day_the_zone_skipped_entirely() -> None:
    # Samoa skipped Friday 2011-12-30: 1 day after Thursday 10:00 is when the clocks jumped
    apia = BusinessCalendar(ZoneInfo("Pacific/Apia"), MON_FRI, time(9), time(17))
    due = apia.deadline(datetime.fromisoformat("2011-12-29T10:00-10:00"), parse("1 day"))
    assert due.isoformat() == "2011-12-31T00:00:00+14:00"


def test_localize_reads_naive_times_in_the_company_zone() -> None:
    assert BERLIN.localize(datetime(2026, 11, 20, 18, 5)).isoformat() == "2026-11-20T18:05:00+01:00"
    assert BERLIN.localize(datetime(2026, 3, 29, 2, 30)).isoformat() == "2026-03-29T03:00:00+02:00"
    assert BERLIN.localize(datetime(2026, 10, 25, 2, 30)).isoformat() == "2026-10-25T02:30:00+02:00"
    aware = datetime(2026, 11, 20, 17, 5, tzinfo=UTC)
    assert BERLIN.localize(aware).isoformat() == "2026-11-20T18:05:00+01:00"


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 12, 23), True),
        (date(2026, 12, 24), False),  # closure
        (date(2026, 12, 25), False),  # holiday
        (date(2026, 11, 21), False),  # Saturday
        (date(2027, 3, 8), False),  # Berlin only: International Women's Day
        (date(2027, 1, 4), True),
    ],
)
def test_is_business_day(day: date, expected: bool) -> None:
    assert BERLIN.is_business_day(day) is expected


def test_womens_day_is_a_business_day_outside_berlin() -> None:
    hamburg = BusinessCalendar.from_config(config(holiday_subdivision="HH"))
    assert hamburg.is_business_day(date(2027, 3, 8))


def test_without_a_country_only_closures_count() -> None:
    cal = BusinessCalendar.from_config(config(holiday_country=None, holiday_subdivision=None))
    assert cal.is_business_day(date(2026, 12, 25))
    assert not cal.is_business_day(date(2026, 12, 24))


def test_opening_hours() -> None:
    assert BERLIN.opening_hours(date(2026, 12, 24)) is None
    hours = BERLIN.opening_hours(date(2026, 3, 30))
    assert hours is not None
    assert (hours[0].isoformat(), hours[1].isoformat()) == (
        "2026-03-30T09:00:00+02:00",
        "2026-03-30T17:00:00+02:00",
    )


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        ("2026-11-24T09:00+01:00", "2026-11-24T09:00:00+01:00"),  # at opening: that opening
        ("2026-11-24T09:00:01+01:00", "2026-11-25T09:00:00+01:00"),
        ("2026-12-23T18:00+01:00", "2026-12-28T09:00:00+01:00"),
    ],
)
def test_next_opening(moment: str, expected: str) -> None:
    assert BERLIN.next_opening(datetime.fromisoformat(moment)).isoformat() == expected


def test_calendar_without_workdays_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one working weekday"):
        BusinessCalendar(BERLIN_ZONE, [], time(9), time(17))


def test_closing_before_opening_is_refused() -> None:
    with pytest.raises(ValueError, match="not after opening"):
        BusinessCalendar(BERLIN_ZONE, MON_FRI, time(17), time(9))


def every_day_of(year: int) -> list[date]:
    first = date(year, 1, 1)
    return [first + timedelta(days=i) for i in range((date(year + 1, 1, 1) - first).days)]


@pytest.mark.parametrize("within", ["1 business day", "1 business hour", "Immediate"])
def test_calendar_closed_every_day_raises_instead_of_looping(within: str) -> None:
    closed_always = BusinessCalendar(BERLIN_ZONE, MON_FRI, time(9), time(17), holidays=every_day_of)
    with pytest.raises(ValueError, match="no business day in 10 years"):
        closed_always.deadline(datetime(2026, 1, 5, 10, tzinfo=BERLIN_ZONE), parse(within))


def test_deadline_beyond_year_9999_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="9999"):
        BERLIN.deadline(datetime(9999, 12, 1, tzinfo=UTC), parse("10000 days"))


# --------------------------------------------------------------------------- properties

NEW_YORK = BusinessCalendar.from_config(
    config(
        timezone="America/New_York",
        holiday_country="US",
        holiday_subdivision="NY",
        closed=frozenset(),
    )
)
ROUND_THE_CLOCK = BusinessCalendar(BERLIN_ZONE, range(7), time(0), time(23, 59))
PROPERTY_CALENDARS = [BERLIN, NEW_YORK, AUCKLAND, KOLKATA, ROUND_THE_CLOCK]

YEARS = range(2024, 2040)
CLOSED_DAYS = {
    id(BERLIN): set(holidays.country_holidays("DE", subdiv="BE", years=YEARS))
    | {date(2026, 12, 24), date(2026, 12, 31)},
    id(NEW_YORK): set(holidays.country_holidays("US", subdiv="NY", years=YEARS)),
    id(AUCKLAND): set(holidays.country_holidays("NZ", years=YEARS)),
    id(KOLKATA): set(),
    id(ROUND_THE_CLOCK): set(),
}

ANCHOR_ZONES = [
    UTC,
    BERLIN_ZONE,
    ZoneInfo("America/New_York"),
    ZoneInfo("Asia/Kolkata"),
    ZoneInfo("Pacific/Auckland"),
]
anchors = st.datetimes(
    min_value=datetime(2025, 1, 1),
    max_value=datetime(2028, 12, 31),
    timezones=st.sampled_from(ANCHOR_ZONES),
)
calendars = st.sampled_from(PROPERTY_CALENDARS)

AMOUNTS = {
    Kind.ELAPSED: [("minute", 1, 600), ("hour", 1, 200)],
    Kind.CALENDAR: [("day", 1, 60), ("week", 1, 10)],
    Kind.BUSINESS_HOURS: [("hour", 1, 200)],
    Kind.BUSINESS_DAYS: [("day", 1, 60)],
}


@st.composite
def timeframes(draw: st.DrawFn, kinds: tuple[Kind, ...] = tuple(Kind)) -> Timeframe:
    kind = draw(st.sampled_from(kinds))
    if kind is Kind.IMMEDIATE:
        return Timeframe(Kind.IMMEDIATE, text="Immediate")
    unit, low, high = draw(st.sampled_from(AMOUNTS[kind]))
    return Timeframe(kind, draw(st.integers(low, high)), unit, text=f"{kind} {unit}")


def utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def in_repeated_hour(moment: datetime, zone: ZoneInfo) -> bool:
    local = moment.astimezone(zone)
    return local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset()


def is_business_day(cal: BusinessCalendar, day: date) -> bool:
    return day.weekday() in cal.workdays and day not in CLOSED_DAYS[id(cal)]


PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(calendars, anchors, timeframes(), st.floats(0.05, 1.0))
def test_a_due_soon_mark_from_a_given_deadline_is_the_one_computed_afresh(
    cal: BusinessCalendar, anchor: datetime, tf: Timeframe, share: float
) -> None:
    """A planned step hands its deadline to held_deadline (saving a second walk of the
    calendar); the mark is the same, and never after the deadline."""
    due = cal.deadline(anchor, tf)
    mark = cal.held_deadline(anchor, tf, (), share, nominal=due)
    assert mark == cal.held_deadline(anchor, tf, (), share)
    assert utc(anchor) <= utc(mark) <= utc(due) and mark.tzinfo is cal.zone


@PROPERTY
@given(calendars, anchors, timeframes())
def test_deadline_is_aware_in_company_zone_and_never_before_anchor(
    cal: BusinessCalendar, anchor: datetime, tf: Timeframe
) -> None:
    due = cal.deadline(anchor, tf)
    assert due.tzinfo is cal.zone
    assert utc(due) >= utc(anchor)


@PROPERTY
@given(calendars, anchors, st.timedeltas(timedelta(0), timedelta(days=10)), timeframes())
def test_later_anchor_never_gives_earlier_deadline(
    cal: BusinessCalendar, anchor: datetime, delay: timedelta, tf: Timeframe
) -> None:
    later = utc(anchor) + delay
    if tf.kind is Kind.CALENDAR and (
        in_repeated_hour(anchor, cal.zone) or in_repeated_hour(later, cal.zone)
    ):
        return  # documented exception: wall-clock rule inside a repeated hour
    assert utc(cal.deadline(later, tf)) >= utc(cal.deadline(anchor, tf))


@PROPERTY
@given(calendars, anchors, timeframes(tuple(k for k in Kind if k is not Kind.IMMEDIATE)))
def test_more_time_never_gives_earlier_deadline(
    cal: BusinessCalendar, anchor: datetime, tf: Timeframe
) -> None:
    more = Timeframe(tf.kind, tf.amount + 1, tf.unit)
    assert utc(cal.deadline(anchor, more)) > utc(cal.deadline(anchor, tf))


@PROPERTY
@given(calendars, anchors, timeframes((Kind.BUSINESS_HOURS, Kind.BUSINESS_DAYS)))
def test_business_deadline_falls_in_business_hours_of_a_business_day(
    cal: BusinessCalendar, anchor: datetime, tf: Timeframe
) -> None:
    due = cal.deadline(anchor, tf)
    assert is_business_day(cal, due.date())
    if tf.kind is Kind.BUSINESS_DAYS:
        assert due.time() == cal.closes
        assert due.date() > anchor.astimezone(cal.zone).date()
    else:
        assert cal.opens < due.time() <= cal.closes


def inside_hours(cal: BusinessCalendar, moment: datetime) -> bool:
    local = moment.astimezone(cal.zone)
    return is_business_day(cal, local.date()) and cal.opens <= local.time() <= cal.closes


@PROPERTY
@given(calendars, anchors)
def test_immediate_is_the_anchor_inside_hours_else_the_next_opening(
    cal: BusinessCalendar, anchor: datetime
) -> None:
    due = cal.deadline(anchor, Timeframe(Kind.IMMEDIATE))
    if inside_hours(cal, anchor):
        assert utc(due) == utc(anchor)
    else:
        assert utc(due) > utc(anchor)
        assert is_business_day(cal, due.date()) and due.time() == cal.opens
        # no business day opened in between
        day = anchor.astimezone(cal.zone).date()
        while day < due.date():
            opening = datetime.combine(day, cal.opens, tzinfo=cal.zone)
            assert not (is_business_day(cal, day) and utc(anchor) < utc(opening))
            day += timedelta(days=1)


# anchors within three days of a DST change (UTC instants of the changes)
DST_CHANGES = {
    "Europe/Berlin": [
        "2025-03-30T01:00Z", "2025-10-26T01:00Z", "2026-03-29T01:00Z", "2026-10-25T01:00Z",
        "2027-03-28T01:00Z", "2027-10-31T01:00Z", "2028-03-26T01:00Z", "2028-10-29T01:00Z",
    ],
    "America/New_York": [
        "2025-03-09T07:00Z", "2025-11-02T06:00Z", "2026-03-08T07:00Z", "2026-11-01T06:00Z",
        "2027-03-14T07:00Z", "2027-11-07T06:00Z", "2028-03-12T07:00Z", "2028-11-05T06:00Z",
    ],
}  # fmt: skip
DST_CALENDARS = {"Europe/Berlin": BERLIN, "America/New_York": NEW_YORK}


@st.composite
def near_dst_change(draw: st.DrawFn) -> tuple[BusinessCalendar, datetime]:
    zone = draw(st.sampled_from(sorted(DST_CHANGES)))
    change = datetime.fromisoformat(draw(st.sampled_from(DST_CHANGES[zone])))
    offset = draw(st.integers(-3 * 86400, 3 * 86400))
    anchor_zone = draw(st.sampled_from([UTC, ZoneInfo(zone)]))
    return DST_CALENDARS[zone], (change + timedelta(seconds=offset)).astimezone(anchor_zone)


@PROPERTY
@given(near_dst_change(), timeframes((Kind.ELAPSED,)))
def test_elapsed_time_is_exact_across_dst_changes(
    case: tuple[BusinessCalendar, datetime], tf: Timeframe
) -> None:
    cal, anchor = case
    due = cal.deadline(anchor, tf)
    assert utc(due) - utc(anchor) == timedelta(
        seconds=tf.amount * (60 if tf.unit == "minute" else 3600)
    )
    assert due.utcoffset() == utc(due).astimezone(cal.zone).utcoffset()


@PROPERTY
@given(near_dst_change(), st.integers(1, 5))
def test_days_keep_the_wall_clock_across_dst_changes(
    case: tuple[BusinessCalendar, datetime], days: int
) -> None:
    cal, anchor = case
    wall = anchor.astimezone(cal.zone).replace(tzinfo=None) + timedelta(days=days)
    due = cal.deadline(anchor, Timeframe(Kind.CALENDAR, days, "day"))
    exists = (
        wall.replace(tzinfo=cal.zone).astimezone(UTC).astimezone(cal.zone).replace(tzinfo=None)
        == wall
    )
    if exists:
        assert due.replace(tzinfo=None) == wall
    else:  # skipped by the spring change: the moment the clocks jump
        assert due.date() == wall.date() and due.replace(tzinfo=None) > wall
        assert (utc(due) - timedelta(seconds=1)).astimezone(cal.zone).utcoffset() != due.utcoffset()


@PROPERTY
@given(calendars, anchors, timeframes((Kind.BUSINESS_DAYS,)), st.booleans())
def test_business_days_are_counted_day_by_day(
    cal: BusinessCalendar, anchor: datetime, tf: Timeframe, at_closing: bool
) -> None:
    """The rule of the module docstring, walked a day at a time from the zone and the
    holiday list alone: day 0 is the anchor's date when it is a business day and the
    anchor is not after its closing time (`at_closing`: exactly then), else the next
    business day."""
    day = anchor.astimezone(cal.zone).date()
    if at_closing:
        anchor = datetime.combine(day, cal.closes, tzinfo=cal.zone)
    closing = datetime.combine(day, cal.closes, tzinfo=cal.zone)
    if not (is_business_day(cal, day) and utc(anchor) <= utc(closing)):
        day += timedelta(days=1)
        while not is_business_day(cal, day):
            day += timedelta(days=1)
    for _ in range(tf.amount):
        day += timedelta(days=1)
        while not is_business_day(cal, day):
            day += timedelta(days=1)
    expected = datetime.combine(day, cal.closes, tzinfo=cal.zone)
    assert utc(cal.deadline(anchor, tf)) == utc(expected)


def same_calendar(cal: BusinessCalendar) -> BusinessCalendar:
    """A new calendar like `cal` (its closed days of YEARS), that has worked out nothing yet."""
    closed = CLOSED_DAYS[id(cal)]
    return BusinessCalendar(
        cal.zone,
        cal.workdays,
        cal.opens,
        cal.closes,
        holidays=lambda year: {d for d in closed if d.year == year},
    )


@PROPERTY
@given(
    calendars,
    anchors,
    st.datetimes(
        min_value=datetime(2024, 1, 2), max_value=datetime(2039, 6, 30), timezones=st.just(UTC)
    ),
    timeframes(),
    st.timedeltas(timedelta(0), timedelta(days=400)),
)
def test_a_calendar_answers_alike_whatever_it_was_asked_before(
    cal: BusinessCalendar, anchor: datetime, before: datetime, tf: Timeframe, length: timedelta
) -> None:
    """The calendar keeps the opening hours it has worked out as one run of days in order
    and grows it in either direction when asked about another year: one first asked
    about `before` (years earlier or later), or told to cover the years around it, answers
    as one asked about nothing else."""
    asked = same_calendar(cal)
    asked.business_time(before, before + timedelta(days=1))
    asked.deadline(before, Timeframe(Kind.BUSINESS_DAYS, 3, "day"))
    asked.cover(before.year - 1, before.year + 1)  # as the desk does as it starts
    fresh = same_calendar(cal)
    assert utc(asked.deadline(anchor, tf)) == utc(fresh.deadline(anchor, tf))
    end = anchor + length
    assert asked.business_time(anchor, end) == fresh.business_time(anchor, end)
    hold = [(utc(anchor) + length / 3, utc(anchor) + length / 2)]
    assert utc(asked.held_deadline(anchor, tf, hold)) == utc(fresh.held_deadline(anchor, tf, hold))


def test_a_deadline_long_before_the_kept_years_leaves_them_as_they_were() -> None:
    """A desk keeps the opening hours of last year to next year. A case received long
    before (a reviewer tried the year 1000: 5 s and 150 MB kept for good) is worked out
    from its own years, not by growing the kept run all the way back to it."""
    cal = BusinessCalendar(BERLIN_ZONE, MON_FRI, time(9), time(17))
    cal.cover(2025, 2027)
    kept = cal._span
    old = cal.deadline(datetime(1990, 3, 1, 10, tzinfo=BERLIN_ZONE), parse("5 business days"))
    assert cal._span is kept
    fresh = BusinessCalendar(BERLIN_ZONE, MON_FRI, time(9), time(17))
    assert old == fresh.deadline(
        datetime(1990, 3, 1, 10, tzinfo=BERLIN_ZONE), parse("5 business days")
    )
