"""A case's plan: every step of an SOP with its anchor, deadline and completion.

Pure: SOP, calendar, received time and completion times in; planned steps out.
The deadline of each step is `BusinessCalendar.deadline(anchor, step.within)`:

- a step without `after` is anchored on the moment the case was received;
- a step `… after X` is anchored on X's completion time when X is done, and on
  X's own deadline while X is open, so the plan is always complete and
  completing X earlier or later moves every step that depends on it.

Anchors are resolved in dependency order, so `after` may name a step further
down the document. A cycle of `after` anchors or an anchor naming no step makes
`plan` raise ValueError; the validator reports both beforehand with
`find_cycles` and `unknown_anchors`.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import NamedTuple

from sopgen.businesstime import BusinessCalendar
from sopgen.model import Section, Sop, Step

OPEN, DUE_SOON, OVERDUE, DONE = "open", "due-soon", "overdue", "done"

NOTHING_DONE: Mapping[str, datetime] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class PlannedStep:
    """One step of a case: what anchors it, when it is due, when it was done."""

    step: Step
    section: Section
    anchor: datetime  # received time, or the anchor step's completion or deadline
    due: datetime  # aware, in the company zone
    done: datetime | None = None
    after: str | None = None  # key ("section.step") of the anchor step, if any

    @property
    def key(self) -> str:
        return self.step.key

    def status(self, now: datetime, due_soon: timedelta) -> str:
        """`done` when done; else `overdue` after the deadline; `due-soon` when the
        deadline is at most `due_soon` away (the deadline itself included); else `open`.
        `now` must be aware."""
        if self.done is not None:
            return DONE
        left = self.due.astimezone(UTC) - _aware(now, "now").astimezone(UTC)
        if left < timedelta(0):
            return OVERDUE
        if left <= due_soon:
            return DUE_SOON
        return OPEN


def plan(
    sop: Sop,
    calendar: BusinessCalendar,
    received: datetime,
    done: Mapping[str, datetime] = NOTHING_DONE,
) -> list[PlannedStep]:
    """Every step of `sop`, in document order, with its anchor and deadline.

    `received` and the completion times in `done` must be aware; `done` maps
    step keys (`section.step`, bare ids accepted too) to completion times; keys
    naming no step of this SOP (e.g. a step removed in a later version) are
    ignored. Anchors and completion times are returned in the company zone.
    Raises ValueError for an `after` cycle or an anchor naming no step.
    """
    layout = _layout(sop)
    received = calendar.localize(_aware(received, "received time"))
    completed: dict[int, datetime] = {}
    for ref, at in done.items():
        index = layout.refs.get(ref)
        if index is not None:
            completed[index] = calendar.localize(_aware(at, f"completion of {ref}"))
    deadline = calendar.deadline
    planned: dict[int, PlannedStep] = {}
    for index in layout.order:
        step, section, _ = layout.steps[index]
        after = layout.anchors[index]
        if after is None:
            anchor, after_key = received, None
        else:
            anchor = completed.get(after) or planned[after].due
            after_key = layout.steps[after][2]
        planned[index] = PlannedStep(
            step, section, anchor, deadline(anchor, step.within), completed.get(index), after_key
        )
    return [planned[index] for index in range(len(layout.steps))]


def anchor_order(sop: Sop) -> list[Step]:
    """The steps of `sop` so that every anchor comes before the steps anchored on it.

    Otherwise document order is kept. Raises ValueError for a cycle or an
    anchor naming no step.
    """
    layout = _layout(sop)
    return [layout.steps[index][0] for index in layout.order]


def unknown_anchors(sop: Sop) -> list[tuple[Step, str]]:
    """Steps whose `after` names no step of `sop`, with the reference as written."""
    refs = _refs(sop)
    return [
        (step, after)
        for step in sop.steps()
        if (after := step.within.after) is not None and after not in refs
    ]


def find_cycles(sop: Sop) -> list[list[str]]:
    """Every cycle of `after` anchors, as step keys.

    In a cycle `[k0, k1, …, kn]` each step is anchored after the next one and
    the last after the first; each cycle starts with its step that comes first
    in the document. A step anchored after itself is the cycle `[key]`.
    Anchors naming no step are not cycles (see `unknown_anchors`).
    """
    refs = _refs(sop)
    keys = [step.key for step in sop.steps()]
    position = {key: index for index, key in enumerate(keys)}
    anchor_of = {
        step.key: refs[after].key
        for step in sop.steps()
        if (after := step.within.after) is not None and after in refs
    }
    visited: set[str] = set()
    cycles: list[list[str]] = []
    for start in keys:
        path: dict[str, int] = {}
        key: str | None = start
        while key is not None and key not in visited:
            visited.add(key)
            path[key] = len(path)
            key = anchor_of.get(key)
        if key is not None and key in path:
            cycle = list(path)[path[key] :]
            first = min(range(len(cycle)), key=lambda i: position[cycle[i]])
            cycles.append(cycle[first:] + cycle[:first])
    return cycles


def find_cycle(sop: Sop) -> list[str] | None:
    """The first cycle of `after` anchors (see `find_cycles`), or None."""
    cycles = find_cycles(sop)
    return cycles[0] if cycles else None


def _refs(sop: Sop) -> dict[str, Step]:
    """Every way an `after` may name a step: `section.step` and the bare step id."""
    refs: dict[str, Step] = {}
    for step in sop.steps():
        refs.setdefault(step.key, step)
        refs.setdefault(step.id, step)
    return refs


class _Layout(NamedTuple):
    """What planning needs from an SOP, by step index in document order."""

    steps: list[tuple[Step, Section, str]]  # step, its section, its key
    refs: dict[str, int]  # `section.step` and bare id -> index
    anchors: list[int | None]  # index of the step each step is anchored after
    order: list[int]  # indexes, every anchor before the steps anchored on it


_LAYOUTS: dict[int, tuple[weakref.ref[Sop], _Layout]] = {}
"""Layouts of the SOPs alive, by `id`: a case list plans every case of one SOP object."""


def _layout(sop: Sop) -> _Layout:
    cached = _LAYOUTS.get(id(sop))
    if cached is not None and cached[0]() is sop:
        return cached[1]
    layout = _make_layout(sop)  # raises for cycles and unknown anchors: those are not cached
    key = id(sop)

    def forget(ref: weakref.ref[Sop]) -> None:
        if (entry := _LAYOUTS.get(key)) is not None and entry[0] is ref:
            del _LAYOUTS[key]

    _LAYOUTS[key] = (weakref.ref(sop, forget), layout)
    return layout


def _make_layout(sop: Sop) -> _Layout:
    steps = [(step, section, step.key) for section in sop.procedure for step in section.steps]
    refs: dict[str, int] = {}
    for position, (step, _, key) in enumerate(steps):
        refs.setdefault(key, position)
        refs.setdefault(step.id, position)
    anchors: list[int | None] = []
    for step, _, key in steps:
        after = step.within.after
        if after is not None and after not in refs:
            raise ValueError(f"{sop.id}: {key} is anchored after '{after}': no such step")
        anchors.append(None if after is None else refs[after])
    placed = [False] * len(steps)
    order: list[int] = []
    for first in range(len(steps)):
        chain: list[int] = []  # steps waiting for their anchor, dependents first
        index: int | None = first
        while index is not None and not placed[index]:
            if index in chain:
                cycle = " after ".join(steps[i][2] for i in [*chain[chain.index(index) :], index])
                raise ValueError(f"{sop.id}: the `after` anchors form a cycle: {cycle}")
            chain.append(index)
            index = anchors[index]
        for waiting in reversed(chain):
            placed[waiting] = True
            order.append(waiting)
    return _Layout(steps, refs, anchors, order)


def _aware(moment: datetime, what: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} {moment.isoformat()} has no UTC offset")
    return moment
