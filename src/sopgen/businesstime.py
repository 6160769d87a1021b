"""Business time: when a step of a case is due — the rules of docs/deadlines.md.

`BusinessCalendar.deadline(anchor, timeframe)` is the one deadline function; the
case plan, the checklist, the calendar files and `case list` all call it. The
rules, per `Timeframe.kind`:

``Immediate``
    Due at the anchor when the anchor lies inside business hours (opening and
    closing time included), otherwise at the next opening time.
``N minutes`` / ``N hours`` (ELAPSED)
    Exactly N × 60 s / N × 3600 s of elapsed time after the anchor, counted in
    UTC, so a DST change neither stretches nor shrinks it: `24 hours` from
    Saturday 12:00 before the spring change ends on Sunday at 13:00 wall clock.
``N days`` / ``N weeks`` (CALENDAR)
    The same wall-clock time N (7N) calendar days later in the company zone:
    `1 day` from Saturday 12:00 before a DST change is Sunday 12:00, 23 or 25
    real hours later.
``N business hours``
    N × 3600 s of real time counted only inside business hours of business
    days, starting at the anchor when it lies inside business hours, otherwise
    at the next opening time. The result lies after an opening time and at or
    before the closing time of a business day (16:30 + 2 business hours is
    10:30 the next business day; 17:00 + 1 business hour is 10:00).
``N business days``
    The closing time of the N-th business day after day 0. Day 0 is the
    anchor's date when that is a business day and the anchor is not after its
    closing time (an anchor at exactly closing time still counts as that day);
    otherwise day 0 is the next business day. Friday 18:00 + 1 business day is
    Tuesday at closing time; Monday 10:00 + 5 business days is the next Monday
    at closing time; Monday 17:00 + 2 business days is Wednesday at closing time.

A business day is a weekday listed in the business hours that is neither a
public holiday (from the `holidays` package, loaded lazily per year) nor an
extra closure day. Dates, days and opening/closing times are those of the
company time zone, whatever the anchor's offset; every deadline is returned as
an aware datetime in the company zone. A naive anchor is refused (ValueError):
the caller decides how to read it, e.g. with `BusinessCalendar.localize`.

Wall-clock times around DST changes (CALENDAR deadlines, opening and closing
times on a change day, `localize`):

- a wall time that does not exist (skipped by a spring-forward gap) becomes the
  instant the clocks jump, i.e. the first valid time after the gap (02:30 on a
  Berlin spring-change day is 03:00 CEST) — this keeps deadlines monotonic;
- a wall time that happens twice (autumn fold) means its first occurrence
  (``fold=0``, the summer-time offset).

So a later anchor never gives an earlier deadline, with one exception the
"same wall-clock time" rule implies: for `N days`, an anchor in the second pass
of a repeated hour (02:10 CET) has an earlier wall time than one in the first
pass (02:50 CEST), so its deadline is earlier although the anchor is later.

Compare deadlines in UTC (or with `==` across zones): Python compares two
datetimes that share a tzinfo by wall clock, ignoring the fold.

Holds (`BusinessCalendar.held_deadline`): while a case is on hold its clock
stops. The rules are derived once, from one idea — every timeframe is a
*budget* of time, measured in the timeframe's own measure, that the clock
spends from the anchor on; a hold is time the clock does not spend:

- Measure. Business hours and business days are measured in business time
  (real seconds inside opening hours of business days); minutes, hours, days
  and weeks in elapsed time (real seconds, so a DST change inside a hold adds
  exactly the hold's real length).
- Budget. The measure of the stretch from the anchor to the deadline without
  holds (`deadline`): N business hours are N hours of business time;
  `N business days` are the business time from the anchor to the closing time
  of the N-th business day; `3 days` over a spring DST change are 71 hours.
- Deadline with holds: the earliest instant at which the clock, counting from
  the anchor in the timeframe's measure and skipping every moment on hold, has
  spent the whole budget. So a hold adds to a business-unit deadline exactly
  the business time it covers (none for a hold over a night, a weekend, a
  public holiday or a closure day), and to an elapsed-unit deadline exactly its
  own elapsed length; a hold that ends before the anchor, or starts at or after
  the deadline (the step was already due), moves nothing.
- `Immediate` has no budget: it is due at the anchor or the next opening time;
  when that instant lies strictly inside a hold, it is due when the hold ends,
  or at the next opening time after that.

Holds are half-open intervals [start, end) of aware instants; empty ones are
ignored, overlapping and adjacent ones are merged (two adjacent holds equal
one). A hold still running is passed with `end = now` by the caller, so the
deadline moves on while the clock is stopped. The caller also decides which
holds a step sees: a step already done sees only the holds up to its
completion, so its deadline never moves after it is done. Without holds,
`held_deadline` equals `deadline` (and returns it without extra work).

The same budget gives the due-soon mark: `held_deadline(..., share=0.75)` is
the instant at which 75 % of a step's budget is spent, holds skipped.

This module is pure: no clock, no files; the only outside data are the public
holidays of the `holidays` package, read through a per-year cache. A calendar
keeps the opening hours of the business days it has met as one run in order,
with running sums of business time (`_Span`, grown in either direction as it is
asked about other years): a business-day, business-hour or `Immediate` deadline
and a business time are each a bisection or two, whatever the stretch.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING, NamedTuple
from zoneinfo import ZoneInfo

from sopgen.regions import holiday_dates
from sopgen.timeframe import Kind, Timeframe

if TYPE_CHECKING:
    from sopgen.model import Config

MAX_YEARS_WITHOUT_BUSINESS_DAY = 10
"""A calendar with no business day in this many consecutive years is refused (ValueError)."""
FAR_YEARS = 2
"""Years asked about ending more than this many years before the kept run of opening
hours are worked out on their own (not kept), not as part of a run grown back to them."""


class _Window(NamedTuple):
    """Opening hours of one business day, as UTC instants and as company-zone times."""

    open_utc: datetime
    close_utc: datetime
    open_local: datetime
    close_local: datetime


class Hold(NamedTuple):
    """A stretch of time [start, end) during which a case's clock stops (both aware)."""

    start: datetime
    end: datetime


class _Span(NamedTuple):
    """The opening hours of every business day of the years `first`..`last` (company
    zone), in order: window i is day days[i] (an ordinal), open from opens[i] to
    closes[i] (UTC); before[i] is the business time of the windows before it (one item
    more than windows: the last is the total). An instant in [start, end) — from the
    first moment of year `first` to the first moment of the year after `last` — sees
    every window before it, so the business time up to it is one bisection."""

    first: int
    last: int
    start: datetime
    end: datetime
    days: list[int]
    opens: list[datetime]
    closes: list[datetime]
    before: list[timedelta]


class _Year(NamedTuple):
    """Business days of one calendar year."""

    first: int  # ordinal of 1 January
    flags: bytes  # one byte per day of the year: 1 = business day
    days: list[int]  # ordinals of the business days, ascending


def public_holidays(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    """Public holidays of `country` (ISO 3166 code) and optional subdivision in `year`.

    From the `holidays` package, asked once per release and year, then cached
    in the user's cache folder (`sopgen.regions`): asking imports all of its
    country modules, which a short command like `sopgen case list` would
    otherwise spend most of its time on.
    """
    return holiday_dates(country, subdivision, year)


class BusinessCalendar:
    """Business days and hours of a company, and the deadline rules built on them.

    `zone` is the company time zone; `workdays` the weekdays it works (0 = Monday
    … 6 = Sunday); `opens`/`closes` the opening and closing wall-clock times of
    every business day; `closed` extra closure dates; `holidays` a function
    giving the public holidays of one year (called at most once per year, for
    whichever years deadlines reach). Treat an instance as immutable: it only
    caches what it has computed.
    """

    __slots__ = (
        "_closed",
        "_holidays",
        "_public",
        "_span",
        "_windows",
        "_years",
        "closes",
        "opens",
        "workdays",
        "zone",
    )

    def __init__(
        self,
        zone: tzinfo,
        workdays: Iterable[int],
        opens: time,
        closes: time,
        closed: Iterable[date] = (),
        holidays: Callable[[int], Iterable[date]] | None = None,
    ):
        self.zone = zone
        self.workdays = frozenset(workdays)
        self.opens = opens
        self.closes = closes
        if not self.workdays:
            raise ValueError("a business calendar needs at least one working weekday")
        if not self.workdays <= set(range(7)):
            raise ValueError(f"working weekdays must be 0 (Monday) … 6 (Sunday), not {workdays}")
        if opens.tzinfo is not None or closes.tzinfo is not None:
            raise ValueError("opening and closing times are wall-clock times without a zone")
        if closes <= opens:
            raise ValueError(f"closing time {closes} is not after opening time {opens}")
        self._closed: dict[int, set[date]] = {}
        for day in closed:
            self._closed.setdefault(day.year, set()).add(day)
        self._holidays = holidays
        self._public: dict[int, frozenset[date]] = {}
        self._years: dict[int, _Year] = {}
        self._span: _Span | None = None
        self._windows: dict[int, _Window] = {}

    @classmethod
    def from_config(cls, config: Config) -> BusinessCalendar:
        """The calendar of `sopgen.yaml`: zone, business hours, public holidays, closures."""
        country, subdivision = config.holiday_country, config.holiday_subdivision
        holidays = None
        if country:

            def holidays(year: int) -> frozenset[date]:
                return public_holidays(country, subdivision, year)

        hours = config.business_hours
        return cls(
            ZoneInfo(config.timezone),
            hours.days,
            hours.start,
            hours.end,
            closed=config.closed,
            holidays=holidays,
        )

    def __repr__(self) -> str:
        days = ",".join(str(d) for d in sorted(self.workdays))
        return f"BusinessCalendar({self.zone}, days={days}, {self.opens}-{self.closes})"

    # ------------------------------------------------------------------ days

    def is_business_day(self, day: date) -> bool:
        """A working weekday that is neither a public holiday nor a closure day."""
        year = self._year(day.year)
        return bool(year.flags[day.toordinal() - year.first])

    def opening_hours(self, day: date) -> tuple[datetime, datetime] | None:
        """Opening and closing time of `day` in the company zone; None if not a business day."""
        if not self.is_business_day(day):
            return None
        window = self._window(day.toordinal())
        return window.open_local, window.close_local

    def next_opening(self, moment: datetime) -> datetime:
        """The first opening time of a business day at or after `moment` (aware)."""
        utc = _utc(moment)
        local = utc.astimezone(self.zone)
        ordinal, year = local.toordinal(), local.year
        if self._is_business(ordinal, year):
            window = self._window(ordinal)
            if utc <= window.open_utc:
                return window.open_local
        ordinal, _ = self._nth_business_day_after(ordinal, year, 1)
        return self._window(ordinal).open_local

    def localize(self, moment: datetime) -> datetime:
        """`moment` in the company zone; a naive `moment` is read as wall-clock time there.

        A naive wall time skipped by a DST gap becomes the instant the clocks
        jump; one that happens twice means its first occurrence.
        """
        if moment.tzinfo is None or moment.utcoffset() is None:
            return self._wall(moment.replace(tzinfo=None))
        return moment.astimezone(self.zone)

    # ------------------------------------------------------------------ deadline

    def deadline(self, anchor: datetime, tf: Timeframe) -> datetime:
        """When a step with timeframe `tf` anchored at `anchor` is due (rules: module docstring).

        `anchor` must be aware (ValueError otherwise); the deadline is aware,
        in the company zone, and never before the anchor. `tf.after` is not
        looked at: the caller passes the anchor it names.
        """
        utc = _utc(anchor)
        kind = tf.kind
        if kind is not Kind.IMMEDIATE and tf.amount < 1:
            raise ValueError(f"timeframe '{tf.text or tf.amount}' is not at least 1 {tf.unit}")
        try:
            if kind is Kind.BUSINESS_DAYS:
                return self._business_days(utc, tf.amount)
            if kind is Kind.ELAPSED:
                return (utc + timedelta(seconds=tf.seconds)).astimezone(self.zone)
            if kind is Kind.CALENDAR:
                wall = utc.astimezone(self.zone).replace(tzinfo=None)
                return self._wall(wall + timedelta(days=tf.days))
            if kind is Kind.BUSINESS_HOURS:
                return self._business_hours(utc, timedelta(hours=tf.amount))
            if kind is Kind.IMMEDIATE:
                return self._immediate(utc)
        except OverflowError as exc:
            raise ValueError(f"the deadline of '{tf.text}' lies beyond the year 9999") from exc
        raise ValueError(f"unknown timeframe kind {kind!r}")

    def held_deadline(
        self,
        anchor: datetime,
        tf: Timeframe,
        holds: Sequence[tuple[datetime, datetime]] = (),
        share: float = 1.0,
        nominal: datetime | None = None,
    ) -> datetime:
        """When a step is due if the clock stops during `holds` (rules: module docstring).

        `holds` are (start, end) pairs of aware instants, in any order; a hold
        ending before it starts is refused (ValueError). `share` (0 < share ≤ 1)
        asks instead for the instant at which that share of the step's budget is
        spent (the due-soon mark); `Immediate` has no budget, so every share of
        it is its deadline. Without holds and with share 1 this is `deadline`.
        `nominal`, when given, must be `deadline(anchor, tf)`: a caller that has
        it already (a planned step without holds) saves computing it again.
        """
        if not 0 < share <= 1:
            raise ValueError(f"share {share} is not in (0, 1]")
        if nominal is None:
            nominal = self.deadline(anchor, tf)
        if not holds and share == 1:
            return nominal
        start = _utc(anchor)
        spans = [span for span in _merge(holds) if span[1] > start] if holds else []
        try:
            if tf.kind is Kind.IMMEDIATE:
                due = nominal.astimezone(UTC)
                for hold_start, hold_end in spans:
                    if hold_start < due < hold_end:
                        due = self._immediate(hold_end).astimezone(UTC)
                return due.astimezone(self.zone)
            if not spans and share == 1:
                return nominal
            business = tf.kind in (Kind.BUSINESS_HOURS, Kind.BUSINESS_DAYS)
            if not spans:  # a share of the plain window (a due-soon mark): no hold to skip
                end = nominal.astimezone(UTC)
                if not business:
                    return (start + (end - start) * share).astimezone(self.zone)
                # the anchor's place in the windows' sums, found once for both ends
                span = self._spanning(start, end)
                before = _spent(span, start)
                window = _spent(span, end) - before if end > start else timedelta(0)
                return self._reach(span, before + window * share)
            advance: Callable[[datetime, timedelta], datetime]
            measure: Callable[[datetime, datetime], timedelta]
            if business:
                advance, measure = self._business_hours, self._business_time
            else:
                advance, measure = _elapsed, _difference
            budget = measure(start, nominal.astimezone(UTC))
            if share != 1:
                budget = budget * share
            return _spend(start, budget, spans, advance, measure).astimezone(self.zone)
        except OverflowError as exc:
            raise ValueError(f"the deadline of '{tf.text}' lies beyond the year 9999") from exc

    def business_time(
        self, start: datetime, end: datetime, holds: Sequence[tuple[datetime, datetime]] = ()
    ) -> timedelta:
        """Business time between two aware instants: the real time inside opening
        hours of business days, less the time on hold; zero when `end` is not after
        `start`."""
        begin, finish = _utc(start), _utc(end)
        total = self._business_time(begin, finish)
        for hold_start, hold_end in _merge(holds) if holds else ():
            if hold_start < finish and hold_end > begin:
                total -= self._business_time(max(hold_start, begin), min(hold_end, finish))
        return total

    def _business_time(self, start: datetime, end: datetime) -> timedelta:
        """Business time in [start, end) (UTC): a difference of prefix sums over the
        windows in order (`_Span`), so its cost does not grow with the stretch."""
        if end <= start:
            return timedelta(0)
        span = self._spanning(start, end)
        return _spent(span, end) - _spent(span, start)

    def _immediate(self, utc: datetime) -> datetime:
        span = self._covering(utc)
        index = bisect_left(span.closes, utc)  # the first window closing at or after `utc`
        empty = 0
        while index >= len(span.days):
            span, empty = self._extended(span, empty)
        if span.opens[index] <= utc:  # inside it (opening and closing time included)
            return utc.astimezone(self.zone)
        return self._window(span.days[index]).open_local

    def _business_days(self, utc: datetime, amount: int) -> datetime:
        """The closing time of the `amount`-th business day after day 0. Day 0 is the
        first window closing at or after `utc`: the anchor's own day when it is a
        business day and `utc` is not after its closing time, else the next one."""
        span = self._covering(utc)
        index = bisect_left(span.closes, utc) + amount
        empty = 0
        while index >= len(span.days):
            span, empty = self._extended(span, empty)
        return self._window(span.days[index]).close_local

    def _business_hours(self, utc: datetime, remaining: timedelta) -> datetime:
        """The instant `remaining` (> 0) of business time after `utc`: after an opening
        time and at or before the closing time of a business day. Found in the prefix
        sums (bisect), not by walking the days."""
        span = self._covering(utc)
        return self._reach(span, _spent(span, utc) + remaining)

    def _reach(self, span: _Span, target: timedelta) -> datetime:
        """The instant by which `target` of business time of `span` (grown as needed) is
        spent: after an opening time and at or before the closing time of a business
        day (`target` past the business time before the anchor)."""
        empty = 0
        while target > span.before[-1]:
            span, empty = self._extended(span, empty)
        index = bisect_left(span.before, target, 1) - 1  # the window that holds `target`
        return (span.opens[index] + (target - span.before[index])).astimezone(self.zone)

    def cover(self, first: int, last: int) -> None:
        """Work out the opening hours of the years `first`..`last` now rather than when a
        deadline first falls in them (a server does this as it starts, for the years
        around today). Answers do not change; only when the work is done."""
        self._cover(first, last)

    # ------------------------------------------------------------------ windows in order

    def _spanning(self, start: datetime, end: datetime) -> _Span:
        """A span of windows in which both `start` and `end` (UTC, start first) lie."""
        span = self._span
        if span is not None and span.start <= start and end < span.end:
            return span
        zone = self.zone
        first, last = start.astimezone(zone).year, end.astimezone(zone).year
        return self._cover(min(first, last), max(first, last))

    def _covering(self, utc: datetime) -> _Span:
        """A span of windows in which `utc` (UTC) lies."""
        span = self._span
        if span is not None and span.start <= utc < span.end:
            return span
        year = utc.astimezone(self.zone).year
        return self._cover(year, year)

    def _cover(self, first: int, last: int) -> _Span:
        """A span of at least the years `first`..`last`: the kept one, grown. A new span
        replaces the kept one whole, so another thread reading that one is not upset."""
        span = self._span
        if span is not None:
            if span.first <= first and last <= span.last:
                return span
            if span.first <= first:  # later years: appended, the sums stay as they were
                while span.last < last:
                    span, _ = self._extended(span, 0)
                return span
            if last < span.first - FAR_YEARS:
                # far before the kept run (a case from long ago): those years on their own,
                # not kept, rather than every year from then up to the kept run
                return self._built(first, last)
            last = max(last, span.last)
        span = self._built(first, last)
        self._span = span
        return span

    def _built(self, first: int, last: int) -> _Span:
        """A new span of the years `first`..`last`."""
        days: list[int] = []
        opens: list[datetime] = []
        closes: list[datetime] = []
        before = [timedelta(0)]
        for year in range(first, last + 1):
            self._add_year(year, days, opens, closes, before)
        return _Span(
            first, last, self._year_start(first), self._year_start(last + 1),
            days, opens, closes, before,
        )  # fmt: skip

    def _extended(self, span: _Span, empty: int) -> tuple[_Span, int]:
        """`span` and the year after it (kept as the span, when it is later than the kept
        one); `empty` counts the years in a row without a business day, and at
        MAX_YEARS_WITHOUT_BUSINESS_DAY the calendar is refused (ValueError)."""
        year = span.last + 1
        days, opens, closes, before = (
            list(span.days), list(span.opens), list(span.closes), list(span.before),
        )  # fmt: skip
        added = self._add_year(year, days, opens, closes, before)
        empty = 0 if added else empty + 1
        self._check_empty(empty)
        grown = span._replace(
            last=year, end=self._year_start(year + 1), days=days, opens=opens, closes=closes,
            before=before,
        )  # fmt: skip
        kept = self._span
        if kept is None or (kept.first == grown.first and kept.last < grown.last):
            self._span = grown
        return grown, empty

    def _add_year(
        self,
        year: int,
        days: list[int],
        opens: list[datetime],
        closes: list[datetime],
        before: list[timedelta],
    ) -> int:
        """Append the windows of `year` to the lists; how many there were."""
        running = before[-1]
        found = self._year(year).days
        for ordinal in found:
            window = self._window(ordinal)
            days.append(ordinal)
            opens.append(window.open_utc)
            closes.append(window.close_utc)
            running += window.close_utc - window.open_utc
            before.append(running)
        return len(found)

    def _year_start(self, year: int) -> datetime:
        """The first moment of `year` in the company zone, in UTC (past the ends of the
        calendar: the earliest or latest datetime)."""
        try:
            return self._wall(datetime(year, 1, 1)).astimezone(UTC)
        except (OverflowError, ValueError):
            return _LATEST if year > 1 else _EARLIEST

    # ------------------------------------------------------------------ caches

    def _is_business(self, ordinal: int, year: int) -> bool:
        table = self._years.get(year) or self._year(year)
        return bool(table.flags[ordinal - table.first])

    def _nth_business_day_after(self, ordinal: int, year: int, n: int) -> tuple[int, int]:
        """Ordinal and year of the n-th (n ≥ 1) business day after the day `ordinal`."""
        empty = 0
        while True:
            table = self._years.get(year) or self._year(year)
            days = table.days
            index = bisect_right(days, ordinal) + n - 1
            if index < len(days):
                return days[index], year
            n = index - len(days) + 1
            empty = 0 if days else empty + 1
            self._check_empty(empty)
            year += 1

    def _check_empty(self, years: int) -> None:
        if years >= MAX_YEARS_WITHOUT_BUSINESS_DAY:
            raise ValueError(
                f"the business calendar has no business day in {years} years: "
                "check business_hours.days, holidays and closed days"
            )

    def _year(self, year: int) -> _Year:
        table = self._years.get(year)
        if table is not None:
            return table
        if not 1 <= year <= 9999:
            raise OverflowError(f"year {year} is out of range")
        closed = set(self._closed.get(year, ()))
        for source in (year - 1, year, year + 1):  # observed holidays may cross New Year
            closed.update(d for d in self._public_holidays(source) if d.year == year)
        first = date(year, 1, 1).toordinal()
        length = date(year, 12, 31).toordinal() - first + 1
        weekday = date(year, 1, 1).weekday()
        closed_ordinals = {d.toordinal() for d in closed}
        flags = bytearray(length)
        days = []
        for index in range(length):
            ordinal = first + index
            if (weekday + index) % 7 in self.workdays and ordinal not in closed_ordinals:
                flags[index] = 1
                days.append(ordinal)
        table = _Year(first, bytes(flags), days)
        self._years[year] = table
        return table

    def _public_holidays(self, year: int) -> frozenset[date]:
        if self._holidays is None or not 1 <= year <= 9999:
            return frozenset()
        found = self._public.get(year)
        if found is None:
            found = self._public[year] = frozenset(self._holidays(year))
        return found

    def _window(self, ordinal: int) -> _Window:
        window = self._windows.get(ordinal)
        if window is None:
            day = date.fromordinal(ordinal)
            open_local = self._wall(datetime.combine(day, self.opens))
            close_local = self._wall(datetime.combine(day, self.closes))
            window = _Window(
                open_local.astimezone(UTC), close_local.astimezone(UTC), open_local, close_local
            )
            self._windows[ordinal] = window
        return window

    def _wall(self, wall: datetime) -> datetime:
        """The naive wall-clock time `wall` in the company zone (gap → jump, fold → first)."""
        local = wall.replace(tzinfo=self.zone, fold=0)
        offset, offset_fold = local.utcoffset(), local.replace(fold=1).utcoffset()
        # equal offsets: an ordinary time; fold=0 larger: a repeated time, its first pass
        if offset == offset_fold or (
            offset is not None and offset_fold is not None and offset > offset_fold
        ):
            return local
        return self._gap_end(wall)  # fold=0 smaller: skipped by the clocks

    def _gap_end(self, wall: datetime) -> datetime:
        """The instant the clocks jump over the nonexistent wall time `wall`."""
        # PEP 495: in a gap, fold=1 reads `wall` with the offset after the jump (an
        # instant before it), fold=0 with the offset before (an instant after it).
        before = int(wall.replace(tzinfo=self.zone, fold=1).timestamp()) - 1
        after = int(wall.replace(tzinfo=self.zone, fold=0).timestamp()) + 1
        offset_after = self._offset_at(after)
        while after - before > 1:
            middle = (before + after) // 2
            if self._offset_at(middle) == offset_after:
                after = middle
            else:
                before = middle
        return datetime.fromtimestamp(after, UTC).astimezone(self.zone)

    def _offset_at(self, timestamp: int) -> timedelta | None:
        return datetime.fromtimestamp(timestamp, UTC).astimezone(self.zone).utcoffset()


_EARLIEST = datetime.min.replace(tzinfo=UTC)
_LATEST = datetime.max.replace(tzinfo=UTC)


def _spent(span: _Span, utc: datetime) -> timedelta:
    """The business time of `span` before `utc` (which lies in it)."""
    index = bisect_right(span.opens, utc) - 1  # the last window open by `utc`
    if index < 0:
        return timedelta(0)
    return span.before[index] + min(utc, span.closes[index]) - span.opens[index]


def _merge(holds: Iterable[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """Holds in UTC, sorted, without empty ones, overlapping and adjacent ones merged."""
    spans: list[tuple[datetime, datetime]] = []
    for hold_start, hold_end in holds:
        begin, end = _utc(hold_start), _utc(hold_end)
        if end < begin:
            raise ValueError(
                f"a hold ends ({hold_end.isoformat()}) before it starts ({hold_start.isoformat()})"
            )
        if end > begin:
            spans.append((begin, end))
    spans.sort()
    merged: list[tuple[datetime, datetime]] = []
    for begin, end in spans:
        if merged and begin <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((begin, end))
    return merged


def _spend(
    start: datetime,
    budget: timedelta,
    spans: list[tuple[datetime, datetime]],
    advance: Callable[[datetime, timedelta], datetime],
    measure: Callable[[datetime, datetime], timedelta],
) -> datetime:
    """The earliest instant at which `budget` (> 0) of `measure` is spent from `start`,
    skipping the merged `spans` (UTC, sorted, all ending after `start`)."""
    cursor, remaining = start, budget
    for hold_start, hold_end in spans:
        if hold_start > cursor:
            due = advance(cursor, remaining)
            if due <= hold_start:
                return due
            remaining -= measure(cursor, hold_start)
        cursor = max(cursor, hold_end)
    return advance(cursor, remaining)


def _elapsed(start: datetime, length: timedelta) -> datetime:
    return start + length


def _difference(start: datetime, end: datetime) -> timedelta:
    return end - start


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is UTC:  # already (the store's times): nothing to check or convert
        return moment
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(
            f"{moment.isoformat()} has no UTC offset; read it in the company zone first "
            "(BusinessCalendar.localize)"
        )
    return moment.astimezone(UTC)
