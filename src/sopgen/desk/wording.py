"""How the desk words a deadline for people: "in 3 business hours", "overdue by 1 day".

Pure: a business calendar, a deadline and `now` in; text out. Time still to
go is counted in business time (what a rep can work with); time overdue in
plain elapsed time (what the customer has waited).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sopgen.businesstime import BusinessCalendar

HORIZON_DAYS = 400
"""Deadlines further away than this are worded in calendar days (no business-day count)."""


def business_time_between(calendar: BusinessCalendar, start: datetime, end: datetime) -> timedelta:
    """The open business hours between `start` and `end` (zero when `end` <= `start`):
    `BusinessCalendar.business_time`, the one place business time is summed."""
    return calendar.business_time(start, end)


def _count(n: int, unit: str) -> str:
    return f"{n} {unit}{'s' * (n != 1)}"


def relative(calendar: BusinessCalendar, due: datetime, now: datetime) -> str:
    """`due` seen from `now`: "in 3 business hours", "in 2 business days", "overdue by 1 day"."""
    if due < now:
        late = now - due
        if late < timedelta(hours=1):
            return "overdue by " + _count(max(1, int(late.total_seconds() // 60)), "minute")
        if late < timedelta(days=1):
            return "overdue by " + _count(int(late.total_seconds() // 3600), "hour")
        return "overdue by " + _count(late.days, "day")
    if (due - now).days > HORIZON_DAYS:
        return "in " + _count((due - now).days, "day")
    left = business_time_between(calendar, now, due)
    if left == timedelta(0):
        return "due now (outside business hours)" if due > now else "due now"
    if left < timedelta(hours=1):
        return "in " + _count(max(1, round(left.total_seconds() / 60)), "business minute")
    workday = _workday(calendar)
    if left < workday:
        return "in " + _count(round(left.total_seconds() / 3600), "business hour")
    days = 0
    day = now.astimezone(calendar.zone).date()
    last = due.astimezone(calendar.zone).date()
    while day < last and days <= HORIZON_DAYS:
        day += timedelta(days=1)
        days += calendar.is_business_day(day)
    return "in " + _count(max(1, days), "business day")


def _workday(calendar: BusinessCalendar) -> timedelta:
    start = datetime.combine(datetime(2000, 1, 3).date(), calendar.opens)
    return datetime.combine(start.date(), calendar.closes) - start
