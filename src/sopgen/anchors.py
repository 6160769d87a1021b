"""The anchor graph of an SOP: which step each `… after STEP` timeframe is anchored on.

Pure and computed once per SOP object: step references are resolved once,
unknown anchors and cycles are found once, and the planning order is derived
in the same walk. The validator (`checks.py`) reports `unknown` and `cycles`;
the case plan (`cases/plan.py`) walks `order`.

An `after` names a step by `section.step` or by its bare step id (step ids are
unique within an SOP; the validator reports duplicates, and the first step
with an id wins here).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

from sopgen.model import Section, Sop, Step


@dataclass(frozen=True, slots=True)
class AnchorGraph:
    """Every step of an SOP by index in document order, and its anchor."""

    steps: tuple[Step, ...]  # document order
    sections: tuple[Section, ...]  # the section of each step
    refs: dict[str, int]  # `section.step` and bare id -> index
    anchors: tuple[int | None, ...]  # index of the step each step is anchored after
    unknown: tuple[tuple[Step, str], ...]  # steps whose `after` names no step, as written
    cycles: tuple[tuple[str, ...], ...]  # each cycle of anchors, as step keys (see below)
    order: tuple[int, ...]  # indexes, every anchor before the steps anchored on it

    @property
    def sound(self) -> bool:
        """No unknown anchor and no cycle: every step can be planned."""
        return not self.unknown and not self.cycles

    def problem(self) -> str | None:
        """Why the SOP cannot be planned, in one line; None when it can."""
        for step, after in self.unknown:
            return f"{step.key} is anchored after '{after}': no such step"
        for cycle in self.cycles:
            return "the `after` anchors form a cycle: " + " after ".join([*cycle, cycle[0]])
        return None

    def index(self, ref: str) -> int | None:
        """The index of the step `ref` names (`section.step` or bare id), or None."""
        return self.refs.get(ref)


def anchor_graph(sop: Sop) -> AnchorGraph:
    """The anchor graph of `sop` (made once per SOP object while it lives).

    `cycles`: in a cycle `(k0, k1, …, kn)` each step is anchored after the
    next one and the last after the first; each cycle starts with its step
    that comes first in the document, and cycles are listed in the order of
    those steps. A step anchored after itself is the cycle `(key,)`. Steps
    anchored on a cycle are not part of it, and an anchor naming no step is
    no cycle (it is in `unknown`).

    `order`: document order, except that every step comes after the step it
    is anchored on; steps on or behind a cycle come in the order the walk met
    them (such an SOP cannot be planned).
    """
    cached = _GRAPHS.get(id(sop))
    if cached is not None and cached[0]() is sop:
        return cached[1]
    graph = _make_graph(sop)
    key = id(sop)

    def forget(ref: weakref.ref[Sop]) -> None:
        if (entry := _GRAPHS.get(key)) is not None and entry[0] is ref:
            del _GRAPHS[key]

    _GRAPHS[key] = (weakref.ref(sop, forget), graph)
    return graph


_GRAPHS: dict[int, tuple[weakref.ref[Sop], AnchorGraph]] = {}
"""Graphs of the SOPs alive, by `id`: a case list plans every case of one SOP object."""


def _make_graph(sop: Sop) -> AnchorGraph:
    pairs = [(step, section) for section in sop.procedure for step in section.steps]
    steps = tuple(step for step, _ in pairs)
    refs: dict[str, int] = {}
    for position, step in enumerate(steps):
        refs.setdefault(step.key, position)
        refs.setdefault(step.id, position)
    anchors: list[int | None] = []
    unknown: list[tuple[Step, str]] = []
    for step in steps:
        after = step.within.after
        target = None if after is None else refs.get(after)
        if after is not None and target is None:
            unknown.append((step, after))
        anchors.append(target)
    # Each step has at most one anchor, so following anchors from a step either
    # ends at an unanchored or already placed step, or runs into itself: a cycle.
    placed = [False] * len(steps)
    order: list[int] = []
    cycles: list[tuple[str, ...]] = []
    for first in range(len(steps)):
        chain: list[int] = []  # steps waiting for their anchor, dependents first
        on_chain: dict[int, int] = {}
        index: int | None = first
        while index is not None and not placed[index]:
            if index in on_chain:
                cycle = chain[on_chain[index] :]
                start = min(range(len(cycle)), key=cycle.__getitem__)
                cycles.append(tuple(steps[i].key for i in cycle[start:] + cycle[:start]))
                break
            on_chain[index] = len(chain)
            chain.append(index)
            index = anchors[index]
        for waiting in reversed(chain):
            placed[waiting] = True
            order.append(waiting)
    cycles.sort(key=lambda keys: refs[keys[0]])
    return AnchorGraph(
        steps,
        tuple(section for _, section in pairs),
        refs,
        tuple(anchors),
        tuple(unknown),
        tuple(cycles),
        tuple(order),
    )
