"""Case plans: anchors, `after` chains, completions, cycles, status (hand-checked dates)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sopgen.businesstime import BusinessCalendar, public_holidays
from sopgen.cases.plan import PlannedStep, finished, plan, priority_at
from sopgen.model import Section, Sop, Step
from sopgen.timeframe import parse

BERLIN = ZoneInfo("Europe/Berlin")
CALENDAR = BusinessCalendar(
    BERLIN,
    range(5),
    time(9),
    time(17),
    closed=[date(2026, 12, 24), date(2026, 12, 31)],
    holidays=lambda year: public_holidays("DE", "BE", year),
)
FRIDAY_EVENING = datetime(2026, 11, 20, 18, 5, tzinfo=BERLIN)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def make_sop(**sections: list[tuple[str, str]]) -> Sop:
    """An SOP whose sections hold (step id, within) pairs, in keyword order."""
    procedure = tuple(
        Section(
            id=section_id,
            title=section_id.title(),
            letter=chr(65 + s_index),
            steps=tuple(
                Step(
                    id=step_id,
                    section=section_id,
                    number=t_index + 1,
                    do=f"Do {step_id}.",
                    responsible="cs-rep",
                    within=parse(within),
                )
                for t_index, (step_id, within) in enumerate(steps)
            ),
        )
        for s_index, (section_id, steps) in enumerate(sections.items())
    )
    return Sop(
        id="SOP-T-001",
        title="Test",
        version="1.0",
        status="draft",
        owner="qa-team",
        introduction="",
        purpose="",
        scope="",
        responsibilities=(),
        procedure=procedure,
        documentation="",
        revisions=(),
    )


SEED = make_sop(
    intake=[("receive", "Immediate"), ("record", "1 hour")],
    resolution=[
        ("investigate", "5 business days"),
        ("plan", "2 business days after investigate"),
    ],
)


def dues(planned: list[PlannedStep]) -> dict[str, str]:
    return {p.key: p.due.isoformat() for p in planned}


def test_seed_sop_received_friday_evening() -> None:
    planned = plan(SEED, CALENDAR, FRIDAY_EVENING)
    assert dues(planned) == {
        "intake.receive": "2026-11-23T09:00:00+01:00",
        "intake.record": "2026-11-20T19:05:00+01:00",
        "resolution.investigate": "2026-11-30T17:00:00+01:00",
        # anchored on investigate's deadline, Monday 17:00 (day 0): Wednesday
        "resolution.plan": "2026-12-02T17:00:00+01:00",
    }
    by_key = {p.key: p for p in planned}
    assert by_key["resolution.plan"].anchor == by_key["resolution.investigate"].due
    assert by_key["resolution.plan"].after == "resolution.investigate"
    assert by_key["intake.receive"].after is None
    assert by_key["intake.record"].section.title == "Intake"
    assert all(p.done is None for p in planned)


def test_received_in_another_zone_is_planned_in_the_company_zone() -> None:
    planned = plan(SEED, CALENDAR, at("2026-11-20T17:05:00+00:00"))
    assert planned[0].anchor.isoformat() == "2026-11-20T18:05:00+01:00"
    assert dues(planned) == dues(plan(SEED, CALENDAR, FRIDAY_EVENING))


@pytest.mark.parametrize(
    ("investigated", "plan_due"),
    [
        ("2026-11-24T11:00:00+01:00", "2026-11-26T17:00:00+01:00"),  # early: Tue -> Thu
        ("2026-12-03T10:00:00+01:00", "2026-12-07T17:00:00+01:00"),  # late: Thu -> Mon
        ("2026-12-23T18:00:00+01:00", "2026-12-30T17:00:00+01:00"),  # day 0 is Mon 28th
    ],
    ids=["early", "late", "christmas"],
)
def test_completing_a_step_moves_its_dependents(investigated: str, plan_due: str) -> None:
    done = {"resolution.investigate": at(investigated)}
    planned = {p.key: p for p in plan(SEED, CALENDAR, FRIDAY_EVENING, done)}
    assert planned["resolution.plan"].anchor == at(investigated)
    assert planned["resolution.plan"].due.isoformat() == plan_due
    assert planned["resolution.investigate"].done == at(investigated)
    # the completed step keeps its own deadline
    assert planned["resolution.investigate"].due.isoformat() == "2026-11-30T17:00:00+01:00"


def test_done_accepts_bare_ids_and_ignores_steps_no_longer_in_the_sop() -> None:
    done = {"investigate": at("2026-11-24T11:00:00+01:00"), "old.step": FRIDAY_EVENING}
    planned = {p.key: p for p in plan(SEED, CALENDAR, FRIDAY_EVENING, done)}
    assert planned["resolution.plan"].due.isoformat() == "2026-11-26T17:00:00+01:00"
    assert planned["resolution.investigate"].done is not None


# first anchored on last: resolved in dependency order, reported in document order
CHAIN = make_sop(
    s=[
        ("first", "1 business day after s.last"),
        ("middle", "1 business day"),
        ("last", "1 business day after middle"),
    ]
)


def test_after_may_point_forward_and_chains_resolve() -> None:
    planned = plan(CHAIN, CALENDAR, FRIDAY_EVENING)
    assert [p.key for p in planned] == ["s.first", "s.middle", "s.last"]
    assert dues(planned) == {
        "s.first": "2026-11-26T17:00:00+01:00",
        "s.middle": "2026-11-24T17:00:00+01:00",
        "s.last": "2026-11-25T17:00:00+01:00",
    }


def test_completing_the_head_of_a_chain_moves_the_whole_chain() -> None:
    done = {"s.middle": at("2026-11-23T10:00:00+01:00")}
    assert dues(plan(CHAIN, CALENDAR, FRIDAY_EVENING, done)) == {
        "s.first": "2026-11-25T17:00:00+01:00",
        "s.middle": "2026-11-24T17:00:00+01:00",
        "s.last": "2026-11-24T17:00:00+01:00",
    }


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="no UTC offset"):
        plan(SEED, CALENDAR, datetime(2026, 11, 20, 18, 5))
    with pytest.raises(ValueError, match="no UTC offset"):
        plan(SEED, CALENDAR, FRIDAY_EVENING, {"intake.receive": datetime(2026, 11, 23, 9)})


def test_cycle_is_refused() -> None:
    sop = make_sop(a=[("x", "1 day after y"), ("free", "1 hour")], b=[("y", "2 days after a.x")])
    with pytest.raises(ValueError, match=r"cycle: a\.x after b\.y after a\.x"):
        plan(sop, CALENDAR, FRIDAY_EVENING)


def test_unknown_anchor_is_refused() -> None:
    sop = make_sop(s=[("x", "1 hour"), ("y", "1 day after nowhere"), ("z", "1 day after t.x")])
    with pytest.raises(ValueError, match="after 'nowhere': no such step"):
        plan(sop, CALENDAR, FRIDAY_EVENING)


# --------------------------------------------------------------------------- status

DUE = "2026-11-24T17:00:00+01:00"


def planned_step(due: str = DUE, done: datetime | None = None) -> PlannedStep:
    step = SEED.procedure[0].steps[0]
    return PlannedStep(step, SEED.procedure[0], FRIDAY_EVENING, at(due), done)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        ("2026-11-22T17:00:00+01:00", "open"),  # two days ahead
        ("2026-11-23T16:59:59+01:00", "open"),  # a second more than a day ahead
        ("2026-11-23T17:00:00+01:00", "due-soon"),  # exactly a day ahead
        ("2026-11-24T17:00:00+01:00", "due-soon"),  # at the deadline
        ("2026-11-24T17:00:01+01:00", "overdue"),
        ("2026-11-24T16:30:00+00:00", "overdue"),  # 17:30 Berlin, written in UTC
        ("2026-11-24T10:00:00-05:00", "due-soon"),  # 16:00 Berlin, written in New York
    ],
)
def test_status(now: str, expected: str) -> None:
    assert planned_step().status(at(now), timedelta(days=1)) == expected


def test_done_step_is_done_or_done_late_whatever_the_clock_says() -> None:
    now = at("2026-12-01T12:00:00+01:00")  # a week after the deadline
    on_time = planned_step(done=at("2026-11-24T16:59:00+01:00"))
    at_the_deadline = planned_step(done=at(DUE))
    same_minute = planned_step(done=at("2026-11-24T17:00:59+01:00"))
    assert same_minute.status(now, timedelta(days=1)) == "done"
    late = planned_step(done=at("2026-11-24T17:01:00+01:00"))
    assert on_time.status(now, timedelta(days=1)) == "done" and not on_time.late
    assert at_the_deadline.status(now, timedelta(days=1)) == "done"
    assert late.status(now, timedelta(days=1)) == "done-late" and late.late
    # the same instant in another zone is no later
    assert planned_step(done=at("2026-11-24T16:00:00+00:00")).status(now, timedelta(0)) == "done"


def test_status_compares_real_time_in_the_repeated_hour() -> None:
    # due 02:30 CET (the second 02:30); now 02:45 CEST (the first pass) is 45 minutes before
    due = datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=BERLIN)
    step = PlannedStep(SEED.procedure[0].steps[0], SEED.procedure[0], FRIDAY_EVENING, due)
    now = datetime(2026, 10, 25, 2, 45, tzinfo=BERLIN)
    assert step.status(now, timedelta(minutes=50)) == "due-soon"
    assert step.status(now, timedelta(minutes=10)) == "open"


def test_status_needs_an_aware_now() -> None:
    with pytest.raises(ValueError, match="no UTC offset"):
        planned_step().status(datetime(2026, 11, 24, 12), timedelta(days=1))


def test_plan_status_end_to_end() -> None:
    done = {"intake.receive": at("2026-11-23T09:10:00+01:00")}
    planned = plan(SEED, CALENDAR, FRIDAY_EVENING, done)
    now = datetime(2026, 11, 29, 20, 0, tzinfo=UTC)  # Sunday 21:00 Berlin
    assert {p.key: p.status(now, timedelta(days=1)) for p in planned} == {
        "intake.receive": "done-late",  # due Monday 09:00, done 09:10
        "intake.record": "overdue",
        "resolution.investigate": "due-soon",  # Monday 17:00, 20 hours away
        "resolution.plan": "open",
    }


# ------------------------------------------------------------------ holds

HELD_CHAIN = make_sop(
    intake=[("receive", "Immediate")],
    resolution=[
        ("investigate", "2 business days"),
        ("plan", "1 business day after investigate"),
        ("contact", "24 hours after plan"),
    ],
)
MONDAY_10 = at("2026-11-23T10:00:00+01:00")
# on hold Tue 09:00 → Wed 09:00: 8 h of business time, 24 h of elapsed time
TUESDAY_HOLD = (at("2026-11-24T09:00:00+01:00"), at("2026-11-25T09:00:00+01:00"))


def test_a_hold_moves_open_steps_and_their_after_chain() -> None:
    assert dues(plan(HELD_CHAIN, CALENDAR, MONDAY_10)) == {
        "intake.receive": "2026-11-23T10:00:00+01:00",
        "resolution.investigate": "2026-11-25T17:00:00+01:00",
        "resolution.plan": "2026-11-26T17:00:00+01:00",
        "resolution.contact": "2026-11-27T17:00:00+01:00",
    }
    assert dues(plan(HELD_CHAIN, CALENDAR, MONDAY_10, holds=[TUESDAY_HOLD])) == {
        # due before the hold began: not moved
        "intake.receive": "2026-11-23T10:00:00+01:00",
        # 23 business hours: Mon 7 spent, the hold stops the clock, Wed 8 + Thu 8
        "resolution.investigate": "2026-11-26T17:00:00+01:00",
        # anchored on investigate's new deadline, the whole chain follows
        "resolution.plan": "2026-11-27T17:00:00+01:00",
        "resolution.contact": "2026-11-28T17:00:00+01:00",
    }


def test_a_done_step_keeps_the_deadline_it_had_when_done() -> None:
    # investigate done Tue 12:00, during the hold: the 3 held business hours up to then count
    done = {"investigate": at("2026-11-24T12:00:00+01:00")}
    for resumed in ("2026-11-25T09:00:00+01:00", "2026-11-27T09:00:00+01:00"):
        hold = (TUESDAY_HOLD[0], at(resumed))
        by_key = {p.key: p for p in plan(HELD_CHAIN, CALENDAR, MONDAY_10, done, holds=[hold])}
        # Mon 7 h spent, Tue 09-12 on hold, 16 h from Tue 12:00: Tue 5, Wed 8, Thu 3
        assert by_key["resolution.investigate"].due.isoformat() == "2026-11-26T12:00:00+01:00"
    # a hold after a step was done never moves it
    done = {
        "receive": at("2026-11-23T10:05:00+01:00"),
        "investigate": at("2026-11-23T16:00:00+01:00"),
    }
    by_key = {p.key: p for p in plan(HELD_CHAIN, CALENDAR, MONDAY_10, done, holds=[TUESDAY_HOLD])}
    assert by_key["intake.receive"].due == MONDAY_10
    assert by_key["resolution.investigate"].due.isoformat() == "2026-11-25T17:00:00+01:00"
    # plan is anchored on investigate's completion (Mon 16:00) and is still open: the hold counts
    assert by_key["resolution.plan"].due.isoformat() == "2026-11-25T17:00:00+01:00"


def test_without_holds_the_plan_is_unchanged() -> None:
    assert plan(HELD_CHAIN, CALENDAR, MONDAY_10, holds=[]) == plan(HELD_CHAIN, CALENDAR, MONDAY_10)
    empty = [(MONDAY_10, MONDAY_10)]
    assert dues(plan(HELD_CHAIN, CALENDAR, MONDAY_10, holds=empty)) == dues(
        plan(HELD_CHAIN, CALENDAR, MONDAY_10)
    )


# ------------------------------------------------------------------ due-soon at a share


SHARE = make_sop(
    work=[("hours", "4 business hours"), ("days", "5 business days"), ("now", "Immediate")]
)


@pytest.mark.parametrize(
    ("step", "soon_from"),
    [
        # 75 % of 4 business hours from Mon 10:00 is 3 h: 13:00
        ("work.hours", "2026-11-23T13:00:00+01:00"),
        # budget Mon 7 h + 4 × 8 h + … = 47 h to Mon 30th 17:00; 75 % = 35.25 h: Fri 13:15
        ("work.days", "2026-11-27T13:15:00+01:00"),
        ("work.now", "2026-11-23T10:00:00+01:00"),
    ],
)
def test_due_soon_starts_when_a_share_of_the_window_has_passed(step: str, soon_from: str) -> None:
    planned = {p.key: p for p in plan(SHARE, CALENDAR, MONDAY_10)}[step]
    mark = at(soon_from)
    assert planned.due_soon_from(0.75) == mark
    assert planned.status(mark - timedelta(seconds=1), 0.75) == "open"
    assert planned.status(mark, 0.75) == "due-soon"
    assert planned.status(planned.due, 0.75) == "due-soon"
    assert planned.status(planned.due + timedelta(seconds=1), 0.75) == "overdue"


def test_due_soon_share_skips_holds_and_a_fixed_duration_still_works() -> None:
    # on hold 11:00-12:00: the 3 h of budget are spent at 14:00, the deadline is 15:00
    hold = (at("2026-11-23T11:00:00+01:00"), at("2026-11-23T12:00:00+01:00"))
    planned = plan(SHARE, CALENDAR, MONDAY_10, holds=[hold])[0]
    assert planned.due == at("2026-11-23T15:00:00+01:00")
    assert planned.status(at("2026-11-23T13:30:00+01:00"), 0.75) == "open"
    assert planned.status(at("2026-11-23T14:00:00+01:00"), 0.75) == "due-soon"
    # sopgen 0.1's rule, a fixed time before the deadline (calendar.due_soon)
    assert planned.status(at("2026-11-23T13:30:00+01:00"), timedelta(hours=2)) == "due-soon"
    assert planned.status(at("2026-11-23T12:30:00+01:00"), timedelta(hours=2)) == "open"


def test_immediate_outside_opening_hours_is_due_soon_at_once() -> None:
    """Received Friday 18:05: `Immediate` is due Monday 09:00 and due soon all weekend."""
    friday = at("2026-11-20T18:05:00+01:00")
    planned = {p.key: p for p in plan(SHARE, CALENDAR, friday)}["work.now"]
    assert planned.due == at("2026-11-23T09:00:00+01:00")
    assert planned.due_soon_from(0.75) == friday
    assert planned.status(at("2026-11-21T10:00:00+01:00"), 0.75) == "due-soon"


@pytest.mark.parametrize(
    ("done", "only"),
    [
        ({}, ["s.first"]),  # first after last after middle: the whole open chain is planned
        ({"s.middle": at("2026-11-23T10:00:00+01:00")}, ["s.last"]),
        ({"s.middle": at("2026-11-23T10:00:00+01:00")}, ["middle", "s.first"]),
        ({}, []),
    ],
)
def test_planning_only_some_steps_gives_their_deadlines_of_the_whole_plan(
    done: dict[str, datetime], only: list[str]
) -> None:
    holds = [(at("2026-11-23T11:00:00+01:00"), at("2026-11-24T12:00:00+01:00"))]
    whole = dues(plan(CHAIN, CALENDAR, FRIDAY_EVENING, done, holds))
    some = dues(plan(CHAIN, CALENDAR, FRIDAY_EVENING, done, holds, only=only))
    keys = {p.key for p in CHAIN.steps() if p.key in only or p.id in only}
    assert some == {key: due for key, due in whole.items() if key in keys}


# --------------------------------------------------------------------------- the report's path

TARGETED = replace(
    SEED,
    procedure=(
        Section(
            "s",
            "S",
            "A",
            (
                Step("receive", "s", 1, "Do.", "cs-rep", parse("Immediate")),
                Step(
                    "assess",
                    "s",
                    2,
                    "Do.",
                    "cs-rep",
                    parse("5 business days"),
                    within_by=(
                        ("critical", parse("4 business hours")),
                        ("high", parse("2 business days")),
                    ),
                ),
                Step("reply", "s", 3, "Do.", "cs-rep", parse("2 business days after decide")),
                Step("decide", "s", 4, "Do.", "cs-rep", parse("1 business day after assess")),
                Step("call", "s", 5, "Do.", "cs-rep", parse("24 hours after reply")),
                Step("visit", "s", 6, "Do.", "cs-rep", parse("3 days after receive")),
            ),
        ),
    ),
)
KEYS = [s.key for s in TARGETED.steps()]
ZONES = [UTC, BERLIN, ZoneInfo("America/New_York")]
moments = st.datetimes(  # around both DST changes of 2026 and Christmas
    min_value=datetime(2026, 3, 20),
    max_value=datetime(2027, 1, 10),
    timezones=st.sampled_from(ZONES),
)
minutes = st.integers(0, 20 * 24 * 60).map(lambda m: timedelta(minutes=m))


@settings(max_examples=300, deadline=None)
@given(
    moments,
    st.dictionaries(st.sampled_from(KEYS), minutes, max_size=len(KEYS)),
    st.lists(st.tuples(minutes, minutes), max_size=3),
    st.lists(st.tuples(minutes, st.sampled_from(["critical", "high", "low"])), max_size=3),
    minutes,
    minutes,
)
def test_the_report_path_gives_the_plans_deadlines_and_business_times(
    received: datetime,
    offsets: dict[str, timedelta],
    hold_offsets: list[tuple[timedelta, timedelta]],
    changes: list[tuple[timedelta, str]],
    since_offset: timedelta,
    length: timedelta,
) -> None:
    """`finished` (what `sopgen report` counts) agrees with `plan` for every step done in
    the period: holds, priorities, `after` chains on done and open steps, DST changes."""
    zone, start = received.tzinfo, received.astimezone(UTC)

    def at(offset: timedelta) -> datetime:
        """An instant `offset` after receipt, in the company zone, as the store reads it
        (wall-clock arithmetic from 02:59 on the spring-forward day ends before it began)."""
        return (start + offset).astimezone(zone)

    received = at(timedelta(0))
    done = {key: at(offset) for key, offset in offsets.items()}
    holds = [(at(a), at(a + b)) for a, b in hold_offsets]
    priorities = [(received, "normal"), *sorted((at(a), p) for a, p in changes)]
    if not changes:
        priorities = []
    since = received + since_offset - timedelta(days=5)
    until = since + length
    expected = {
        (
            p.key,
            priority_at(priorities, p.done) if priorities else "normal",
            p.due.astimezone(UTC),  # instants: `==` across zones is False in a repeated hour
            p.done.astimezone(UTC),
            CALENDAR.business_time(p.anchor, p.done, p.holds),
        )
        for p in plan(TARGETED, CALENDAR, received, done, holds, priorities)
        if p.done is not None and since <= p.done < until
    }
    got = finished(TARGETED, CALENDAR, received, done, since, until, holds, priorities)
    assert len(got) == len(expected)
    assert {f._replace(due=f.due.astimezone(UTC), done=f.done.astimezone(UTC)) for f in got} == (
        expected
    )
