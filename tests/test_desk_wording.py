"""How the desk words deadlines: business time still to go, elapsed time overdue."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from sopgen.businesstime import BusinessCalendar
from sopgen.desk.wording import business_time_between, relative

BERLIN = ZoneInfo("Europe/Berlin")
CAL = BusinessCalendar(BERLIN, range(5), time(9), time(17), closed=[datetime(2026, 12, 24).date()])


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=BERLIN)


def test_examples_a_rep_reads():
    monday = at(23, 10)
    assert relative(CAL, at(23, 13), monday) == "in 3 business hours"
    assert relative(CAL, at(23, 10, 40), monday) == "in 40 business minutes"
    # Friday 16:00 to Monday 11:00 is three business hours, not 67 hours
    assert relative(CAL, at(30, 11), at(27, 16)) == "in 3 business hours"
    assert relative(CAL, at(27, 17), monday) == "in 4 business days"
    assert relative(CAL, at(22, 10), monday) == "overdue by 1 day"
    assert relative(CAL, at(23, 9), monday) == "overdue by 1 hour"
    assert relative(CAL, at(23, 9, 58), monday) == "overdue by 2 minutes"
    assert relative(CAL, at(20, 18, 5), monday) == "overdue by 2 days"
    # Saturday: nothing of the business day has begun yet
    assert relative(CAL, at(28, 15), at(28, 12)) == "due now (outside business hours)"


def test_closure_days_do_not_count():
    assert business_time_between(CAL, at(23, 9, month=12), at(28, 9, month=12)) == timedelta(
        hours=16
    )  # Wed 23, Fri 25 (not Thu 24 closed, not the weekend): 8 + 8


moments = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(BERLIN)
)


@settings(max_examples=60, deadline=None)
@given(moments, moments, moments)
def test_business_time_is_monotonic_and_never_exceeds_elapsed_time(now, a, b):
    early, late = sorted((a, b))
    assert business_time_between(CAL, now, early) <= business_time_between(CAL, now, late)
    assert business_time_between(CAL, early, late) <= late - early


@settings(max_examples=60, deadline=None)
@given(moments, moments)
def test_future_reads_in_past_reads_overdue(now, due):
    text = relative(CAL, due, now)
    assert text.startswith("overdue by ") if due < now else not text.startswith("overdue")
