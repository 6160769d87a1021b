"""How the desk words a deadline for people: "in 3 business hours", "overdue by 1 day".

Pure: a business calendar, a deadline and `now` in; text out. Time still to
go of a business-time step (business hours or days, Immediate) is counted in
business time (what a rep can work with), and when none is left before the
deadline because the business is closed, the deadline is named ("due at the
next opening, Mon 09:00"); a step timed on the clock (hours, days, weeks:
`elapsed=True`) is counted in real time ("in 17 hours"). Time overdue is plain
elapsed time (what the customer has waited). Nothing not yet due is "due now", and
nothing due later today is "in 1 business day": a whole business day still to go
before a deadline today (seen before opening) reads "today 17:00".
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sopgen.businesstime import BusinessCalendar
from sopgen.cases.plan import PlannedStep
from sopgen.timeframe import Kind

HORIZON_DAYS = 400
"""Deadlines further away than this are worded in calendar days (no business-day count)."""


def business_time_between(calendar: BusinessCalendar, start: datetime, end: datetime) -> timedelta:
    """The open business hours between `start` and `end` (zero when `end` <= `start`):
    `BusinessCalendar.business_time`, the one place business time is summed."""
    return calendar.business_time(start, end)


def on_the_clock(step: PlannedStep) -> bool:
    """A step timed in minutes, hours, days or weeks (not business time, not Immediate)."""
    return step.within.kind in (Kind.ELAPSED, Kind.CALENDAR)


def _count(n: int, unit: str) -> str:
    return f"{n} {unit}{'s' * (n != 1)}"


def relative(
    calendar: BusinessCalendar, due: datetime, now: datetime, *, elapsed: bool = False
) -> str:
    """`due` seen from `now`: "in 3 business hours", "in 2 business days", "overdue by 1 day";
    with `elapsed` (a step timed on the clock) "in 17 hours", "in 3 days"."""
    if due == now:
        return "due now"
    if due < now:
        late = now - due
        if late < timedelta(hours=1):
            return "overdue by " + _count(max(1, int(late.total_seconds() // 60)), "minute")
        if late < timedelta(days=1):
            return "overdue by " + _count(int(late.total_seconds() // 3600), "hour")
        return "overdue by " + _count(late.days, "day")
    if (due - now).days > HORIZON_DAYS:
        return "in " + _count((due - now).days, "day")
    if elapsed:
        return "in " + _real_time(due - now)
    left = business_time_between(calendar, now, due)
    if left == timedelta(0):  # closed from now until the deadline
        when = _weekday_time(calendar, due, now)
        if due == calendar.next_opening(now):
            return f"due at the next opening, {when}"
        return f"due {when} (outside business hours)"
    if left < timedelta(hours=1):
        return "in " + _count(max(1, round(left.total_seconds() / 60)), "business minute")
    workday = _workday(calendar)
    if left < workday:
        return "in " + _count(round(left.total_seconds() / 3600), "business hour")
    day = now.astimezone(calendar.zone).date()
    local = due.astimezone(calendar.zone)
    if local.date() == day:  # a whole business day still to go, but the deadline is today
        return f"today {local:%H:%M}"  # (seen before opening): not "in 1 business day"
    days = 0
    while day < local.date() and days <= HORIZON_DAYS:
        day += timedelta(days=1)
        days += calendar.is_business_day(day)
    return "in " + _count(max(1, days), "business day")


def _real_time(left: timedelta) -> str:
    """Time on the clock, rounded: minutes below an hour, hours below two days, then days."""
    if left < timedelta(hours=1):
        return _count(max(1, int(left.total_seconds() // 60)), "minute")
    if left < timedelta(days=2):
        return _count(round(left.total_seconds() / 3600), "hour")
    return _count(round(left.total_seconds() / 86400), "day")


def _weekday_time(calendar: BusinessCalendar, due: datetime, now: datetime) -> str:
    """ "Mon 09:00" within the coming week, "Mon 7 Dec 09:00" further away."""
    local = due.astimezone(calendar.zone)
    if due - now < timedelta(days=6):
        return local.strftime("%a %H:%M")
    return f"{local:%a} {local.day} {local:%b %H:%M}"


def _workday(calendar: BusinessCalendar) -> timedelta:
    start = datetime.combine(datetime(2000, 1, 3).date(), calendar.opens)
    return datetime.combine(start.date(), calendar.closes) - start
