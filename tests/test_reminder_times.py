"""When reminders go out: pure rules over the business calendar, hand-checked and
property-tested (always in business hours, never after the deadline for business
offsets, monotonic in the deadline, holiday- and DST-safe)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sopgen.cases.reminder_rules import business_day_length, in_business_hours, send_time
from sopgen.timeframe import Kind, parse
from test_businesstime import BERLIN, PROPERTY, anchors, calendars, timeframes

ZONE = ZoneInfo("Europe/Berlin")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZONE)


@pytest.mark.parametrize(
    ("due", "before", "sent"),
    [
        ("2026-11-30T17:00", "1 business day", "2026-11-30T09:00"),  # 8 business hours left
        ("2026-11-30T17:00", "1 business hour", "2026-11-30T16:00"),
        ("2026-11-24T10:00", "1 business day", "2026-11-23T10:00"),
        ("2026-11-23T09:00", "1 business hour", "2026-11-20T16:00"),  # over the weekend
        ("2026-11-23T09:00", "2 hours", "2026-11-23T09:00"),  # Mon 07:00 → opening time
        ("2026-11-30T17:00", "1 day", "2026-11-30T09:00"),  # Sunday 17:00 → Monday opening
        ("2026-12-28T10:00", "1 business day", "2026-12-23T10:00"),  # 24–27 Dec closed
        ("2027-03-30T10:00", "1 day", "2027-03-30T09:00"),  # Easter Monday → Tuesday opening
        ("2026-03-30T10:00", "1 business day", "2026-03-27T10:00"),  # over the DST change
    ],
)
def test_hand_checked_send_times(due: str, before: str, sent: str):
    assert send_time(BERLIN, at(due), parse(before)) == at(sent).astimezone(UTC)


def inside_hours(cal, moment: datetime) -> bool:  # type: ignore[no-untyped-def]
    local = cal.localize(moment)
    hours = cal.opening_hours(local.date())
    return hours is not None and hours[0] <= local <= hours[1]


BEFORE_KINDS = (Kind.ELAPSED, Kind.CALENDAR, Kind.BUSINESS_HOURS, Kind.BUSINESS_DAYS)


@PROPERTY
@given(calendars, anchors, timeframes(BEFORE_KINDS))
def test_a_reminder_goes_out_in_business_hours(cal, due, before):  # type: ignore[no-untyped-def]
    sent = send_time(cal, due, before)
    assert sent.tzinfo is not None
    assert inside_hours(cal, sent)


@PROPERTY
@given(calendars, anchors, timeframes((Kind.BUSINESS_HOURS, Kind.BUSINESS_DAYS)))
def test_a_business_reminder_leaves_exactly_its_business_time(cal, due, before):  # type: ignore[no-untyped-def]
    sent = send_time(cal, due, before)
    length = (
        timedelta(hours=before.amount)
        if before.kind is Kind.BUSINESS_HOURS
        else business_day_length(cal) * before.amount
    )
    assert sent < due.astimezone(UTC)
    assert cal.business_time(sent, due) >= length
    assert cal.business_time(sent + timedelta(seconds=1), due) < length  # not earlier than needed


@PROPERTY
@given(
    calendars, anchors, st.timedeltas(timedelta(0), timedelta(days=10)), timeframes(BEFORE_KINDS)
)
def test_a_later_deadline_never_reminds_earlier(cal, due, delay, before):  # type: ignore[no-untyped-def]
    later = due.astimezone(UTC) + delay  # real time: wall-clock arithmetic would skip DST
    assert send_time(cal, due, before) <= send_time(cal, later, before)


@PROPERTY
@given(calendars, anchors)
def test_in_business_hours_keeps_open_times_and_moves_the_rest_to_the_next_opening(cal, moment):  # type: ignore[no-untyped-def]
    moment = moment.astimezone(UTC)  # an instant (an imaginary wall time compares oddly)
    moved = in_business_hours(cal, moment).astimezone(UTC)
    assert moved >= moment
    assert inside_hours(cal, moved)
    if inside_hours(cal, moment):
        assert moved == moment
    else:
        assert moved == cal.next_opening(moment)
