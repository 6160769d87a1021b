"""Holds stop a case's clock (docs/deadlines.md "Holds"): hand-checked cases, then properties.

Every expected deadline below was worked out by hand from a wall calendar (the
working is in the comment of each row); the code under test computes none of them.
Calendars: Mon–Fri 09:00–17:00 in Berlin (public holidays of DE-BE, closed
2026-12-24 and 2026-12-31) and in New York (public holidays of US-NY).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sopgen.businesstime import BusinessCalendar, public_holidays
from sopgen.timeframe import Kind, Timeframe, parse

BERLIN = BusinessCalendar(
    ZoneInfo("Europe/Berlin"),
    range(5),
    time(9),
    time(17),
    closed=[date(2026, 12, 24), date(2026, 12, 31)],
    holidays=lambda year: public_holidays("DE", "BE", year),
)
NEW_YORK = BusinessCalendar(
    ZoneInfo("America/New_York"),
    range(5),
    time(9),
    time(17),
    holidays=lambda year: public_holidays("US", "NY", year),
)
CALENDARS = {"berlin": BERLIN, "new-york": NEW_YORK}

# id | calendar | anchor | within | holds (start → end; …) | deadline with the holds
ROWS = """
# --- a weekend ---------------------------------------------------------------------------
# Fri 10:00 + 2 business days = Tue 17:00; the hold covers only the weekend nights
weekend-nights-only     | berlin | 2026-11-20 10:00+01:00 | 2 business days | 2026-11-20 17:00+01:00 → 2026-11-23 09:00+01:00 | 2026-11-24 17:00+01:00
# budget Fri 7h + Mon 8h + Tue 8h = 23h; spent Fri 10-15 = 5h; 18h from Mon 11:00 = Wed 13:00
weekend-fri-to-mon      | berlin | 2026-11-20 10:00+01:00 | 2 business days | 2026-11-20 15:00+01:00 → 2026-11-23 11:00+01:00 | 2026-11-25 13:00+01:00
# 24 h from Fri 10:00 = Sat 10:00; the hold (68 h) began before: spent 5 h, 19 h from Mon 11:00
weekend-elapsed         | berlin | 2026-11-20 10:00+01:00 | 24 hours        | 2026-11-20 15:00+01:00 → 2026-11-23 11:00+01:00 | 2026-11-24 06:00+01:00
# Friday evening: received 18:05, Immediate is Mon 09:00; a hold until Mon 10:30 stops it
fri-evening-immediate   | berlin | 2026-11-20 18:05+01:00 | Immediate       | 2026-11-21 10:00+01:00 → 2026-11-23 10:30+01:00 | 2026-11-23 10:30+01:00
# … a hold that ends at the opening time does not
fri-evening-imm-night   | berlin | 2026-11-20 18:05+01:00 | Immediate       | 2026-11-20 18:30+01:00 → 2026-11-23 09:00+01:00 | 2026-11-23 09:00+01:00
# Friday evening, 1 business day = Tue 17:00 (16 h of business time); hold Mon 10:00-12:30 = 2.5 h
fri-evening-1bd         | berlin | 2026-11-20 18:05+01:00 | 1 business day  | 2026-11-23 10:00+01:00 → 2026-11-23 12:30+01:00 | 2026-11-25 11:30+01:00
# 4 business hours from Fri 18:05: Mon 09-10 spent, then 3 h from 12:30
fri-evening-4bh         | berlin | 2026-11-20 18:05+01:00 | 4 business hours| 2026-11-23 10:00+01:00 → 2026-11-23 12:30+01:00 | 2026-11-23 15:30+01:00
# --- a public holiday (Good Friday 2026-04-03, Easter Monday 2026-04-06) -------------------
# Thu 10:00 + 3 business days = Thu 04-09 17:00; the hold covers only holidays, weekend, nights
easter-holidays-only    | berlin | 2026-04-02 10:00+02:00 | 3 business days | 2026-04-02 17:00+02:00 → 2026-04-07 09:00+02:00 | 2026-04-09 17:00+02:00
# budget 7+8+8+8 = 31 h; spent Thu 10-16 = 6 h; 25 h from Tue 10:00: Tue 7, Wed 8, Thu 8, Fri 2
easter-hold             | berlin | 2026-04-02 10:00+02:00 | 3 business days | 2026-04-02 16:00+02:00 → 2026-04-07 10:00+02:00 | 2026-04-10 11:00+02:00
# 4 business hours from Thu 15:00: 1 h spent, 3 h from Tue 10:00
easter-4bh              | berlin | 2026-04-02 15:00+02:00 | 4 business hours| 2026-04-02 16:00+02:00 → 2026-04-07 10:00+02:00 | 2026-04-07 13:00+02:00
# 48 h from Thu 10:00 = Sat 10:00; the hold Thu 12:00 → Tue 09:00 lasts 117 h: Thu 07:00
# (spent Thu 10-12 = 2 h, then 46 h from Tue 09:00)
easter-elapsed          | berlin | 2026-04-02 10:00+02:00 | 48 hours        | 2026-04-02 12:00+02:00 → 2026-04-07 09:00+02:00 | 2026-04-09 07:00+02:00
# Thanksgiving (Thu 2026-11-26): Wed 10:00 + 1 business day = Fri 17:00
thanksgiving-nights     | new-york | 2026-11-25 10:00-05:00 | 1 business day | 2026-11-25 17:00-05:00 → 2026-11-27 09:00-05:00 | 2026-11-27 17:00-05:00
# budget 7+8 = 15 h; spent Wed 10-15 = 5 h; 10 h from Fri 11:00: Fri 6, Mon 4
thanksgiving-hold       | new-york | 2026-11-25 10:00-05:00 | 1 business day | 2026-11-25 15:00-05:00 → 2026-11-27 11:00-05:00 | 2026-11-30 13:00-05:00
# --- a closure day (2026-12-24, then Christmas 25/26) --------------------------------------
# Wed 10:00 + 1 business day = Mon 12-28 17:00
closure-nights-only     | berlin | 2026-12-23 10:00+01:00 | 1 business day  | 2026-12-23 17:00+01:00 → 2026-12-28 09:00+01:00 | 2026-12-28 17:00+01:00
# budget 7+8 = 15 h; spent Wed 10-16:30 = 6.5 h; 8.5 h from Mon 09:30: Mon 7.5, Tue 1
closure-hold            | berlin | 2026-12-23 10:00+01:00 | 1 business day  | 2026-12-23 16:30+01:00 → 2026-12-28 09:30+01:00 | 2026-12-29 10:00+01:00
# --- spring DST change (Berlin Sun 2026-03-29, New York Sun 2026-03-08) --------------------
berlin-spring-nights    | berlin | 2026-03-27 10:00+01:00 | 1 business day  | 2026-03-27 17:00+01:00 → 2026-03-30 09:00+02:00 | 2026-03-30 17:00+02:00
# 24 h from Fri 12:00 = Sat 12:00; spent Fri 12:00 → Sat 09:00 = 21 h; 3 h from Mon 09:00
berlin-spring-elapsed   | berlin | 2026-03-27 12:00+01:00 | 24 hours        | 2026-03-28 09:00+01:00 → 2026-03-30 09:00+02:00 | 2026-03-30 12:00+02:00
# 4 business hours from Fri 15:00: 1 h spent, 3 h from Mon 10:00 CEST
berlin-spring-4bh       | berlin | 2026-03-27 15:00+01:00 | 4 business hours| 2026-03-27 16:00+01:00 → 2026-03-30 10:00+02:00 | 2026-03-30 13:00+02:00
# 3 days from Fri 12:00 = Mon 12:00 CEST; the hold Sat 12:00 CET → Sun 12:00 CEST is 23 real hours
berlin-spring-days      | berlin | 2026-03-27 12:00+01:00 | 3 days          | 2026-03-28 12:00+01:00 → 2026-03-29 12:00+02:00 | 2026-03-31 11:00+02:00
ny-spring-nights        | new-york | 2026-03-06 10:00-05:00 | 2 business days | 2026-03-06 17:00-05:00 → 2026-03-09 09:00-04:00 | 2026-03-10 17:00-04:00
# budget 7+8+8 = 23 h; spent Fri 10-16 = 6 h; 17 h from Mon 10:00: Mon 7, Tue 8, Wed 2
ny-spring-hold          | new-york | 2026-03-06 10:00-05:00 | 2 business days | 2026-03-06 16:00-05:00 → 2026-03-09 10:00-04:00 | 2026-03-11 11:00-04:00
# 12 h from Sat 20:00 EST = Sun 09:00 EDT; the hold Sat 22:00 EST → Sun 04:00 EDT is 5 real hours
ny-spring-elapsed       | new-york | 2026-03-07 20:00-05:00 | 12 hours        | 2026-03-07 22:00-05:00 → 2026-03-08 04:00-04:00 | 2026-03-08 14:00-04:00
# --- autumn DST change (Berlin Sun 2026-10-25, New York Sun 2026-11-01) --------------------
# 24 h from Fri 10:00 = Sat 10:00; spent Fri 10:00 → Sat 09:00 = 23 h; 1 h from Mon 09:00 CET
berlin-autumn-elapsed   | berlin | 2026-10-23 10:00+02:00 | 24 hours        | 2026-10-24 09:00+02:00 → 2026-10-26 09:00+01:00 | 2026-10-26 10:00+01:00
# budget 7+8 = 15 h; spent Fri 10-14 = 4 h; 11 h from Mon 10:00: Mon 7, Tue 4
berlin-autumn-1bd       | berlin | 2026-10-23 10:00+02:00 | 1 business day  | 2026-10-23 14:00+02:00 → 2026-10-26 10:00+01:00 | 2026-10-27 13:00+01:00
# 24 h from Fri 10:00 EDT = Sat 10:00 EDT; spent Fri 10:00 → Sat 08:00 = 22 h; 2 h from Mon 09:00 EST
ny-autumn-elapsed       | new-york | 2026-10-30 10:00-04:00 | 24 hours      | 2026-10-31 08:00-04:00 → 2026-11-02 09:00-05:00 | 2026-11-02 11:00-05:00
# a hold that starts after the deadline (Sat 10:00) does not move it: the step was already late
ny-autumn-late-hold     | new-york | 2026-10-30 10:00-04:00 | 24 hours      | 2026-10-31 12:00-04:00 → 2026-11-02 09:00-05:00 | 2026-10-31 10:00-04:00
# --- edges ---------------------------------------------------------------------------------
# 4 business hours from Mon 10:00 = 14:00: a hold starting at the deadline moves nothing
hold-at-deadline        | berlin | 2026-11-23 10:00+01:00 | 4 business hours| 2026-11-23 14:00+01:00 → 2026-11-23 16:00+01:00 | 2026-11-23 14:00+01:00
# spent 3 h, 1 h from 16:00: due at closing time, not the next morning
hold-to-closing         | berlin | 2026-11-23 10:00+01:00 | 4 business hours| 2026-11-23 13:00+01:00 → 2026-11-23 16:00+01:00 | 2026-11-23 17:00+01:00
# a hold that ended before the anchor moves nothing
hold-before-anchor      | berlin | 2026-11-23 10:00+01:00 | 4 business hours| 2026-11-20 10:00+01:00 → 2026-11-23 09:30+01:00 | 2026-11-23 14:00+01:00
# a hold running at the anchor: the clock starts at its end (Mon 11:00), 4 h later
hold-over-anchor        | berlin | 2026-11-23 10:00+01:00 | 4 business hours| 2026-11-20 10:00+01:00 → 2026-11-23 11:00+01:00 | 2026-11-23 15:00+01:00
# two holds: Mon 11-12 and Mon 13-14 (given out of order), 2 h of business time
two-holds               | berlin | 2026-11-23 10:00+01:00 | 4 business hours| 2026-11-23 13:00+01:00 → 2026-11-23 14:00+01:00; 2026-11-23 11:00+01:00 → 2026-11-23 12:00+01:00 | 2026-11-23 16:00+01:00
"""  # noqa: E501


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.strip().replace(" ", "T"))


def rows() -> list[
    tuple[str, BusinessCalendar, datetime, str, list[tuple[datetime, datetime]], datetime]
]:
    found = []
    for line in ROWS.strip().splitlines():
        if line.startswith("#"):
            continue
        name, cal, anchor, within, holds, due = (cell.strip() for cell in line.split("|"))
        spans = []
        for hold in holds.split(";"):
            start, end = hold.split("→")
            spans.append((parse_time(start), parse_time(end)))
        found.append((name, CALENDARS[cal], parse_time(anchor), within, spans, parse_time(due)))
    return found


@pytest.mark.parametrize(
    ("cal", "anchor", "within", "holds", "expected"),
    [pytest.param(*row[1:], id=row[0]) for row in rows()],
)
def test_hand_checked_hold(
    cal: BusinessCalendar,
    anchor: datetime,
    within: str,
    holds: list[tuple[datetime, datetime]],
    expected: datetime,
) -> None:
    due = cal.held_deadline(anchor, parse(within), holds)
    assert due == expected
    assert due.utcoffset() == expected.utcoffset()  # the company zone's offset of that day
    assert due.tzinfo is cal.zone


def test_without_holds_the_held_deadline_is_the_deadline() -> None:
    anchor = datetime(2026, 11, 20, 18, 5, tzinfo=BERLIN.zone)
    for within in ("Immediate", "1 hour", "3 days", "4 business hours", "5 business days"):
        assert BERLIN.held_deadline(anchor, parse(within)) == BERLIN.deadline(anchor, parse(within))


def test_a_hold_that_ends_before_it_starts_is_refused() -> None:
    anchor = datetime(2026, 11, 23, 10, tzinfo=BERLIN.zone)
    with pytest.raises(ValueError, match=r"ends .* before it starts"):
        BERLIN.held_deadline(anchor, parse("1 hour"), [(anchor, anchor - timedelta(minutes=1))])


def test_a_naive_hold_is_refused() -> None:
    anchor = datetime(2026, 11, 23, 10, tzinfo=BERLIN.zone)
    with pytest.raises(ValueError, match="no UTC offset"):
        BERLIN.held_deadline(anchor, parse("1 hour"), [(datetime(2026, 11, 23, 11), anchor)])


@pytest.mark.parametrize(
    ("within", "expected"),
    [
        # 75 % of 4 business hours from Mon 10:00 is 3 h: 13:00
        ("4 business hours", "2026-11-23 13:00+01:00"),
        # 5 business days from Mon 10:00: budget 7 + 4 × 8 + 8 = 47 h; 75 % = 35.25 h:
        # Mon 7, Tue 8, Wed 8, Thu 8 = 31, then 4.25 h into Fri: 13:15
        ("5 business days", "2026-11-27 13:15+01:00"),
        # 75 % of 24 h is 18 h: Tue 04:00
        ("24 hours", "2026-11-24 04:00+01:00"),
        ("Immediate", "2026-11-23 10:00+01:00"),
    ],
)
def test_due_soon_mark_is_a_share_of_the_budget(within: str, expected: str) -> None:
    anchor = datetime(2026, 11, 23, 10, tzinfo=BERLIN.zone)
    assert BERLIN.held_deadline(anchor, parse(within), share=0.75) == parse_time(expected)


def test_due_soon_mark_skips_holds() -> None:
    # 4 business hours from Mon 10:00, on hold 11:00-12:00: 3 h of budget spent at 14:00
    anchor = datetime(2026, 11, 23, 10, tzinfo=BERLIN.zone)
    hold = (anchor + timedelta(hours=1), anchor + timedelta(hours=2))
    mark = BERLIN.held_deadline(anchor, parse("4 business hours"), [hold], share=0.75)
    assert mark == parse_time("2026-11-23 14:00+01:00")


@pytest.mark.parametrize(
    ("cal", "start", "end", "hours"),
    [
        (BERLIN, "2026-11-20 15:00+01:00", "2026-11-23 11:00+01:00", 4),  # Fri 2 h + Mon 2 h
        (BERLIN, "2026-04-02 16:00+02:00", "2026-04-07 10:00+02:00", 2),  # over Easter
        (BERLIN, "2026-12-23 08:00+01:00", "2026-12-28 18:00+01:00", 16),  # over 24th-27th
        (BERLIN, "2026-03-27 08:00+01:00", "2026-03-30 18:00+02:00", 16),  # over spring DST
        (NEW_YORK, "2026-10-30 12:00-04:00", "2026-11-02 12:00-05:00", 8),  # over autumn DST
        (BERLIN, "2026-11-23 12:00+01:00", "2026-11-23 12:00+01:00", 0),
        (BERLIN, "2026-11-23 12:00+01:00", "2026-11-23 11:00+01:00", 0),
    ],
)
def test_business_time_between_two_instants(
    cal: BusinessCalendar, start: str, end: str, hours: float
) -> None:
    assert cal.business_time(parse_time(start), parse_time(end)) == timedelta(hours=hours)


# ------------------------------------------------------------------ properties

YEARS = range(2024, 2031)  # every year a property test reaches
CLOSED = {
    id(BERLIN): set(holidays.country_holidays("DE", subdiv="BE", years=YEARS))
    | {date(2026, 12, 24), date(2026, 12, 31)},
    id(NEW_YORK): set(holidays.country_holidays("US", subdiv="NY", years=YEARS)),
}
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
calendars = st.sampled_from([BERLIN, NEW_YORK])
anchors = st.datetimes(
    min_value=datetime(2025, 1, 1),
    max_value=datetime(2028, 6, 30),
    timezones=st.sampled_from([UTC, ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York")]),
)
AMOUNTS = {
    Kind.ELAPSED: [("minute", 1, 600), ("hour", 1, 200)],
    Kind.CALENDAR: [("day", 1, 30), ("week", 1, 6)],
    Kind.BUSINESS_HOURS: [("hour", 1, 120)],
    Kind.BUSINESS_DAYS: [("day", 1, 30)],
}
BUSINESS_KINDS = (Kind.IMMEDIATE, Kind.BUSINESS_HOURS, Kind.BUSINESS_DAYS)


@st.composite
def timeframes(draw: st.DrawFn, kinds: tuple[Kind, ...] = tuple(Kind)) -> Timeframe:
    kind = draw(st.sampled_from(kinds))
    if kind is Kind.IMMEDIATE:
        return Timeframe(Kind.IMMEDIATE, text="Immediate")
    unit, low, high = draw(st.sampled_from(AMOUNTS[kind]))
    return Timeframe(kind, draw(st.integers(low, high)), unit, text=f"{kind} {unit}")


offsets = st.timedeltas(timedelta(days=-5), timedelta(days=40))
lengths = st.timedeltas(timedelta(0), timedelta(days=20))


def utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def inside_hours(cal: BusinessCalendar, moment: datetime) -> bool:
    """Strictly inside opening hours of a business day (worked out without the calendar)."""
    local = moment.astimezone(cal.zone)
    day = local.date()
    return (
        day.weekday() in cal.workdays
        and day not in CLOSED[id(cal)]
        and cal.opens < local.time() < cal.closes
    )


@PROPERTY
@given(calendars, anchors, offsets, st.floats(0, 1), timeframes(BUSINESS_KINDS))
def test_a_hold_outside_business_hours_changes_no_business_deadline(
    cal: BusinessCalendar, anchor: datetime, offset: timedelta, part: float, tf: Timeframe
) -> None:
    start = utc(anchor) + offset
    local = start.astimezone(cal.zone)
    if inside_hours(cal, start):  # move the start to that day's closing time
        start = datetime.combine(local.date(), cal.closes, tzinfo=cal.zone).astimezone(UTC)
    # the next opening, found by walking minute by minute … by hour, then by minute
    end = start
    step = timedelta(minutes=30)
    for _ in range(24 * 2 * 14):
        if inside_hours(cal, end + step):
            break
        end += step
    end = start + (end - start) * part  # somewhere between the start and the next opening
    assert cal.business_time(start, end) == timedelta(0)
    assert cal.held_deadline(anchor, tf, [(start, end)]) == cal.deadline(anchor, tf)


@PROPERTY
@given(calendars, anchors, offsets, timeframes())
def test_hold_and_resume_at_the_same_instant_changes_nothing(
    cal: BusinessCalendar, anchor: datetime, offset: timedelta, tf: Timeframe
) -> None:
    at = utc(anchor) + offset  # holds are instants: absolute-time arithmetic
    assert cal.held_deadline(anchor, tf, [(at, at)]) == cal.deadline(anchor, tf)


@PROPERTY
@given(calendars, anchors, offsets, lengths, st.floats(0, 1), timeframes())
def test_two_adjacent_holds_equal_one(
    cal: BusinessCalendar,
    anchor: datetime,
    offset: timedelta,
    length: timedelta,
    cut: float,
    tf: Timeframe,
) -> None:
    start = utc(anchor) + offset  # holds are instants: absolute-time arithmetic
    end = start + length
    middle = start + length * cut
    one = cal.held_deadline(anchor, tf, [(start, end)])
    assert cal.held_deadline(anchor, tf, [(start, middle), (middle, end)]) == one
    assert cal.held_deadline(anchor, tf, [(middle, end), (start, middle)]) == one


@PROPERTY
@given(calendars, anchors, offsets, lengths, lengths, timeframes())
def test_a_longer_hold_never_gives_an_earlier_deadline(
    cal: BusinessCalendar,
    anchor: datetime,
    offset: timedelta,
    length: timedelta,
    more: timedelta,
    tf: Timeframe,
) -> None:
    start = utc(anchor) + offset  # wall-clock + timedelta can land in a DST gap
    shorter = cal.held_deadline(anchor, tf, [(start, start + length)])
    longer = cal.held_deadline(anchor, tf, [(start, start + length + more)])
    assert utc(cal.deadline(anchor, tf)) <= utc(shorter) <= utc(longer)


@PROPERTY
@given(calendars, anchors, offsets, lengths, timeframes((Kind.ELAPSED, Kind.CALENDAR)))
def test_elapsed_deadlines_move_by_the_held_time_before_them(
    cal: BusinessCalendar, anchor: datetime, offset: timedelta, length: timedelta, tf: Timeframe
) -> None:
    start, end = utc(anchor) + offset, utc(anchor) + offset + length
    nominal = utc(cal.deadline(anchor, tf))
    due = utc(cal.held_deadline(anchor, tf, [(start, end)]))
    # the clock ran from the anchor to the deadline, except while on hold
    on_hold = max(timedelta(0), min(end, due) - max(start, utc(anchor)))
    assert due - utc(anchor) - on_hold == nominal - utc(anchor)
    if utc(anchor) <= start < nominal:  # a hold inside the window adds its whole length
        assert due - nominal == length


@PROPERTY
@given(calendars, anchors, offsets, lengths, timeframes((Kind.BUSINESS_HOURS, Kind.BUSINESS_DAYS)))
def test_business_deadlines_spend_exactly_the_budget_outside_holds(
    cal: BusinessCalendar, anchor: datetime, offset: timedelta, length: timedelta, tf: Timeframe
) -> None:
    start, end = utc(anchor) + offset, utc(anchor) + offset + length
    nominal = cal.deadline(anchor, tf)
    due = cal.held_deadline(anchor, tf, [(start, end)])
    budget = cal.business_time(anchor, nominal)
    lo, hi = max(start, utc(anchor)), min(end, utc(due))
    on_hold = cal.business_time(lo, hi) if lo < hi else timedelta(0)
    assert cal.business_time(anchor, due) - on_hold == budget
    assert inside_hours(cal, due) or due.time() == cal.closes


def business_time_by_days(cal: BusinessCalendar, start: datetime, end: datetime) -> timedelta:
    """Business time in [start, end) summed day by day from the zone and the holiday
    list alone (no calendar internals): each business day's opening hours, clipped."""
    total = timedelta(0)
    day = start.astimezone(cal.zone).date() - timedelta(days=1)
    while day <= end.astimezone(cal.zone).date():
        if day.weekday() in cal.workdays and day not in CLOSED[id(cal)]:
            opens = datetime.combine(day, cal.opens, cal.zone).astimezone(UTC)
            closes = datetime.combine(day, cal.closes, cal.zone).astimezone(UTC)
            total += max(timedelta(0), min(closes, utc(end)) - max(opens, utc(start)))
        day += timedelta(days=1)
    return total


@PROPERTY
@given(calendars, anchors, st.timedeltas(timedelta(days=-3), timedelta(days=800)))
def test_business_time_equals_a_day_by_day_sum(
    cal: BusinessCalendar, start: datetime, length: timedelta
) -> None:
    # long stretches cross New Year, DST changes and holidays: the prefix sums must agree
    assert cal.business_time(start, start + length) == business_time_by_days(
        cal, start, start + length
    )


@PROPERTY
@given(calendars, anchors, st.integers(1, 2000))
def test_business_hours_spend_exactly_their_hours(
    cal: BusinessCalendar, anchor: datetime, hours: int
) -> None:
    due = cal.deadline(anchor, Timeframe(Kind.BUSINESS_HOURS, hours, "hour", text="h"))
    assert business_time_by_days(cal, anchor, due) == timedelta(hours=hours)
    # the earliest such instant: not at an opening time, so a moment earlier is short
    assert inside_hours(cal, due) or due.time() == cal.closes


# docs/deadlines.md's worked examples ("Holds"), row by row: each row's text must
# stand in the page as written here, and its numbers are computed anew.
# the page's row | anchor | within | deadline without the hold | hold | deadline with it
WORKED_EXAMPLES = [
    (
        "| received Fri 2026-11-20 18:05, `1 business day` | Tue 24th 17:00 "
        "| Fri 18:30 → Mon 09:00 | Tue 24th 17:00 |",
        "2026-11-20 18:05+01:00", "1 business day", "2026-11-24 17:00+01:00",
        ("2026-11-20 18:30+01:00", "2026-11-23 09:00+01:00"), "2026-11-24 17:00+01:00",
    ),
    (
        "| the same | Tue 24th 17:00 | Mon 10:00 → 12:30 | Wed 25th 11:30 |",
        "2026-11-20 18:05+01:00", "1 business day", "2026-11-24 17:00+01:00",
        ("2026-11-23 10:00+01:00", "2026-11-23 12:30+01:00"), "2026-11-25 11:30+01:00",
    ),
    (
        "| the same, `4 business hours` | Mon 23rd 13:00 | Mon 10:00 → 12:30 | Mon 23rd 15:30 |",
        "2026-11-20 18:05+01:00", "4 business hours", "2026-11-23 13:00+01:00",
        ("2026-11-23 10:00+01:00", "2026-11-23 12:30+01:00"), "2026-11-23 15:30+01:00",
    ),
    (
        "| the same, `Immediate` | Mon 23rd 09:00 | Sat 10:00 → Mon 10:30 | Mon 23rd 10:30 |",
        "2026-11-20 18:05+01:00", "Immediate", "2026-11-23 09:00+01:00",
        ("2026-11-21 10:00+01:00", "2026-11-23 10:30+01:00"), "2026-11-23 10:30+01:00",
    ),
    (
        "| received Thu 2026-04-02 10:00, `3 business days` (Good Friday, Easter Monday) "
        "| Thu 9th 17:00 | Thu 16:00 → Tue 7th 10:00 | Fri 10th 11:00 |",
        "2026-04-02 10:00+02:00", "3 business days", "2026-04-09 17:00+02:00",
        ("2026-04-02 16:00+02:00", "2026-04-07 10:00+02:00"), "2026-04-10 11:00+02:00",
    ),
    (
        "| the same, `48 hours` | Sat 4th 10:00 | Thu 12:00 → Tue 7th 09:00 | Thu 9th 07:00 |",
        "2026-04-02 10:00+02:00", "48 hours", "2026-04-04 10:00+02:00",
        ("2026-04-02 12:00+02:00", "2026-04-07 09:00+02:00"), "2026-04-09 07:00+02:00",
    ),
    (
        "| received Wed 2026-12-23 10:00, `1 business day` (24th closed, 25th–26th holidays) "
        "| Mon 28th 17:00 | Wed 16:30 → Mon 28th 09:30 | Tue 29th 10:00 |",
        "2026-12-23 10:00+01:00", "1 business day", "2026-12-28 17:00+01:00",
        ("2026-12-23 16:30+01:00", "2026-12-28 09:30+01:00"), "2026-12-29 10:00+01:00",
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("row", "anchor", "within", "nominal", "hold", "held"),
    WORKED_EXAMPLES,
    ids=[f"worked-{n}" for n in range(len(WORKED_EXAMPLES))],
)
def test_the_worked_examples_of_docs_deadlines(
    row: str, anchor: str, within: str, nominal: str, hold: tuple[str, str], held: str
) -> None:
    page = (Path(__file__).parent.parent / "docs" / "deadlines.md").read_text(encoding="utf-8")
    assert row in page
    tf = parse(within)
    start = parse_time(anchor)
    assert BERLIN.deadline(start, tf) == parse_time(nominal)
    span = (parse_time(hold[0]), parse_time(hold[1]))
    assert BERLIN.held_deadline(start, tf, [span]) == parse_time(held)
