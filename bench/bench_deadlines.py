"""How many step deadlines sopgen computes per second (run: python bench/bench_deadlines.py).

A Berlin calendar (Mon-Fri 09:00-17:00, German/Berlin public holidays, two
closure days) and synthetic SOPs shaped like the example library, where
business days dominate. Received times are random over 2026-2027. Prints
figures for raw `BusinessCalendar.deadline()` calls (with a fresh calendar that
still loads its holidays, then warm), per timeframe kind, and for whole `plan()`
calls (with `after` chains), without and with a hold, and with every step done
before the step it is anchored after. Rates are per CPU second of this one process.
"""

from __future__ import annotations

import random
import sys
import time as clock
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sopgen.businesstime import BusinessCalendar, public_holidays
from sopgen.cases.plan import plan
from sopgen.model import Section, Sop, Step
from sopgen.timeframe import Kind, Timeframe, parse

ZONE = ZoneInfo("Europe/Berlin")
SEED = 20261120
BUDGET_SECONDS = 1.0  # CPU seconds per measurement
CHUNK = 2_000  # received times per unit of work

# (section, step id, within) — shaped like the example SOPs
SOPS = {
    "SOP-CS-001": [
        ("intake", "receive", "Immediate"),
        ("intake", "record", "1 hour"),
        ("intake", "acknowledge", "24 hours"),
        ("resolution", "investigate", "5 business days"),
        ("resolution", "plan", "2 business days after investigate"),
        ("resolution", "implement", "10 business days after plan"),
        ("follow-up", "contact", "7 days after implement"),
        ("follow-up", "close", "2 business days after contact"),
    ],
    "SOP-CS-002": [
        ("intake", "log", "Immediate"),
        ("intake", "triage", "4 business hours"),
        ("assessment", "inspect", "48 hours"),
        ("assessment", "decide", "7 business days"),
        ("refund", "pay", "14 business days after decide"),
        ("refund", "confirm", "1 business day after pay"),
    ],
    "SOP-CS-003": [
        ("escalation", "notify", "2 business hours"),
        ("escalation", "review", "1 business day after notify"),
        ("escalation", "root-cause", "15 business days"),
        ("escalation", "capa", "20 business days after root-cause"),
        ("escalation", "verify", "2 weeks after capa"),
        ("escalation", "report", "10 business days"),
    ],
}


def make_sop(sop_id: str, rows: list[tuple[str, str, str]]) -> Sop:
    sections: dict[str, list[Step]] = {}
    for section, step_id, within in rows:
        steps = sections.setdefault(section, [])
        steps.append(Step(step_id, section, len(steps) + 1, "Do it.", "cs-rep", parse(within)))
    procedure = tuple(
        Section(sid, sid.title(), chr(65 + i), tuple(steps))
        for i, (sid, steps) in enumerate(sections.items())
    )
    return Sop(sop_id, sop_id, "1.0", "effective", "qa-team", "", "", "", (), procedure, "", ())


def make_calendar() -> BusinessCalendar:
    return BusinessCalendar(
        ZONE,
        range(5),
        time(9),
        time(17),
        closed=[date(2026, 12, 24), date(2026, 12, 31)],
        holidays=lambda year: public_holidays("DE", "BE", year),
    )


def received_times(count: int) -> list[datetime]:
    rng = random.Random(SEED)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    span = int((datetime(2028, 1, 1, tzinfo=UTC) - start).total_seconds())
    return [(start + timedelta(seconds=rng.randrange(span))).astimezone(ZONE) for _ in range(count)]


def rate(work: Callable[[], int]) -> tuple[float, int]:
    """Run `work` (returns units done) for about BUDGET_SECONDS of CPU time; units per second.

    CPU time of this process, so other load on the machine does not lower the figure.
    """
    units, began = 0, clock.process_time()
    while (elapsed := clock.process_time() - began) < BUDGET_SECONDS:
        units += work()
    return units / elapsed, units


def main() -> int:
    sops = [make_sop(sop_id, rows) for sop_id, rows in SOPS.items()]
    mix: list[Timeframe] = [step.within for sop in sops for step in sop.steps()]
    anchors = received_times(20_000)
    print(f"python {sys.version.split()[0]}; calendar Europe/Berlin Mon-Fri 09:00-17:00, DE-BE")
    print(f"timeframe mix: {len(mix)} step timeframes, {len(anchors):,} received times 2026-2027")

    cold = make_calendar()
    began = clock.process_time()
    for anchor in anchors[:1000]:
        for tf in mix:
            cold.deadline(anchor, tf)
    cold_rate = 1000 * len(mix) / (clock.process_time() - began)
    print(f"cold deadlines/s (fresh calendar, loads holidays): {cold_rate:,.0f}")

    calendar = make_calendar()

    def deadlines(tfs: list[Timeframe]) -> Callable[[], int]:
        chunks = iter_chunks()

        def work() -> int:
            deadline = calendar.deadline
            chunk = next(chunks)
            for anchor in chunk:
                for tf in tfs:
                    deadline(anchor, tf)
            return len(chunk) * len(tfs)

        return work

    def iter_chunks() -> Iterator[list[datetime]]:
        while True:
            for start in range(0, len(anchors), CHUNK):
                yield anchors[start : start + CHUNK]

    for anchor in anchors[:5000]:  # warm the per-year and per-day caches
        for tf in mix:
            calendar.deadline(anchor, tf)
    per_second, calls = rate(deadlines(mix))
    print(f"deadlines/s: {per_second:,.0f}  ({calls:,} calls)")
    for kind in Kind:
        tfs = [tf for tf in mix if tf.kind is kind]
        if tfs:
            print(f"  {kind:<15} deadlines/s: {rate(deadlines(tfs))[0]:,.0f}")

    step_count = sum(len(list(sop.steps())) for sop in sops)

    chunks = iter_chunks()

    def plans() -> int:
        chunk = next(chunks)
        for anchor in chunk:
            for sop in sops:
                plan(sop, calendar, anchor)
        return len(chunk) * step_count

    steps_per_second, _ = rate(plans)
    print(f"plan steps/s: {steps_per_second:,.0f}")
    print(f"plans/s: {steps_per_second * len(sops) / step_count:,.0f}")

    def held_plans() -> int:  # one hold of two days, a day after the case came in
        chunk = next(chunks)
        for anchor in chunk:
            hold = [(anchor + timedelta(days=1), anchor + timedelta(days=3))]
            for sop in sops:
                plan(sop, calendar, anchor, holds=hold)
        return len(chunk) * step_count

    print(f"plan steps/s with one hold: {rate(held_plans)[0]:,.0f}")

    def done_plans() -> int:
        """Every step done, last step first (each before the step it is anchored after),
        an hour apart from the day the case came in, then a hold and a priority change:
        every done step's anchor is the deadline its open anchor step had at its completion."""
        chunk = next(chunks)
        for anchor in chunk:
            hold = [(anchor + timedelta(days=4), anchor + timedelta(days=6))]
            history = [(anchor, "normal"), (anchor + timedelta(days=7), "high")]
            for sop in sops:
                keys = [step.key for step in sop.steps()]
                done = {
                    key: anchor + timedelta(hours=len(keys) - index)
                    for index, key in enumerate(keys)
                }
                plan(sop, calendar, anchor, done, hold, history)
        return len(chunk) * step_count

    print(f"plan steps/s all done out of order, one hold: {rate(done_plans)[0]:,.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
