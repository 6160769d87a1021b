"""A done step keeps the deadline it had when it was done (docs/deadlines.md "Holds" and
"Priorities"): nothing dated after its completion — a hold, a priority change, the
completion of the step it is anchored `after` — moves it or changes its lateness.

Hand-checked reproductions from issue #18 (item 20), then properties over random SOPs
against an oracle that plans the case from what had happened by each completion."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from sopgen.businesstime import BusinessCalendar, public_holidays
from sopgen.cases.plan import PlannedStep, done_late, finished, plan
from sopgen.model import Section, Sop, Step
from sopgen.timeframe import parse

SYDNEY = ZoneInfo("Australia/Sydney")
SYDNEY_CALENDAR = BusinessCalendar(
    SYDNEY, range(5), time(8), time(16, 30), holidays=lambda y: public_holidays("AU", "NSW", y)
)
BERLIN = ZoneInfo("Europe/Berlin")
BERLIN_CALENDAR = BusinessCalendar(  # the example library's sopgen.yaml
    BERLIN,
    range(5),
    time(9),
    time(17),
    closed=[date(2026, 12, 24), date(2026, 12, 31)],
    holidays=lambda y: public_holidays("DE", "BE", y),
)


def step(id_: str, number: int, within: str, **by: str) -> Step:
    return Step(
        id_,
        "s",
        number,
        f"Do {id_}.",
        "cs-rep",
        parse(within),
        within_by=tuple((priority, parse(text)) for priority, text in by.items()),
    )


def sop(*steps: Step) -> Sop:
    return Sop(
        id="SOP-T-002",
        title="Test",
        version="1.0",
        status="draft",
        owner="qa-team",
        introduction="",
        purpose="",
        scope="",
        responsibilities=(),
        procedure=(Section("s", "S", "A", steps),),
        documentation="",
        revisions=(),
    )


def by_key(planned: list[PlannedStep]) -> dict[str, PlannedStep]:
    return {p.step.id: p for p in planned}


# ------------------------------------------------------------ the reproductions of issue #18


SYDNEY_SOP = sop(
    step("s1", 1, "4 business hours after s4"),
    step("s4", 2, "6 days", critical="78 minutes", high="351 minutes", low="Immediate"),
)
SYDNEY_RECEIVED = datetime(2026, 9, 22, 8, 0, tzinfo=SYDNEY)  # Tuesday
SYDNEY_DONE = {"s1": datetime(2026, 9, 22, 13, 2, tzinfo=SYDNEY)}


def test_a_priority_change_after_a_completion_does_not_move_a_step_done_before_its_anchor():
    """s1 was done Tue 13:02 while s4 (its anchor) was open and due Mon 28 08:00 under
    normal: s1 was due Mon 28 12:00, on time. Lowering the case to `low` (s4 Immediate)
    the next night moves s4, not s1."""
    before = by_key(plan(SYDNEY_SOP, SYDNEY_CALENDAR, SYDNEY_RECEIVED, SYDNEY_DONE))
    assert before["s4"].due == datetime(2026, 9, 28, 8, 0, tzinfo=SYDNEY)
    assert before["s1"].due == datetime(2026, 9, 28, 12, 0, tzinfo=SYDNEY)
    history = [(SYDNEY_RECEIVED, "normal"), (datetime(2026, 9, 23, 0, 41, tzinfo=SYDNEY), "low")]
    after = by_key(plan(SYDNEY_SOP, SYDNEY_CALENDAR, SYDNEY_RECEIVED, SYDNEY_DONE, (), history))
    assert after["s4"].due == datetime(2026, 9, 22, 8, 0, tzinfo=SYDNEY)  # open: it moves
    assert after["s1"].due == datetime(2026, 9, 28, 12, 0, tzinfo=SYDNEY)
    assert after["s1"].anchor == datetime(2026, 9, 28, 8, 0, tzinfo=SYDNEY)
    assert after["s1"].status(datetime(2026, 9, 23, 9, 0, tzinfo=SYDNEY), 0.75) == "done"


BERLIN_SOP = sop(step("s1", 1, "64 hours after s2"), step("s2", 2, "72 hours"))
BERLIN_RECEIVED = datetime(2026, 6, 21, 9, 0, tzinfo=BERLIN)  # Sunday
BERLIN_DONE = {"s1": datetime(2026, 6, 21, 17, 25, tzinfo=BERLIN)}
BERLIN_HOLD = (
    datetime(2026, 6, 22, 15, 53, tzinfo=BERLIN),
    datetime(2026, 6, 25, 3, 45, tzinfo=BERLIN),
)


def test_a_hold_after_a_completion_does_not_move_a_step_done_before_its_anchor():
    """s1 was done Sun 17:25 while s2 was open and due Wed 24 09:00: s1 was due Sat 27
    01:00. A hold from Monday to Thursday moves s2 (open), not s1."""
    before = by_key(plan(BERLIN_SOP, BERLIN_CALENDAR, BERLIN_RECEIVED, BERLIN_DONE))
    assert before["s1"].due == datetime(2026, 6, 27, 1, 0, tzinfo=BERLIN)
    held = by_key(plan(BERLIN_SOP, BERLIN_CALENDAR, BERLIN_RECEIVED, BERLIN_DONE, [BERLIN_HOLD]))
    # s2: 72 h, of which the hold's 59 h 52 min are not spent
    assert held["s2"].due == datetime(2026, 6, 26, 20, 52, tzinfo=BERLIN)
    assert held["s1"].due == datetime(2026, 6, 27, 1, 0, tzinfo=BERLIN)
    assert held["s1"].anchor == datetime(2026, 6, 24, 9, 0, tzinfo=BERLIN)


def test_the_report_path_keeps_them_too():
    """`sopgen report` counts the deadline a step had when it was done, as `plan` does."""
    history = [(SYDNEY_RECEIVED, "normal"), (datetime(2026, 9, 23, 0, 41, tzinfo=SYDNEY), "low")]
    since, until = SYDNEY_RECEIVED, SYDNEY_RECEIVED + timedelta(days=30)
    (row,) = finished(
        SYDNEY_SOP, SYDNEY_CALENDAR, SYDNEY_RECEIVED, SYDNEY_DONE, since, until, (), history
    )
    assert row.due == datetime(2026, 9, 28, 12, 0, tzinfo=SYDNEY)
    since, until = BERLIN_RECEIVED, BERLIN_RECEIVED + timedelta(days=30)
    (row,) = finished(
        BERLIN_SOP, BERLIN_CALENDAR, BERLIN_RECEIVED, BERLIN_DONE, since, until, [BERLIN_HOLD]
    )
    assert row.due == datetime(2026, 6, 27, 1, 0, tzinfo=BERLIN)


def test_a_step_done_before_its_anchor_step_is_not_re_anchored_when_that_step_is_done():
    """docs/deadlines.md "Timeframes": the anchor step's later completion is something after the
    step was done, so it does not move it either (issue #18, item 21)."""
    done = {**BERLIN_DONE, "s2": datetime(2026, 6, 29, 10, 0, tzinfo=BERLIN)}  # s2 done late
    planned = by_key(plan(BERLIN_SOP, BERLIN_CALENDAR, BERLIN_RECEIVED, done))
    assert planned["s1"].anchor == datetime(2026, 6, 24, 9, 0, tzinfo=BERLIN)
    assert planned["s1"].due == datetime(2026, 6, 27, 1, 0, tzinfo=BERLIN)
    assert not planned["s1"].late
    # a step anchored on a step done before it is anchored on that completion, as ever
    early = {"s2": datetime(2026, 6, 21, 12, 0, tzinfo=BERLIN), **BERLIN_DONE}
    planned = by_key(plan(BERLIN_SOP, BERLIN_CALENDAR, BERLIN_RECEIVED, early))
    assert planned["s1"].anchor == datetime(2026, 6, 21, 12, 0, tzinfo=BERLIN)
    assert planned["s1"].due == datetime(2026, 6, 24, 4, 0, tzinfo=BERLIN)


# ------------------------------------------------------------------------------ properties

PRIORITIES = ["critical", "high", "normal", "low"]
TIMEFRAMES = [
    "Immediate",
    "45 minutes",
    "5 hours",
    "30 hours",
    "2 days",
    "1 week",
    "3 business hours",
    "13 business hours",
    "1 business day",
    "4 business days",
]
CALENDARS = [BERLIN_CALENDAR, SYDNEY_CALENDAR]
minutes = st.integers(0, 16 * 24 * 60).map(lambda m: timedelta(minutes=m))


@st.composite
def sops(draw: st.DrawFn) -> Sop:
    """2-6 steps, each anchored on the receipt or `after` one drawn before it (chains
    and trees), some with targets per priority, in drawn or reversed document order
    (so `after` points forward too)."""
    count = draw(st.integers(2, 6))
    steps = []
    for index in range(count):
        within = draw(st.sampled_from(TIMEFRAMES))
        after = draw(st.none() | st.integers(0, index - 1)) if index else None
        by = draw(
            st.dictionaries(
                st.sampled_from(["critical", "high", "low"]), st.sampled_from(TIMEFRAMES)
            )
        )
        suffix = f" after t{after}" if after is not None else ""
        steps.append(
            step(f"t{index}", index + 1, within + suffix, **{p: t + suffix for p, t in by.items()})
        )
    if draw(st.booleans()):
        steps = [
            Step(s.id, s.section, number, s.do, s.responsible, s.within, within_by=s.within_by)
            for number, s in enumerate(reversed(steps), 1)
        ]
    return sop(*steps)


@st.composite
def cases(draw: st.DrawFn) -> tuple[Sop, BusinessCalendar, datetime, dict, list, list]:
    """An SOP and a case of it: received around both DST changes of either zone, steps
    done in any order, holds (overlapping ones too), priority changes, all at random."""
    the_sop = draw(sops())
    calendar = draw(st.sampled_from(CALENDARS))
    start = draw(
        st.datetimes(datetime(2026, 3, 20), datetime(2026, 12, 20), timezones=st.just(UTC))
    )

    def at(offset: timedelta) -> datetime:
        return (start + offset).astimezone(calendar.zone)

    keys = [s.key for s in the_sop.steps()]
    done = {k: at(m) for k, m in draw(st.dictionaries(st.sampled_from(keys), minutes)).items()}
    holds = [(at(a), at(a + b)) for a, b in draw(st.lists(st.tuples(minutes, minutes), max_size=3))]
    changes = draw(st.lists(st.tuples(minutes, st.sampled_from(PRIORITIES)), max_size=3))
    history = [(at(timedelta(0)), draw(st.sampled_from(PRIORITIES)))]
    history += sorted(((at(m), p) for m, p in changes), key=lambda c: c[0].astimezone(UTC))
    if not changes and history[0][1] == "normal" and draw(st.booleans()):
        history = []  # a case whose priority never changed
    return the_sop, calendar, at(timedelta(0)), done, holds, history


def as_it_stood(
    case: tuple[Sop, BusinessCalendar, datetime, dict, list, list], key: str
) -> PlannedStep:
    """The oracle: step `key` as the plan showed it, still open, at the instant it was
    done — planned from only what had happened by then (the completions up to that
    instant, the holds as far as they had run, the priorities set by then)."""
    the_sop, calendar, received, done, holds, history = case
    moment = done[key].astimezone(UTC)
    then_done = {k: t for k, t in done.items() if k != key and t.astimezone(UTC) <= moment}
    then_holds = [
        (start, min(end, moment, key=lambda t: t.astimezone(UTC)))
        for start, end in holds
        if start.astimezone(UTC) < moment
    ]
    # a priority change dated at the completion itself comes after it, as a hold then does
    then_history = history[:1] + [(s, p) for s, p in history[1:] if s.astimezone(UTC) < moment]
    planned = plan(the_sop, calendar, received, then_done, then_holds, then_history)
    (shown,) = [p for p in planned if p.key == key]
    assert shown.done is None
    return shown


@settings(max_examples=400, deadline=None)
@given(cases())
def test_a_done_step_has_the_deadline_it_was_shown_when_it_was_done(
    case: tuple[Sop, BusinessCalendar, datetime, dict, list, list],
) -> None:
    """Every done step's deadline, and so whether it was done late, is the deadline the
    case showed for it the moment it was done: whatever was recorded for later times
    (holds, priority changes, completions of the steps it is anchored after) does not
    move it. `sopgen report`'s path agrees."""
    the_sop, calendar, received, done, holds, history = case
    planned = {p.key: p for p in plan(the_sop, calendar, received, done, holds, history)}
    for key, at in done.items():
        shown = as_it_stood(case, key)
        got = planned[key]
        assert got.due.astimezone(UTC) == shown.due.astimezone(UTC), key
        assert got.anchor.astimezone(UTC) == shown.anchor.astimezone(UTC), key
        assert got.late == done_late(at, shown.due), key
    since, until = received - timedelta(days=1), received + timedelta(days=40)
    rows = finished(the_sop, calendar, received, done, since, until, holds, history)
    assert {r.key: r.due.astimezone(UTC) for r in rows} == {
        key: planned[key].due.astimezone(UTC) for key in done
    }


@settings(max_examples=200, deadline=None)
@given(cases(), minutes, minutes, minutes, st.sampled_from(PRIORITIES))
def test_nothing_recorded_after_the_last_completion_moves_a_done_step(
    case: tuple[Sop, BusinessCalendar, datetime, dict, list, list],
    hold_from: timedelta,
    hold_for: timedelta,
    change_at: timedelta,
    priority: str,
) -> None:
    """What the desk may still record once steps are done — a hold, a priority change,
    completions of open steps, all from the latest completion on (docs/deadlines.md "Holds") —
    leaves every done step's deadline and lateness as they were."""
    the_sop, calendar, received, done, holds, history = case
    if not done:
        return
    last = max(t.astimezone(UTC) for t in done.values())
    holds = [h for h in holds if h[1].astimezone(UTC) <= last]  # what ran before it
    history = [c for c in history if c[0].astimezone(UTC) <= last]
    before = plan(the_sop, calendar, received, done, holds, history)
    later = last + hold_from
    more_holds = [*holds, (later, later + hold_for)]
    base = history or [(received, "normal")]
    more_history = [*base, (last + change_at, priority)]
    more_done = dict(done)
    for offset, p in enumerate(before):
        if p.done is None and offset % 2 == 0:
            later_still = last + hold_from + timedelta(minutes=1 + offset)
            more_done[p.key] = later_still.astimezone(calendar.zone)
    after = plan(the_sop, calendar, received, more_done, more_holds, more_history)
    for old, new in zip(before, after, strict=True):
        if old.done is not None:
            assert new.due == old.due and new.anchor == old.anchor, old.key
            assert new.late == old.late, old.key
