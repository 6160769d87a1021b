"""Which reminder e-mails a set of open cases calls for, and when each goes out (pure).

Rules (docs/operations.md "Reminders"):

- Before a step is due, once per `reminders.before` entry, to the assignee:
  `N business hours` before means when N hours of business time are left;
  `N business days` means N × the length of a business day of business time
  left (with 09:00–17:00, `1 business day` before a deadline of 17:00 is
  09:00 that day); plain minutes, hours, days and weeks are counted back on
  the clock. A reminder whose time falls before the case was opened, or not
  before the deadline, is not sent (the next one, or the overdue one, is).
- When a step becomes overdue (a minute past its deadline), to the assignee
  (`reminders.overdue`).
- Each business day at opening time, a digest of overdue steps to every
  manager with an e-mail address (`reminders.digest`).
- A reminder whose time falls outside business hours goes out at the next
  opening time.
- Nothing for the steps of a case entered as history (`case import --history`)
  that were already overdue when it was entered; its later steps as usual.
- Nothing for a case on hold, a closed case, a done step, or an assignee
  without an e-mail address; a reassigned case's reminders go to the new
  assignee (the key names the recipient, so the old ones no longer match).

Every reminder has a `key` that names what it is about; the worker makes one
row per key, which is what makes each reminder go out once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sopgen.businesstime import BusinessCalendar
from sopgen.cases.model import Case
from sopgen.model import Reminders
from sopgen.timeframe import Kind, Timeframe

BEFORE, OVERDUE, DIGEST = "before", "overdue", "digest"


@dataclass(frozen=True, slots=True)
class Wanted:
    """A reminder the current state of the cases calls for."""

    key: str
    kind: str
    recipient: str
    label: str
    send_at: datetime  # UTC
    case_id: str | None = None
    step: str | None = None
    due: datetime | None = None  # UTC


@dataclass(frozen=True, slots=True)
class Person:
    login: str
    email: str
    manager: bool


def in_business_hours(calendar: BusinessCalendar, moment: datetime) -> datetime:
    """`moment` if it lies inside opening hours of a business day, else the next opening."""
    local = calendar.localize(moment)
    hours = calendar.opening_hours(local.date())
    if hours is not None and hours[0] <= local <= hours[1]:
        return local
    return calendar.next_opening(moment)


def business_day_length(calendar: BusinessCalendar) -> timedelta:
    """How long the opening hours of a business day are (e.g. 8 hours for 09:00–17:00)."""
    day = date(2000, 1, 1)
    return datetime.combine(day, calendar.closes) - datetime.combine(day, calendar.opens)


def business_time_before(calendar: BusinessCalendar, due: datetime, length: timedelta) -> datetime:
    """The latest moment from which `length` of business time is left until `due`.

    `business_time(t, due)` never rises as `t` moves later, so the moment is
    found by halving an interval of whole seconds.
    """
    end = int(due.astimezone(UTC).timestamp())
    needed = length

    def left(second: int) -> timedelta:
        return calendar.business_time(datetime.fromtimestamp(second, UTC), due)

    span = max(int(length.total_seconds()), 60)
    low = end - span
    for _ in range(64):  # widen until enough business time lies between low and due
        if left(low) >= needed:
            break
        span *= 2
        low = end - span
    else:  # pragma: no cover - a calendar with business days has business time
        raise ValueError("no business time before the deadline")
    high = end  # left(high) == 0 < needed
    while high - low > 1:
        middle = (low + high) // 2
        if left(middle) >= needed:
            low = middle
        else:
            high = middle
    return datetime.fromtimestamp(low, UTC)


def send_time(calendar: BusinessCalendar, due: datetime, before: Timeframe) -> datetime:
    """When the reminder `before` a deadline `due` goes out (in business hours), UTC."""
    if before.kind is Kind.BUSINESS_HOURS:
        moment = business_time_before(calendar, due, timedelta(hours=before.amount))
    elif before.kind is Kind.BUSINESS_DAYS:
        length = business_day_length(calendar) * before.amount
        moment = business_time_before(calendar, due, length)
    elif before.kind is Kind.ELAPSED:
        moment = due.astimezone(UTC) - timedelta(seconds=before.seconds)
    elif before.kind is Kind.CALENDAR:
        local = calendar.localize(due)
        moment = calendar.localize(local.replace(tzinfo=None) - timedelta(days=before.days))
    else:
        raise ValueError(f"'{before.text}' is not a length of time before a deadline")
    return in_business_hours(calendar, moment).astimezone(UTC)


def wanted(
    cases: Iterable[Case],
    people: Mapping[str, Person],
    settings: Reminders,
    calendar: BusinessCalendar,
    now: datetime,
) -> list[Wanted]:
    """Every reminder the open `cases` call for at `now` (sent ones included: the
    worker skips keys it has already sent)."""
    found: list[Wanted] = []
    now = now.astimezone(UTC)
    any_overdue = False
    for case in cases:
        if case.on_hold is not None:
            continue
        person = people.get((case.assignee or "").lower())
        entered = case.opened_at.astimezone(UTC)
        for planned in case.open_steps():
            due = planned.due.astimezone(UTC)
            any_overdue = any_overdue or due < now
            if person is None or (case.as_history and due < entered):
                continue
            where = f"{case.id}|{planned.key}|{person.email.lower()}|{due.isoformat()}"
            if due > now:
                for before in settings.before:
                    at = send_time(calendar, due, before)
                    if at < case.opened_at.astimezone(UTC) or at >= due:
                        continue
                    found.append(
                        Wanted(
                            f"{BEFORE}:{before.text.lower()}|{where}",
                            BEFORE,
                            person.email,
                            before.text,
                            at,
                            case.id,
                            planned.key,
                            due,
                        )
                    )
            if settings.overdue:  # the first minute past the deadline, in business hours
                at = in_business_hours(calendar, due + timedelta(minutes=1)).astimezone(UTC)
                found.append(
                    Wanted(
                        f"{OVERDUE}|{where}",
                        OVERDUE,
                        person.email,
                        "overdue",
                        at,
                        case.id,
                        planned.key,
                        due,
                    )
                )
    if settings.digest and any_overdue:
        today = calendar.localize(now).date()
        hours = calendar.opening_hours(today)
        if hours is not None:
            for person in sorted(people.values(), key=lambda p: p.login):
                if person.manager:
                    found.append(
                        Wanted(
                            f"{DIGEST}|{person.email.lower()}|{today.isoformat()}",
                            DIGEST,
                            person.email,
                            f"overdue steps on {today.isoformat()}",
                            hours[0].astimezone(UTC),
                        )
                    )
    return found
