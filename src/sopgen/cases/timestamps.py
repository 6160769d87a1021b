"""Reading timestamps users type, and writing them for people and machines.

Users write ISO 8601 (`2026-11-20T18:05`, `2026-11-20 18:05`, with an offset
or `Z`); a time without an offset is wall-clock time in the company zone.
Machines get ISO 8601 with the company zone's offset; people get
`Tue 24 Nov 2026 17:00 CET` (English names, independent of the locale).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sopgen.cases.errors import CaseError
from sopgen.model import MONTHS, date_hint

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
"""Timestamps outside these years are typing mistakes, not complaints."""

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _real_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


HINT = (
    "write ISO 8601, e.g. 2026-11-20T18:05, '2026-11-20 18:05', 2026-11-20T17:05Z "
    "or 2026-11-20T18:05+01:00"
)


_GERMAN = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})[ T](\d{1,2}:\d{2}(?::\d{2})?)")
"""`DD.MM.YYYY HH:MM[:SS]`, the German form, read as the same ISO 8601 time."""


def parse_timestamp(text: str, zone: ZoneInfo, what: str = "timestamp") -> datetime:
    """`text` as an aware datetime; naive times are read in `zone`.

    Besides ISO 8601, the German `22.12.2026 10:00` is read (day first, with dots).
    Raises CaseError for text that is not ISO 8601, a date without a time, a
    wall-clock time skipped by a daylight-saving change, or a year outside
    2000–2099.
    """
    raw = text.strip()
    if not raw:
        raise CaseError(f"the {what} is empty", HINT)
    if german := _GERMAN.fullmatch(raw):  # 22.12.2026 10:00, as German CRM exports write it
        day, month, year, clock = german.groups()
        hour, rest = clock.split(":", 1)
        raw = f"{year}-{int(month):02}-{int(day):02}T{int(hour):02}:{rest}"
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        day = _DATE.match(raw)
        if day and not _real_date(day.group(0)):
            raise CaseError(
                f"'{text}' is not a real date", date_hint(day.group(0), "YYYY-MM-DDTHH:MM")
            ) from None
        raise CaseError(f"'{text}' is not a {what} sopgen understands", HINT) from None
    if len(raw) <= 10 and ":" not in raw:
        raise CaseError(
            f"'{text}' has a date but no time of day", f"add the time, e.g. {raw}T09:30"
        )
    outside = CaseError(f"'{text}' lies outside the years 2000–2099", HINT)
    if not EARLIEST.year - 1 <= moment.year < LATEST.year + 1:
        raise outside  # before any conversion: 0001-01-01 in a zone east of UTC overflows
    if moment.tzinfo is None:
        local = moment.replace(tzinfo=zone)
        back = local.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
        if back != moment:
            raise CaseError(
                f"'{text}' does not exist in {zone.key}: the clocks jump forward then",
                "give the time with its UTC offset, or a time just after the change",
            )
        moment = local
    if not EARLIEST <= moment < LATEST:
        raise outside
    return moment


def received_now(now: datetime) -> datetime:
    """The received time of a case opened without one: now, to the minute (its seconds
    dropped), as deadlines are shown. The one rule for `case open`, the desk's *Open a
    case* form and the API; a received time that is given is kept as given."""
    return now.replace(second=0, microsecond=0)


def iso(moment: datetime, zone: ZoneInfo) -> str:
    """ISO 8601 in the company zone, to the second: `2026-11-20T18:05:00+01:00`."""
    return moment.astimezone(zone).replace(microsecond=0).isoformat()


def human(moment: datetime, zone: ZoneInfo) -> str:
    """`Tue 24 Nov 2026 17:00 CET`: company zone, English names. (Two digits from a
    table: a `:02d` format costs more than the rest of the line, and a calendar feed
    writes two of these a step.)"""
    local = moment.astimezone(zone)
    two = _TWO_DIGITS
    return (
        f"{_DAYS[local.weekday()]} {two[local.day]} {MONTHS[local.month - 1]} {local.year} "
        f"{two[local.hour]}:{two[local.minute]} {local.tzname() or ''}"
    ).rstrip()


_TWO_DIGITS = tuple(f"{n:02d}" for n in range(60))


FUTURE_TOLERANCE = timedelta(minutes=5)
"""How far ahead of the clock a typed time may lie (clocks of two machines drift)."""
