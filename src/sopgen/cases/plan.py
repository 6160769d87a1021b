"""A case's plan: every step of an SOP with its anchor, deadline and completion.

Pure: SOP, calendar, received time and completion times in; planned steps out.
The deadline of each step is `BusinessCalendar.deadline(anchor, step.within)`:

- a step without `after` is anchored on the moment the case was received;
- a step `… after X` is anchored on X's completion time when X is done, and on
  X's own deadline while X is open, so the plan is always complete and
  completing X earlier or later moves every open step that depends on it.

A done step keeps the deadline it had when it was done (docs/deadlines.md "Holds" and
"Priorities"): it is planned from what had happened by its completion and
nothing later. It counts the holds up to its completion (cut there), takes the
priority in force then, and is anchored on X's completion only when X was done
by then; when X was still open, on the deadline X had at that moment (X's own
anchor, holds and priority as they stood then, up the chain). So a later hold,
priority change or completion of X never moves it nor changes its lateness.

Holds (the case's clock stopped, rules in `sopgen.businesstime` and
docs/deadlines.md "Holds") reach every step through
`BusinessCalendar.held_deadline`: an open step sees every hold. A step anchored
on an open step starts from that step's held deadline, so `after` chains follow.

Anchors are resolved in dependency order (`sopgen.anchors`), so `after` may
name a step further down the document. A cycle of `after` anchors or an anchor
naming no step makes `plan` raise ValueError; the validator reports both
beforehand from the same anchor graph.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import NamedTuple

from sopgen.anchors import anchor_graph
from sopgen.businesstime import BusinessCalendar
from sopgen.model import Section, Sop, Step
from sopgen.timeframe import Kind, Timeframe

OPEN, DUE_SOON, OVERDUE, DONE = "open", "due-soon", "overdue", "done"
DONE_LATE = "done-late"
ON_HOLD = "on-hold"  # an open step of a case on hold: its clock is stopped (`Case.status`)

NOTHING_DONE: Mapping[str, datetime] = MappingProxyType({})


def done_late(done: datetime, due: datetime) -> bool:
    """Done after the deadline. Deadlines are shown to the minute, so a step done within
    its deadline's minute (ticked off "now" at 10:00:37 when due 10:00) is on time: the
    case page, `case show` and `sopgen report` all count it so."""
    return done.astimezone(UTC).replace(second=0, microsecond=0) > due.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class PlannedStep:
    """One step of a case: what anchors it, when it is due, when it was done."""

    step: Step
    section: Section
    anchor: datetime  # received time, or the anchor step's completion or deadline
    due: datetime  # aware, in the company zone
    done: datetime | None = None
    after: str | None = None  # key ("section.step") of the anchor step, if any
    calendar: BusinessCalendar | None = field(default=None, compare=False, repr=False)
    holds: Sequence[tuple[datetime, datetime]] = field(default=(), compare=False, repr=False)
    timeframe: Timeframe | None = None  # the one used, when a priority chose it

    @property
    def within(self) -> Timeframe:
        """The timeframe the deadline was computed with (the case's priority's)."""
        return self.timeframe or self.step.within

    @property
    def key(self) -> str:
        return self.step.key

    @property
    def late(self) -> bool:
        """Done after its deadline. Deadlines are shown to the minute, so a step done
        within its deadline's minute (ticked off "now" at 10:00:37 when due 10:00) is
        on time."""
        return self.done is not None and done_late(self.done, self.due)

    def due_soon_from(self, due_soon: timedelta | float) -> datetime:
        """When the step turns `due-soon`: `due_soon` before its deadline (a timedelta),
        or when that share of its window is spent (a float, e.g. 0.75: the window runs
        from the anchor to the deadline in the timeframe's own measure, holds skipped)."""
        if isinstance(due_soon, timedelta):
            return max(self.due - due_soon, self.anchor, key=_instant).astimezone(self.due.tzinfo)
        if self.within.kind is Kind.IMMEDIATE:  # no window to spend a share of: due soon at once
            return self.anchor.astimezone(self.due.tzinfo)
        if self.calendar is None:
            raise ValueError("a share-of-window due-soon needs the plan's calendar")
        # without holds the step's deadline is the plain one: no need to compute it again
        nominal = None if self.holds else self.due
        return self.calendar.held_deadline(
            self.anchor, self.within, self.holds, due_soon, nominal=nominal
        )

    def status(self, now: datetime, due_soon: timedelta | float) -> str:
        """`done` when done by the deadline, `done-late` when done after it; else
        `overdue` after the deadline; `due-soon` from `due_soon_from(due_soon)` on
        (the deadline itself included); else `open`. `now` must be aware."""
        if self.done is not None:
            return DONE_LATE if self.late else DONE
        moment = _aware(now, "now").astimezone(UTC)
        left = self.due.astimezone(UTC) - moment
        if left < timedelta(0):
            return OVERDUE
        if isinstance(due_soon, timedelta):
            return DUE_SOON if left <= due_soon else OPEN
        if moment < self.anchor.astimezone(UTC):
            return OPEN
        return DUE_SOON if moment >= _instant(self.due_soon_from(due_soon)) else OPEN


def plan(
    sop: Sop,
    calendar: BusinessCalendar,
    received: datetime,
    done: Mapping[str, datetime] = NOTHING_DONE,
    holds: Sequence[tuple[datetime, datetime]] = (),
    priorities: Sequence[tuple[datetime, str]] = (),
    open_until: datetime | None = None,
    only: Collection[str] | None = None,
) -> list[PlannedStep]:
    """Every step of `sop`, in document order, with its anchor and deadline.

    `received` and the completion times in `done` must be aware; `done` maps
    step keys (`section.step`, bare ids accepted too) to completion times; keys
    naming no step of this SOP (e.g. a step removed in a later version) are
    ignored. `holds` are the case's holds as (start, end) pairs, aware; a hold
    still running is passed ending now. `priorities` is the case's priority
    history as (from, priority) pairs, oldest first (none: `normal`): an open
    step takes the current priority's timeframe, a done step the one in force
    when it was done, so a priority change moves only open steps. `open_until`
    (a running hold's start) makes open steps see the holds only as they stood
    then: their deadlines stay where the hold stopped them (what a calendar
    event shows while the case is on hold), while done steps still see the
    holds up to their completion. `only` (step keys) plans just those steps and
    the open steps they are anchored on, and returns just those (the report
    needs the steps done in its period, not every deadline of every case).
    Anchors and completion times are returned in the company zone. Raises
    ValueError for an `after` cycle or an anchor naming no step.
    """
    graph = anchor_graph(sop)
    if not graph.sound:
        raise ValueError(f"{sop.id}: {graph.problem()}")
    received = calendar.localize(_aware(received, "received time"))
    completed: dict[int, datetime] = {}
    for ref, at in done.items():
        index = graph.index(ref)
        if index is not None:
            completed[index] = calendar.localize(_aware(at, f"completion of {ref}"))
    deadline = calendar.deadline
    steps, sections, anchors = graph.steps, graph.sections, graph.anchors
    needed: set[int] | None = None
    wanted: Sequence[int] = range(len(steps))
    if only is not None:
        needed = set()
        wanted = sorted({i for i in map(graph.index, only) if i is not None})
        for first in wanted:
            link: int | None = first  # an open step: up the chain of open anchors
            while link is not None and link not in needed:
                needed.add(link)
                above = anchors[link]
                open_ = link not in completed and above is not None and above not in completed
                link = above if open_ else None
    then = _Then(calendar, received, completed, steps, anchors, holds, priorities)
    planned: dict[int, PlannedStep] = {}
    for index in graph.order:
        if needed is not None and index not in needed:
            continue
        step = steps[index]
        after = anchors[index]
        finished = completed.get(index)
        if after is None:
            anchor, after_key = received, None
        else:
            if finished is not None:  # what it was anchored on when it was done
                anchor = then.anchor(index, finished)
            else:
                anchor = completed.get(after) or planned[after].due
            after_key = steps[after].key
        tf = step.within
        if priorities and step.within_by:
            tf = step.timeframe(priority_at(priorities, finished))
        if holds:
            seen: Sequence[tuple[datetime, datetime]] = holds
            cut = finished if finished is not None else open_until
            if cut is not None:
                seen = _cut(holds, cut)
            due = calendar.held_deadline(anchor, tf, seen)
        else:
            seen, due = (), deadline(anchor, tf)
        planned[index] = PlannedStep(
            step, sections[index], anchor, due, finished, after_key, calendar, seen, tf
        )
    return [planned[index] for index in wanted]


class Finished(NamedTuple):
    """A step done in a period, as `sopgen report` counts it (see `finished`)."""

    key: str  # section.step
    priority: str  # the case's priority when the step was done
    due: datetime  # the deadline `plan` gives the step
    done: datetime
    business: timedelta  # business time from its anchor to `done`, its holds left out


def finished(
    sop: Sop,
    calendar: BusinessCalendar,
    received: datetime,
    done: Mapping[str, datetime],
    since: datetime,
    until: datetime,
    holds: Sequence[tuple[datetime, datetime]] = (),
    priorities: Sequence[tuple[datetime, str]] = (),
) -> list[Finished]:
    """The steps of a case done in [`since`, `until`), each with the deadline `plan`
    gives it and its business time to complete (`BusinessCalendar.business_time` from
    its anchor to its completion, less the holds it saw), in no particular order.

    The report's own path through the rules of `plan` (same arguments, no
    `open_until`), for thousands of cases at a time: it works out only the
    steps done in the period and the open steps they are anchored on, and
    makes no `PlannedStep` and no conversion to the company zone (its
    instants are compared as instants; `due` is in the company zone, the
    others as given). All times must be aware. Tests hold it equal to `plan`.
    """
    graph = anchor_graph(sop)
    if not graph.sound:
        raise ValueError(f"{sop.id}: {graph.problem()}")
    refs = graph.refs
    completed: dict[int, datetime] = {}
    wanted: list[int] = []
    for ref, at in done.items():
        index = refs.get(ref)
        if index is not None:
            completed[index] = at
            if since <= at < until:
                wanted.append(index)
    if not wanted:
        return []
    steps, anchors = graph.steps, graph.anchors
    deadline, held_deadline = calendar.deadline, calendar.held_deadline
    then = _Then(calendar, received, completed, steps, anchors, holds, priorities)
    business_time = calendar.business_time
    rows = []
    for index in set(wanted):
        at = completed[index]
        anchor = received if anchors[index] is None else then.anchor(index, at)
        step = steps[index]
        priority = priority_at(priorities, at) if priorities else "normal"
        tf = step.timeframe(priority) if priorities and step.within_by else step.within
        if holds:
            seen = _cut(holds, at)
            due = held_deadline(anchor, tf, seen)
        else:
            seen, due = [], deadline(anchor, tf)
        rows.append(Finished(step.key, priority, due, at, business_time(anchor, at, seen)))
    return rows


class _Then:
    """Anchors of done steps as they stood at their completion (see the module's
    docstring): for a step done at T, its anchor step's completion when that was by
    T, else the deadline the anchor step had at T — its own anchor taken the same
    way, the holds cut at T, the priority in force at T. Deadlines are cached per
    (step, instant), so each is worked out once per plan."""

    __slots__ = (
        "anchors", "calendar", "completed", "dues", "holds", "priorities", "received", "steps",
    )  # fmt: skip

    def __init__(
        self,
        calendar: BusinessCalendar,
        received: datetime,
        completed: Mapping[int, datetime],
        steps: Sequence[Step],
        anchors: Sequence[int | None],
        holds: Sequence[tuple[datetime, datetime]],
        priorities: Sequence[tuple[datetime, str]],
    ):
        self.calendar, self.received, self.completed = calendar, received, completed
        self.steps, self.anchors, self.holds, self.priorities = steps, anchors, holds, priorities
        self.dues: dict[tuple[int, datetime], datetime] = {}

    def anchor(self, index: int, at: datetime) -> datetime:
        """The anchor of step `index` at `at` (the received time without `after`)."""
        moment = _instant(at)
        chain = []  # steps still open at `moment`, from `index`'s anchor step up
        link = self.anchors[index]
        anchor = self.received
        while link is not None:
            done = self.completed.get(link)
            if done is not None and _instant(done) <= moment:
                anchor = done
                break
            due = self.dues.get((link, moment))
            if due is not None:
                anchor = due
                break
            chain.append(link)
            link = self.anchors[link]
        if not chain:
            return anchor
        holds = _cut(self.holds, moment) if self.holds else ()
        priority = priority_at(self.priorities, moment) if self.priorities else None
        for link in reversed(chain):  # down the chain: each one anchors the next
            step = self.steps[link]
            tf = (
                step.timeframe(priority) if priority is not None and step.within_by else step.within
            )
            if holds:
                anchor = self.calendar.held_deadline(anchor, tf, holds)
            else:
                anchor = self.calendar.deadline(anchor, tf)
            self.dues[link, moment] = anchor
        return anchor


def priority_at(priorities: Sequence[tuple[datetime, str]], at: datetime | None) -> str:
    """The priority a step done at `at` was done under (the current one when `at` is
    None): the case's first priority, or the last one it was changed to before `at`. A
    change dated at `at` itself comes after a completion then, as a hold beginning then
    does (docs/deadlines.md "Priorities"): the desk accepts a change from the latest completion
    on, and it must not change how that step was judged."""
    if at is None:
        return priorities[-1][1]
    moment = _instant(at)
    current = priorities[0][1]
    for since, priority in priorities[1:]:
        if _instant(since) < moment:
            current = priority
    return current


def _cut(
    holds: Sequence[tuple[datetime, datetime]], at: datetime
) -> list[tuple[datetime, datetime]]:
    """The holds as they stood at `at`: those begun by then, ending at `at` at the latest."""
    cut = _instant(at)
    return [(start, min(_instant(end), cut)) for start, end in holds if _instant(start) < cut]


def _instant(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def _aware(moment: datetime, what: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} {moment.isoformat()} has no UTC offset")
    return moment
