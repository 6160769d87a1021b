"""How the desk words deadlines: business time still to go, elapsed time overdue."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from deskkit import Desk, desk_fixture  # noqa: F401 - the `desk` fixture
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
    # Saturday: nothing of the business day has begun yet, and it is not due yet either
    assert relative(CAL, at(28, 15), at(28, 12)) == "due Sat 15:00 (outside business hours)"


def test_a_step_not_yet_due_is_never_due_now():
    """Received Fri 27 Nov 18:05, seen Sun 29 Nov 01:15 (hand-checked)."""
    sunday_night = at(29, 1, 15)
    # "Within 48 hours" is clock time: due Sun 18:05, 16 h 50 min away
    assert relative(CAL, at(29, 18, 5), sunday_night, elapsed=True) == "in 17 hours"
    # Immediate (business time): due at Monday's opening
    assert relative(CAL, at(30, 9), sunday_night) == "due at the next opening, Mon 09:00"
    # business time after Monday's opening counts from there
    assert relative(CAL, at(30, 12), sunday_night) == "in 3 business hours"
    # clock time in minutes and days; overdue is the same for both
    assert relative(CAL, at(29, 1, 55), sunday_night, elapsed=True) == "in 40 minutes"
    assert relative(CAL, at(2, 1, 15, month=12), sunday_night, elapsed=True) == "in 3 days"
    assert relative(CAL, at(29, 0, 15), sunday_night, elapsed=True) == "overdue by 1 hour"
    assert relative(CAL, sunday_night, sunday_night) == "due now"
    # Wed 23 Dec 18:00, Thursday 24 Dec closed: the next opening is Friday's
    assert (
        relative(CAL, at(25, 9, month=12), at(23, 18, month=12))
        == "due at the next opening, Fri 09:00"
    )
    far = relative(CAL, at(7, 9, month=12), at(30, 18))  # a business step due in a week
    assert far == "in 5 business days"


def test_a_deadline_later_today_reads_today_before_opening():
    """Due Mon 17:00 (a whole business day), seen Mon 06:56: not "in 1 business day"."""
    assert relative(CAL, at(23, 17), at(23, 6, 56)) == "today 17:00"
    assert relative(CAL, at(23, 17), at(23, 9)) == "today 17:00"
    assert relative(CAL, at(23, 17), at(23, 10)) == "in 7 business hours"
    assert relative(CAL, at(24, 17), at(23, 6, 56)) == "in 1 business day"


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


@settings(max_examples=60, deadline=None)
@given(moments, moments)
def test_a_deadline_today_is_never_a_business_day_away(now, due):
    text = relative(CAL, due, now)
    if now < due and due.date() == now.date() and (due - now).days <= 400:
        assert "business day" not in text, text


def test_the_case_page_words_clock_and_business_steps_apart(desk: Desk):
    desk.clock.now = at(29, 1, 15)  # Sunday night
    body = {"case": "C-1", "sop": "SOP-CS-001", "received": "2026-11-27T18:05"}
    assert desk.api("mia").post("/api/cases", json=body).status_code == 201
    html = desk.signed_in("alice").get("/cases/C-1").text
    assert "in 17 hours" in html  # the 48-hour steps, due Sun 18:05
    assert "due at the next opening, Mon 09:00" in html  # A1, Immediate
    assert "due now" not in html
