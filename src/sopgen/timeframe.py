"""The `within:` grammar (docs/deadlines.md "Timeframes"), parsed into a `Timeframe`.

    [Within] Immediate                       [after STEP]
    [Within] N minute(s) | hour(s)           [after STEP]   elapsed time
    [Within] N day(s) | week(s)              [after STEP]   same wall-clock time, N days later
    [Within] N business hour(s)              [after STEP]   counted inside opening hours
    [Within] N business day(s)               [after STEP]   closing time of the N-th business day

Case does not matter; singular and plural are both accepted. STEP is a step id
or `section.step`. Without `after`, the anchor is the moment the case was
received.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    IMMEDIATE = "immediate"
    ELAPSED = "elapsed"  # minutes / hours: exact seconds
    CALENDAR = "calendar"  # days / weeks: same wall-clock time in the company zone
    BUSINESS_HOURS = "business-hours"
    BUSINESS_DAYS = "business-days"


MAX_AMOUNT = 10_000
"""Far beyond any SOP timeframe, and small enough that no date arithmetic overflows."""


@dataclass(frozen=True, slots=True)
class Unit:
    """A unit a timeframe counts in: what its plain form is and what `business` makes it."""

    name: str  # singular, as written: "minute"
    kind: Kind  # ELAPSED (exact seconds) or CALENDAR (same wall-clock time, days later)
    length: int  # seconds (ELAPSED) or days (CALENDAR) per unit
    business: Kind | None = None  # the kind of "N business <unit>s", if business time


UNITS = {
    unit.name: unit
    for unit in (
        Unit("minute", Kind.ELAPSED, 60),
        Unit("hour", Kind.ELAPSED, 3600, business=Kind.BUSINESS_HOURS),
        Unit("day", Kind.CALENDAR, 1, business=Kind.BUSINESS_DAYS),
        Unit("week", Kind.CALENDAR, 7),
    )
}
"""Every unit of the `within:` grammar, the one table of them: the parser's pattern,
its spelling corrections, a timeframe's length, which units may be business time and
the schema's and the manual's lists (a test holds them to it) derive from this. A new
unit of an existing kind (a fortnight: CALENDAR, 14 days) is one row here; a new kind
also needs its rule in `businesstime.BusinessCalendar.deadline` and
`cases.reminder_rules.send_time`."""


@dataclass(frozen=True, slots=True)
class Timeframe:
    kind: Kind
    amount: int = 0
    unit: str = ""  # a key of UNITS for every kind but IMMEDIATE
    after: str | None = None  # anchor step reference, as written
    text: str = ""  # the original text, for display

    @property
    def seconds(self) -> int:
        """Length of an ELAPSED timeframe in seconds."""
        return self.amount * UNITS[self.unit].length

    @property
    def days(self) -> int:
        """Length of a CALENDAR timeframe in days."""
        return self.amount * UNITS[self.unit].length


class TimeframeError(ValueError):
    """A `within:` text outside the grammar; `hint` says the right form."""

    def __init__(self, message: str, hint: str):
        super().__init__(message)
        self.hint = hint


_UNIT_WORDS = "|".join(f"{name}s?" for name in UNITS)
_STEP_REF = r"[A-Za-z0-9][A-Za-z0-9_-]*(?:\.[A-Za-z0-9][A-Za-z0-9_-]*)?"
_PATTERN = re.compile(
    rf"""^\s*(?:within\s+)?
    (?:
        (?P<immediate>immediate(?:ly)?)
      | (?P<amount>\d+)\s+(?P<business>business\s+)?(?P<unit>{_UNIT_WORDS})
    )
    (?:\s+after\s+(?P<after>{_STEP_REF}))?
    \s*$""",
    re.IGNORECASE | re.VERBOSE,
)

HINT = (
    "write e.g. 'Immediate', '1 hour', '24 hours', '3 days', '2 weeks', '4 business hours', "
    "'5 business days', or '2 business days after investigate'"
)


_WORDS = ("within", "immediate", "immediately", "business", "after")
_UNITS = tuple(word for name in UNITS for word in (name, name + "s"))
_SHORT = {
    "m": "minutes", "min": "minutes", "mins": "minutes",
    "h": "hours", "hr": "hours", "hrs": "hours",
    "d": "days", "w": "weeks", "wk": "weeks", "wks": "weeks",
    "biz": "business", "workday": "business day", "workdays": "business days",
    "working": "business",
}  # fmt: skip


def _corrected(text: str) -> str | None:
    """`text` with misspelt or abbreviated words replaced, when that makes a timeframe."""
    words = text.split()
    fixed = []
    for i, word in enumerate(words):
        lower = word.lower()
        if word.isdigit() or lower in _WORDS + _UNITS or (i and words[i - 1].lower() == "after"):
            fixed.append(word)
            continue
        if lower in _SHORT:
            replacement = _SHORT[lower]
            if lower in ("m", "min", "mins", "h", "hr", "hrs", "d", "w", "wk", "wks"):
                amount = words[i - 1] if i else ""
                replacement = replacement.rstrip("s") if amount == "1" else replacement
            fixed.append(replacement)
            continue
        close = difflib.get_close_matches(lower, _WORDS + _UNITS, n=1, cutoff=0.7)
        if not close:
            return None
        fixed.append(close[0])
    candidate = " ".join(fixed)
    return candidate if candidate != text.strip() and _PATTERN.match(candidate) else None


def parse(text: str) -> Timeframe:
    """Parse a `within:` text; raises TimeframeError with a hint when it is outside the grammar."""
    match = _PATTERN.match(text)
    if not match:
        corrected = _corrected(text)
        hint = f"did you mean '{corrected}'?" if corrected else HINT
        raise TimeframeError(f"'{text}' is not a timeframe sopgen understands", hint)
    after = match["after"]
    if match["immediate"]:
        return Timeframe(Kind.IMMEDIATE, after=after, text=text.strip())
    amount = int(match["amount"])
    unit = match["unit"].lower().rstrip("s")
    if amount == 0:
        raise TimeframeError(
            f"'{text}': a timeframe of zero is not a deadline", "write 'Immediate' instead"
        )
    if amount > MAX_AMOUNT:
        raise TimeframeError(
            f"'{text}': {amount} is larger than sopgen allows ({MAX_AMOUNT})",
            "use a realistic timeframe; an SOP step is due within days or weeks",
        )
    if match["business"]:
        business = UNITS[unit].business
        if business is None:
            can = " and ".join(f"{u.name}s" for u in UNITS.values() if u.business)
            raise TimeframeError(
                f"'{text}': only {can} can be business time",
                f"write '{amount} {unit}s' or convert to business days/hours",
            )
        kind = business
    else:
        kind = UNITS[unit].kind
    return Timeframe(kind, amount, unit, after, text.strip())
