"""The one clock every command reads (docs/deadlines.md "Times, time zones and the clock").

- `now()` is "now" for every decision sopgen makes: which reviews are
  overdue (`validate`, `build`), which steps are due (`case …`), when a step
  was done. `SOPGEN_NOW` (ISO 8601) pins it for demos and tests; without it,
  the system clock.
- `source_date()` is `SOURCE_DATE_EPOCH` (reproducible builds), or None: the
  production time to write into generated files (a calendar's DTSTAMP) so
  that the same inputs give byte-identical files. It never changes what is
  valid or due.

Nothing else in sopgen reads the system clock or these two variables.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

NOW_VARIABLE = "SOPGEN_NOW"
EPOCH_VARIABLE = "SOURCE_DATE_EPOCH"


class ClockError(ValueError):
    """SOPGEN_NOW or SOURCE_DATE_EPOCH holds something that is not a time."""

    def __init__(self, message: str, hint: str):
        super().__init__(message)
        self.message = message
        self.hint = hint


def now(zone: ZoneInfo | None = None) -> datetime:
    """The current moment, aware: SOPGEN_NOW when set, else the system clock.

    A SOPGEN_NOW without an offset is wall-clock time in `zone` (the company's
    zone), or UTC when no zone is known; a date alone means its midnight.
    """
    text = os.environ.get(NOW_VARIABLE, "").strip()
    if not text:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ClockError(
            f"{NOW_VARIABLE}='{text}' is not an ISO 8601 time",
            f"write e.g. {NOW_VARIABLE}=2026-11-23T10:00 or {NOW_VARIABLE}=2026-11-23, "
            f"or unset {NOW_VARIABLE} to use the system clock",
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone or UTC)
    return moment


def today(zone: ZoneInfo | None = None) -> date:
    """Today's date in `zone` (the company's), by `now()`."""
    moment = now(zone)
    return moment.astimezone(zone).date() if zone else moment.date()


def source_date() -> datetime | None:
    """SOURCE_DATE_EPOCH as an aware UTC time, or None when it is not set."""
    text = os.environ.get(EPOCH_VARIABLE, "").strip()
    if not text:
        return None
    try:
        return datetime.fromtimestamp(int(text), UTC)
    except (ValueError, OverflowError, OSError):
        raise ClockError(
            f"{EPOCH_VARIABLE}='{text}' is not a number of seconds since 1970",
            f"write e.g. {EPOCH_VARIABLE}=$(git log -1 --format=%ct), or unset it",
        ) from None
