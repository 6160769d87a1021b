"""On-time performance of completed steps: the numbers of `sopgen report` (pure).

Input: one `Completed` row per step done in the period — its SOP, step,
assignee, the case's priority when it was done, deadline, completion time and
business time to complete. Output: per SOP step, per assignee and per priority
the number completed, how many by their deadline (on time: done at or before
it, to the minute, as `PlannedStep.late` counts), and the median and 90th
percentile of the business time to complete.

Business time to complete runs from the step's anchor (the received time, or
the completion or deadline of the step it is anchored after) to its
completion, counted inside business hours, with time on hold left out (see
`BusinessCalendar.business_time`). Percentiles are nearest-rank: the 90th
percentile of n values is the ⌈0.9 n⌉-th smallest; the median is the middle
value (the mean of the two middle ones for an even n).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from sopgen.cases.plan import done_late
from sopgen.model import Sop


class Completed(NamedTuple):
    """One step done in the report's period (a tuple: a report makes thousands)."""

    case: str
    sop: str
    step: str  # section.step
    assignee: str | None
    priority: str
    due: datetime
    done: datetime
    business: timedelta  # business time to complete, holds left out

    @property
    def on_time(self) -> bool:
        return not done_late(self.done, self.due)


@dataclass(frozen=True, slots=True)
class Group:
    """The figures of one SOP step, assignee or priority."""

    key: tuple[str, ...]
    completed: int
    on_time: int
    median_hours: float
    p90_hours: float

    @property
    def on_time_share(self) -> float:
        return self.on_time / self.completed


@dataclass(frozen=True, slots=True)
class Report:
    since: datetime
    until: datetime
    completed: int
    on_time: int
    by_step: tuple[Group, ...]
    by_assignee: tuple[Group, ...]
    by_priority: tuple[Group, ...]
    names: Mapping[str, str] = field(default_factory=dict)
    """Desk users' names by login: the report names assignees as the dashboard does."""

    def assignee_name(self, login: str) -> str:
        """The name of assignee `login` (the login itself when no desk user has it)."""
        return self.names.get(login, login)


UNASSIGNED = "(unassigned)"


def summarize(
    rows: Iterable[Completed], since: datetime, until: datetime, priorities: Sequence[str] = ()
) -> Report:
    """The report of `rows`; priorities are listed in the order of `priorities` (the
    config's), others after them by name."""
    rows = list(rows)
    rank = {p: i for i, p in enumerate(priorities)}
    # each row's figures once, then each grouping by row number
    on_time = [not done_late(r.done, r.due) for r in rows]
    hours = [r.business.total_seconds() / 3600 for r in rows]
    return Report(
        since,
        until,
        len(rows),
        sum(on_time),
        _groups([(r.sop, r.step) for r in rows], on_time, hours, sorted),
        _groups([(r.assignee or UNASSIGNED,) for r in rows], on_time, hours, sorted),
        _groups(
            [(r.priority,) for r in rows],
            on_time,
            hours,
            lambda keys: sorted(keys, key=lambda k: (rank.get(k[0], len(rank)), k)),
        ),
    )


def median(values: Sequence[float]) -> float:
    return _median(sorted(values))


def nearest_rank(values: Sequence[float], percent: float) -> float:
    return _nearest_rank(sorted(values), percent)


def _median(ordered: Sequence[float]) -> float:
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def _nearest_rank(ordered: Sequence[float], percent: float) -> float:
    return ordered[max(1, math.ceil(percent / 100 * len(ordered))) - 1]


def _groups(
    keys: list[tuple[str, ...]],
    on_time: list[bool],
    hours: list[float],
    order: Callable[[Iterable[tuple[str, ...]]], list[tuple[str, ...]]],
) -> tuple[Group, ...]:
    grouped: dict[tuple[str, ...], list[int]] = {}
    for index, key in enumerate(keys):
        members = grouped.get(key)
        if members is None:
            grouped[key] = [index]
        else:
            members.append(index)
    groups = []
    for name in order(grouped):
        members = grouped[name]
        ordered = sorted([hours[i] for i in members])
        groups.append(
            Group(
                name,
                len(members),
                sum([on_time[i] for i in members]),
                _median(ordered),
                _nearest_rank(ordered, 90),
            )
        )
    return tuple(groups)


# --------------------------------------------------------------------------- shared wording

REPORT_DAYS = 30
"""`sopgen report`'s default period, and the dashboard's first: the last 30 days."""


def days_until(last: date, days: int, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The `days` calendar days in `zone` that end with the day `last` (included): from
    the midnight that starts the first to the midnight after `last`."""
    start = datetime.combine(last - timedelta(days=days - 1), time(0), tzinfo=zone)
    return start, datetime.combine(last + timedelta(days=1), time(0), tzinfo=zone)


def last_days(days: int, now: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """ "The last N days", one definition for the desk's dashboard and `sopgen report`:
    the N calendar days in the company's zone that end with today, today included."""
    return days_until(now.astimezone(zone).date(), days, zone)


def step_names(sops: Mapping[str, Sop]) -> dict[tuple[str, str], tuple[int, str]]:
    """(SOP id, step key) → (its place in the SOP's process, its name as the checklist
    writes it: label and text, "A1 Receive the complaint")."""
    return {
        (sop.id, step.key): (n, f"{section.letter}{step.number} {' '.join(step.do.split())}")
        for sop in sops.values()
        for n, (section, step) in enumerate(
            (section, step) for section in sop.procedure for step in section.steps
        )
    }


def step_name(names: Mapping[tuple[str, str], tuple[int, str]], key: tuple[str, ...]) -> str:
    """The step of `key` (SOP id, step key) by its checklist name; its key when the SOP
    no longer has it."""
    found = names.get((key[0], key[-1]))
    return found[1] if found else key[-1]


def in_process_order(
    groups: Iterable[Group], names: Mapping[tuple[str, str], tuple[int, str]]
) -> tuple[Group, ...]:
    """Per-step groups by SOP id, then in the order of the SOP's process (not by step
    id); steps the SOP no longer has after its others."""
    return tuple(
        sorted(
            groups,
            key=lambda g: (g.key[0], names.get((g.key[0], g.key[-1]), (len(names), ""))[0], g.key),
        )
    )
