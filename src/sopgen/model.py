"""The domain model: company config, SOPs, sections, steps, revisions.

Frozen dataclasses built only from data that passed the JSON Schema, so types
are known here; what the schema cannot say (real dates, times, zones, the
timeframe grammar) is checked while building and reported as `Problem`s.
"""

from __future__ import annotations

import calendar as _calendar
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sopgen import timeframe
from sopgen.problems import Problem, error
from sopgen.source import FieldPath, SourceMap
from sopgen.timeframe import Timeframe

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


# --------------------------------------------------------------------------- periods


@dataclass(frozen=True, slots=True)
class Period:
    """A calendar period such as `12 months` (review intervals, retention)."""

    amount: int
    unit: str  # day | week | month | year

    @classmethod
    def parse(cls, text: str) -> Period:
        amount, unit = text.split()
        return cls(int(amount), unit.lower().rstrip("s"))

    def add_to(self, day: date) -> date:
        """`day` plus this period; month ends clip (Jan 31 + 1 month = Feb 28/29)."""
        if self.unit == "day":
            return day + timedelta(days=self.amount)
        if self.unit == "week":
            return day + timedelta(weeks=self.amount)
        months = self.amount * (12 if self.unit == "year" else 1)
        index = day.month - 1 + months
        year, month = day.year + index // 12, index % 12 + 1
        return date(year, month, min(day.day, _calendar.monthrange(year, month)[1]))

    def __str__(self) -> str:
        return f"{self.amount} {self.unit}{'' if self.amount == 1 else 's'}"


_DURATION = re.compile(r"^\s*(\d+)\s+(minute|hour|day)s?\s*$", re.IGNORECASE)


def parse_duration(text: str) -> timedelta:
    """`30 minutes`, `2 hours`, `1 day` → timedelta (config durations, `--due-within`)."""
    match = _DURATION.match(text)
    if not match:
        short = re.fullmatch(r"\s*(\d+)\s*([mhdw])\s*", text, re.IGNORECASE)
        if not short:
            raise ValueError(f"'{text}' is not a duration; write e.g. '30 minutes', '2h', '2d'")
        amount, unit = (
            int(short[1]),
            {"m": "minute", "h": "hour", "d": "day", "w": "week"}[short[2].lower()],
        )
    else:
        amount, unit = int(match[1]), match[2].lower()
    seconds = {"minute": 60, "hour": 3600, "day": 86400, "week": 604800}[unit]
    return timedelta(seconds=amount * seconds)


def parse_share(text: str) -> float:
    """`75%` → 0.75 (`due_soon_at`); the schema has checked the form (1 % to 100 %)."""
    share = float(text.strip().rstrip("%").strip()) / 100
    if not 0 < share <= 1:
        raise ValueError(f"'{text}' is not a share between 1% and 100%")
    return share


# --------------------------------------------------------------------------- config


@dataclass(frozen=True, slots=True)
class Smtp:
    """The mail server reminders go through (`smtp:`); the password comes from the
    environment variable named `password_env`, never from the file."""

    host: str
    sender: str  # `from:`
    port: int = 587
    security: str = "starttls"  # starttls | ssl | none
    username: str | None = None
    password_env: str | None = None
    timeout: int = 30


@dataclass(frozen=True, slots=True)
class Reminders:
    """When `sopgen remind` writes (`reminders:`)."""

    before: tuple[Timeframe, ...] = ()
    overdue: bool = True
    digest: bool = True
    base_url: str | None = None
    retry_after: timedelta = timedelta(minutes=10)
    max_per_minute: int | None = None  # messages a minute at most; None: no cap


DEFAULT_BEFORE = ("1 business day", "1 business hour")


@dataclass(frozen=True, slots=True)
class BusinessHours:
    days: frozenset[int]  # 0 = Monday … 6 = Sunday
    start: time
    end: time


DEFAULT_MEANINGS = ("author", "review", "approval")
"""What an electronic signature may mean when sopgen.yaml lists no `signature_meanings`."""

DEFAULT_PRIORITIES = ("critical", "high", "normal", "low")
"""The case priorities when sopgen.yaml lists none, most urgent first."""


@dataclass(frozen=True)
class Config:
    company: str
    timezone: str
    business_hours: BusinessHours
    holiday_country: str | None
    holiday_subdivision: str | None
    closed: frozenset[date]
    roles: dict[str, str]
    database: str | None = None
    calendar_lead: timedelta = timedelta(minutes=30)
    # a user's feed: the cases whose next deadline lies from `feed_back` ago to `feed_ahead`
    # from today (and those on hold), at most `feed_cases` of them (docs/desk.md)
    feed_back: timedelta = timedelta(days=14)
    feed_ahead: timedelta = timedelta(days=60)
    feed_cases: int = 80
    calendar_reminder: timedelta = timedelta(minutes=15)
    priorities: tuple[str, ...] = DEFAULT_PRIORITIES
    """Case priorities, most urgent first; `normal` is the default and the fallback."""
    priorities_set: bool = False
    """Whether sopgen.yaml lists `priorities:` (else they are `DEFAULT_PRIORITIES`)."""
    due_soon: timedelta | float = 0.75
    """When an open step turns `due-soon`: a share of its window (`due_soon_at`, 0.75
    by default), or a fixed time before its deadline (`calendar.due_soon`, as in 0.1)."""
    logo: str | None = None
    primary_color: str = "#1f4e79"
    accent_color: str = "#c0504d"
    font: str | None = None
    language: str = "en"
    smtp: Smtp | None = None
    reminders: Reminders = Reminders()
    signatures: str = "typed"
    """`typed` (the `approvals:` in each SOP) or `electronic` (signature records)."""
    signature_meanings: tuple[str, ...] = DEFAULT_MEANINGS
    required_signatures: tuple[str, ...] = ("approval",)
    """Under `electronic`, the meanings an effective SOP needs on its current content."""
    path: str = "sopgen.yaml"
    digest: str = ""
    source: SourceMap | None = field(default=None, compare=False, repr=False)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def role_name(self, role: str) -> str:
        return self.roles.get(role, role)

    def fill(self, text: str) -> str:
        """Fill `{company}` in SOP text (plain replace: other braces stay as written)."""
        return text.replace("{company}", self.company)

    @property
    def priorities_hint(self) -> str:
        """The hint for an unknown priority: which there are, and where they come from."""
        names = ", ".join(self.priorities)
        if self.priorities_set:
            return f"priorities in sopgen.yaml: {names}"
        return (
            f"sopgen.yaml sets no priorities, so the defaults apply: {names}; to add one, "
            "list every priority under 'priorities:' in sopgen.yaml, most urgent first "
            "(normal is required)"
        )

    def priority_named(self, text: str) -> str | None:
        """The priority of `priorities:` that `text` names; see `priority_named`."""
        return priority_named(text, self.priorities)

    def priority_rank(self, priority: str) -> int:
        """Where `priority` stands against `normal`: below 0 more urgent (critical, high),
        0 normal, above 0 less urgent (low); what lists and badges mark."""
        order = self.priorities
        if priority not in order or "normal" not in order:
            return 0
        return order.index(priority) - order.index("normal")


def priority_named(text: str, priorities: Iterable[str]) -> str | None:
    """The priority among `priorities` (sopgen.yaml's) that `text` names, in sopgen.yaml's
    spelling: a user may type `High` or ` high ` for `high`; None when it names none.

    The one match every entry point uses (CLI, desk forms and filters, API, CSV
    import), so a priority is stored and compared in one spelling only.
    """
    wanted = text.strip().casefold()
    return next((p for p in priorities if p.casefold() == wanted), None)


# --------------------------------------------------------------------------- SOP


STEP_LABEL = re.compile(r"([A-Za-z]{1,2})([0-9]{1,3})")
"""A step label as documents show it: section letter(s) and step number, e.g. `A3`."""


@dataclass(frozen=True, slots=True)
class Step:
    id: str
    section: str  # section id
    number: int  # 1-based within its section
    do: str
    responsible: str
    within: Timeframe  # for priority `normal` (and every priority not in `within_by`)
    accountable: str | None = None
    consulted: tuple[str, ...] = ()
    informed: tuple[str, ...] = ()
    notes: str | None = None
    within_by: tuple[tuple[str, Timeframe], ...] = ()  # priority → timeframe, as written

    def timeframe(self, priority: str | None = None) -> Timeframe:
        """The timeframe for a case of `priority`; `normal`'s for a priority not given."""
        for name, tf in self.within_by:
            if name == priority:
                return tf
        return self.within

    @property
    def key(self) -> str:
        """How cases and `after` anchors name the step: `section.step`."""
        return f"{self.section}.{self.id}"

    def raci(self) -> dict[str, str]:
        """Role id → letters (R, A, C, I) of this step, for the responsibility matrix."""
        letters: dict[str, str] = {}
        for role, letter in (
            [(self.responsible, "R")]
            + ([(self.accountable, "A")] if self.accountable else [])
            + [(r, "C") for r in self.consulted]
            + [(r, "I") for r in self.informed]
        ):
            letters[role] = letters.get(role, "") + letter
        return letters


@dataclass(frozen=True, slots=True)
class Section:
    id: str
    title: str
    letter: str  # A, B, C …
    steps: tuple[Step, ...]


@dataclass(frozen=True, slots=True)
class Approval:
    """A signature on the current version; `meaning` is author, review or approval."""

    name: str
    role: str
    date: date
    meaning: str = "approval"


@dataclass(frozen=True, slots=True)
class Signed:
    """An electronic signature record that verified (`sopgen.signatures`), as documents
    show it; `covers` is False when the SOP's content changed after it was signed."""

    seq: int
    name: str
    role: str
    meaning: str
    signed_at: datetime
    content_sha256: str
    covers: bool


@dataclass(frozen=True, slots=True)
class Revision:
    version: str
    date: date
    description: str
    author: str


@dataclass(frozen=True, slots=True)
class Reference:
    sop: str | None = None
    title: str | None = None
    url: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class Sop:
    id: str
    title: str
    version: str
    status: str
    owner: str
    introduction: str
    purpose: str
    scope: str
    responsibilities: tuple[tuple[str, str], ...]
    procedure: tuple[Section, ...]
    documentation: str
    revisions: tuple[Revision, ...]
    effective: date | None = None
    review_every: Period | None = None
    approvals: tuple[Approval, ...] = ()
    retention: Period | None = None
    retention_from: str | None = None  # "the end of employment": the period counts from it
    references: tuple[Reference, ...] = ()
    path: str = ""
    digest: str = ""
    source: SourceMap | None = field(default=None, compare=False, repr=False)
    content_sha256: str = ""  # of what `sopgen check` counts as content (sopgen.signatures)
    signed: tuple[Signed, ...] = ()  # verified electronic signature records, oldest first

    def steps(self) -> Iterator[Step]:
        for section in self.procedure:
            yield from section.steps

    @property
    def has_priority_targets(self) -> bool:
        """Whether any step gives a timeframe per priority (else a priority moves nothing)."""
        return any(step.within_by for step in self.steps())

    def step(self, ref: str) -> Step | None:
        """Find a step the way people name it: `section.step`, the bare step id (ids are
        unique per SOP), or the label the documents and checklists show (`A3`: section
        letter and step number, in any case). An id or key wins over a label."""
        ref = ref.strip()
        for step in self.steps():
            if ref in (step.key, step.id):
                return step
        match = STEP_LABEL.fullmatch(ref)
        if match:
            letter, number = match.group(1).upper(), int(match.group(2))
            for section in self.procedure:
                if section.letter == letter and 1 <= number <= len(section.steps):
                    return section.steps[number - 1]
        return None

    def label(self, step: Step) -> str:
        """The label documents and checklists show for `step`: `A3`."""
        for section in self.procedure:
            if section.id == step.section:
                return f"{section.letter}{step.number}"
        return step.key  # pragma: no cover - every step belongs to a section

    def roles(self) -> list[str]:
        """Every role the SOP names, in first-mention order (matrix columns)."""
        seen: dict[str, None] = {self.owner: None}
        for role, _ in self.responsibilities:
            seen.setdefault(role, None)
        for step in self.steps():
            for role in step.raci():
                seen.setdefault(role, None)
        return list(seen)

    @property
    def review_base(self) -> date | None:
        """The date the review period counts from: the later of effective and newest approval."""
        dates = [
            d
            for d in [self.effective, *(a.date for a in self.approvals if a.meaning == "approval")]
            if d and d != date.min
        ]
        return max(dates) if dates else None

    @property
    def next_review(self) -> date | None:
        base = self.review_base
        if base is None or self.review_every is None:
            return None
        return self.review_every.add_to(base)

    def review_overdue(self, today: date) -> bool:
        due = self.next_review
        return due is not None and due < today and self.status != "retired"


# --------------------------------------------------------------------------- building


class _Maker:
    """Collects problems while turning schema-valid data into model objects."""

    def __init__(self, file: str, source: SourceMap):
        self.file = file
        self.source = source
        self.problems: list[Problem] = []

    def fail(self, path: FieldPath, code: str, message: str, hint: str | None = None) -> None:
        mark = self.source.value(path)
        self.problems.append(error(self.file, mark.line, mark.column, code, message, hint))

    def date(self, value: str | None, path: FieldPath) -> date | None:
        day = read_date(value)
        if value is not None and day is None:
            self.fail(path, "bad-date", *bad_date(value))
        return day


def make_config(
    data: dict[str, Any], source: SourceMap, digest: str = ""
) -> tuple[Config, list[Problem]]:
    """Turn schema-valid config data into a `Config`, checking what the schema cannot."""
    b = _Maker(source.file, source)
    try:
        ZoneInfo(data["timezone"])
    except (ZoneInfoNotFoundError, ValueError):
        b.fail(
            ("timezone",),
            "bad-timezone",
            f"unknown time zone '{data['timezone']}'",
            "use an IANA name such as Europe/Berlin, America/New_York or Asia/Tokyo",
        )
    hours = data["business_hours"]
    # the schema's pattern admits only real HH:MM times
    start, end = time.fromisoformat(hours["start"]), time.fromisoformat(hours["end"])
    if end <= start:
        b.fail(
            ("business_hours", "end"),
            "bad-hours",
            f"closing time {hours['end']} is not after opening time {hours['start']}",
            'write opening and closing times of one day, e.g. start: "09:00", end: "17:00"',
        )
    holidays = data.get("holidays") or {}
    closed = {
        d
        for i, text in enumerate(holidays.get("closed", []))
        if (d := b.date(text, ("holidays", "closed", i)))
    }
    country = holidays.get("country")
    cal = data.get("calendar") or {}
    brand = data.get("branding") or {}
    smtp = data.get("smtp")
    config = Config(
        company=data["company"],
        timezone=data["timezone"],
        business_hours=BusinessHours(
            frozenset(WEEKDAYS.index(d) for d in hours["days"]), start, end
        ),
        holiday_country=country,
        holiday_subdivision=holidays.get("subdivision"),
        closed=frozenset(closed),
        roles=dict(data["roles"]),
        priorities=tuple(data.get("priorities", DEFAULT_PRIORITIES)),
        priorities_set="priorities" in data,
        database=data.get("database"),
        calendar_lead=parse_duration(cal.get("lead", "30 minutes")),
        feed_back=parse_duration(cal.get("feed_back", "14 days")),
        feed_ahead=parse_duration(cal.get("feed_ahead", "60 days")),
        feed_cases=cal.get("feed_cases", 80),
        calendar_reminder=parse_duration(cal.get("reminder", "15 minutes")),
        due_soon=(
            parse_duration(cal["due_soon"])
            if "due_soon" in cal
            else parse_share(data.get("due_soon_at", "75%"))
        ),
        logo=brand.get("logo"),
        primary_color=brand.get("primary_color", "#1f4e79"),
        accent_color=brand.get("accent_color", "#c0504d"),
        font=brand.get("font"),
        language=data.get("language", "en"),
        smtp=_smtp(smtp) if smtp else None,
        reminders=_reminders(b, data.get("reminders") or {}),
        signatures=data.get("signatures", "typed"),
        signature_meanings=tuple(data.get("signature_meanings", DEFAULT_MEANINGS)),
        required_signatures=tuple(data.get("required_signatures", ("approval",))),
        path=source.file,
        digest=digest,
        source=source,
    )
    return config, b.problems


def _smtp(data: dict[str, Any]) -> Smtp:
    security = data.get("security", "starttls")
    port = data.get("port", {"starttls": 587, "ssl": 465, "none": 25}[security])
    return Smtp(
        host=data["host"],
        sender=data["from"],
        port=port,
        security=security,
        username=data.get("username"),
        password_env=data.get("password_env"),
        timeout=data.get("timeout", 30),
    )


def _reminders(b: _Maker, data: dict[str, Any]) -> Reminders:
    """`reminders:`; each `before` entry is a timeframe without `after` and not Immediate."""
    before = []
    for i, text in enumerate(data.get("before", DEFAULT_BEFORE)):
        try:
            tf = timeframe.parse(text)
        except timeframe.TimeframeError as exc:
            b.fail(("reminders", "before", i), "bad-reminder", str(exc), exc.hint)
            continue
        if tf.after or tf.kind is timeframe.Kind.IMMEDIATE:
            b.fail(
                ("reminders", "before", i),
                "bad-reminder",
                f"'{text}' is not a length of time before a deadline",
                "write how long before the deadline, e.g. '1 business day', '2 hours'",
            )
            continue
        before.append(tf)
    return Reminders(
        before=tuple(before),
        overdue=data.get("overdue", True),
        digest=data.get("digest", True),
        base_url=(data.get("base_url") or "").rstrip("/") or None,
        retry_after=parse_duration(data.get("retry_after", "10 minutes")),
        max_per_minute=data.get("max_per_minute"),
    )


MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
"""English month abbreviations, whatever the locale (hints, and times shown to people)."""


def bad_date(value: str) -> tuple[str, str]:
    """Message and hint for a YYYY-MM-DD text that is no real date."""
    return f"'{value}' is not a real date", date_hint(value)


def date_hint(text: str, form: str = "YYYY-MM-DD") -> str:
    """Why `text` (starting YYYY-MM-DD) names no day: `Feb 2026 has 28 days; write …`.

    One hint for SOP dates and the timestamps of the case commands alike.
    """
    parts = re.match(r"(\d{4})-(\d{2})-(\d{2})", text)
    year, month = (int(parts[1]), int(parts[2])) if parts else (0, 0)
    if not parts or year < 1:
        return f"write an existing calendar date as {form}, e.g. 2026-12-01"
    if not 1 <= month <= 12:
        return f"months run from 01 to 12; write {form}"
    days = _calendar.monthrange(year, month)[1]
    return f"{MONTHS[month - 1]} {year} has {days} days; write {form}"


def read_date(value: str | None) -> date | None:
    """A YYYY-MM-DD text as a date; None when absent or not a real date.

    Unreal dates are reported by `checks.check_dates` on the raw document, so
    building a model never fails or reports twice.
    """
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def read_timeframe(text: str) -> Timeframe:
    """The parsed `within:`; an unparsable one (reported by checks) becomes Immediate."""
    try:
        return timeframe.parse(text)
    except timeframe.TimeframeError:
        return Timeframe(timeframe.Kind.IMMEDIATE, text=text)


def _normal_within(within: str | dict[str, str]) -> str:
    """The `within:` text for priority `normal` (the schema requires it in a mapping)."""
    return within if isinstance(within, str) else within.get("normal", "Immediate")


def _within_by(within: str | dict[str, str]) -> tuple[tuple[str, Timeframe], ...]:
    if isinstance(within, str):
        return ()
    return tuple((priority, read_timeframe(text)) for priority, text in within.items())


def make_sop(data: dict[str, Any], source: SourceMap, digest: str = "") -> Sop:
    """Turn schema-valid SOP data into a `Sop` (checks report what is wrong beyond the schema)."""
    sections = []
    for s_index, section in enumerate(data["procedure"]):
        steps = [
            Step(
                id=step["id"],
                section=section["id"],
                number=t_index + 1,
                do=step["do"],
                responsible=step["responsible"],
                within=read_timeframe(_normal_within(step["within"])),
                within_by=_within_by(step["within"]),
                accountable=step.get("accountable"),
                consulted=tuple(step.get("consulted", ())),
                informed=tuple(step.get("informed", ())),
                notes=step.get("notes"),
            )
            for t_index, step in enumerate(section["steps"])
        ]
        sections.append(
            Section(section["id"], section["title"], section_letter(s_index), tuple(steps))
        )
    return Sop(
        id=data["id"],
        title=data["title"],
        version=data["version"],
        status=data["status"],
        owner=data["owner"],
        introduction=data["introduction"],
        purpose=data["purpose"],
        scope=data["scope"],
        responsibilities=tuple(data["responsibilities"].items()),
        procedure=tuple(sections),
        documentation=data["documentation"],
        revisions=tuple(
            Revision(r["version"], read_date(r["date"]) or date.min, r["description"], r["author"])
            for r in data["revisions"]
        ),
        effective=read_date(data.get("effective")),
        review_every=Period.parse(data["review_every"]) if "review_every" in data else None,
        approvals=tuple(
            Approval(
                a["name"],
                a["role"],
                read_date(a["date"]) or date.min,
                a.get("meaning", "approval"),
            )
            for a in data.get("approvals", [])
        ),
        retention=Period.parse(data["retention"]) if "retention" in data else None,
        retention_from=data.get("retention_from"),
        references=tuple(
            Reference(r.get("sop"), r.get("title"), r.get("url"), r.get("note"))
            for r in data.get("references", [])
        ),
        path=source.file,
        digest=digest,
        source=source,
    )


def section_letter(index: int) -> str:
    """The letter of the section at 0-based `index`: A … Z, then AA, AB …"""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters
