"""The timing rules a document states, generated from the company config.

Every controlled document explains what its timeframes mean (docs/authoring.md
"Documents"): business days, opening hours, time zone, holiday region,
closure days, and that plain hours and days are calendar time. The words
follow the deadline rules of `businesstime.py`; pure, config in, text out.
"""

from __future__ import annotations

from dataclasses import dataclass

from sopgen.model import Config

DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True, slots=True)
class TimingRule:
    term: str  # what a step's timeframe says, e.g. "business day"
    meaning: str


def day_span(days: frozenset[int]) -> str:
    """{0,1,2,3,4} → "Monday to Friday"; gaps are listed ("Monday, Wednesday and Friday")."""
    ordered = sorted(days)
    if not ordered:
        return "no day"
    if len(ordered) > 2 and ordered == list(range(ordered[0], ordered[-1] + 1)):
        return f"{DAY_NAMES[ordered[0]]} to {DAY_NAMES[ordered[-1]]}"
    names = [DAY_NAMES[d] for d in ordered]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def holiday_region(config: Config) -> str:
    if not config.holiday_country:
        return ""
    if config.holiday_subdivision:
        return f"{config.holiday_country}-{config.holiday_subdivision}"
    return config.holiday_country


def timing_rules(config: Config) -> tuple[TimingRule, ...]:
    """What "business day", "business hours", plain hours and days and "Immediate" mean."""
    hours = config.business_hours
    opening = f"{hours.start:%H:%M}–{hours.end:%H:%M}"
    zone = config.timezone
    region = holiday_region(config)
    excluded = []
    if region:
        excluded.append(f"public holidays of {region}")
    if config.closed:
        days = ", ".join(d.isoformat() for d in sorted(config.closed))
        excluded.append(f"the company's closure days ({days})")
    business_day = f"{day_span(hours.days)}" + (
        f", except {' and '.join(excluded)}" if excluded else ""
    )
    return (
        TimingRule("Time zone", f"All times are {zone} local time."),
        TimingRule(
            "Business day",
            f"{business_day}. Opening hours are {opening}.",
        ),
        TimingRule(
            "N business days",
            f"Due at closing time ({hours.end:%H:%M}) of the N-th business day after the "
            "starting point's day; a start after closing time or on a day that is not a "
            "business day counts from the next business day.",
        ),
        TimingRule(
            "N business hours",
            f"Counted only within opening hours ({opening}) on business days.",
        ),
        TimingRule(
            "N hours, N days",
            "Plain hours and days are calendar time, weekends and holidays included: "
            "“4 hours” is four hours of elapsed time, “3 days” is the same time of day "
            "three calendar days later.",
        ),
        TimingRule(
            "Immediate",
            "At once; outside opening hours, at the next opening time.",
        ),
        TimingRule(
            "… after step X",
            "Counted from when step X is done (until then, from its deadline); "
            "otherwise from when the complaint was received.",
        ),
    )
