"""Review dates and durations as QA sees them in validate and in documents."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from sopgen.model import Period, parse_duration


@pytest.mark.parametrize(
    ("period", "start", "expected"),
    [
        ("12 months", date(2026, 3, 15), date(2027, 3, 15)),
        ("1 month", date(2026, 1, 31), date(2026, 2, 28)),
        ("1 month", date(2028, 1, 31), date(2028, 2, 29)),
        ("2 years", date(2024, 2, 29), date(2026, 2, 28)),
        ("18 months", date(2026, 11, 30), date(2028, 5, 30)),
        ("90 days", date(2026, 1, 1), date(2026, 4, 1)),
        ("2 weeks", date(2026, 12, 25), date(2027, 1, 8)),
    ],
)
def test_period_adds_calendar_time(period: str, start: date, expected: date) -> None:
    assert Period.parse(period).add_to(start) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30 minutes", timedelta(minutes=30)),
        ("1 hour", timedelta(hours=1)),
        ("2 days", timedelta(days=2)),
        ("2d", timedelta(days=2)),
        ("4h", timedelta(hours=4)),
        ("1w", timedelta(weeks=1)),
    ],
)
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


def test_bad_duration_says_how() -> None:
    with pytest.raises(ValueError, match=re.escape("write e.g. '30 minutes', '2h', '2d'")):
        parse_duration("soon")
