"""A case's `deadlines.ics` (docs/desk.md "Calendar files"), encoded with `icalendar`.

- VCALENDAR: VERSION 2.0, PRODID, CALSCALE GREGORIAN, X-WR-CALNAME; no METHOD:
  the file is a calendar to import, not an iTIP message (METHOD:PUBLISH would
  require an ORGANIZER on every event, and an event with an organizer shows
  as a meeting invitation in Outlook and Apple Calendar);
- one VEVENT per step: DTEND = the step's deadline, DTSTART = deadline −
  `calendar.lead` (default 30 minutes), both in UTC (`…Z`), so no VTIMEZONE is
  needed and every client reads them alike;
- UID `<case>.<section>.<step>@<installation>.sopgen`: stable per case and
  step, so importing an updated file updates the events instead of
  duplicating them, and unique per installation (the store's random id), so
  another repository or a reset store never reuses one (cases from before
  installation ids keep `<case>.<section>.<step>@sopgen`);
- SEQUENCE from the store, raised whenever that step's deadline or done state
  changed; LAST-MODIFIED is the time of that change; DTSTAMP the time of the
  case's last change (or SOURCE_DATE_EPOCH), so the same state gives the same
  bytes;
- a VALARM (DISPLAY, TRIGGER −`calendar.reminder` before the start) on every
  open step whose reminder still lay ahead when the file was written (an
  alarm already due would fire the moment the file is imported); a done step
  keeps its event, marked "✔ Done:" in SUMMARY, "Done at …" in DESCRIPTION
  ("✔ Done late:" and "Done late, at …" when it was done after its
  deadline), TRANSP TRANSPARENT and no alarm (a reminder for finished work
  is noise), so re-importing clears it everywhere;
- a cancelled case's steps not done become STATUS:CANCELLED, marked
  "✖ Cancelled:", free time, no alarm; its done steps stay as they were;
- while a case is on hold its steps not done stay at the deadline the hold
  stopped them at (a file cannot move with the clock), marked "⏸ On hold:"
  with "On hold since …" first in DESCRIPTION, STATUS:TENTATIVE, free time and
  no alarm: the clock is stopped, nothing is due. They stay in the feed; when
  the case resumes they move to their new deadlines (SEQUENCE raised).
- DESCRIPTION names the case's priority second ("Priority: critical"), and a
  timeframe from the step's targets per priority says whose ("2 business
  hours (critical)"); the open steps of a case more urgent than normal are
  marked "❗ Critical: " in SUMMARY (and the alarm), what a calendar grid shows
  first; a priority change raises their SEQUENCE.

`render_ics` writes the bytes `icalendar` would write for the same components
(tests build them and compare) about ten times faster — building and
serialising components was most of the time of `case import` — by encoding
each value with icalendar's own property types (`vText` escapes commas,
semicolons, backslashes and newlines, so no text can inject a property) and
folding lines as icalendar does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from icalendar import vCategory, vDuration, vText

try:  # what vText.to_ical does, without building a Parameters object per value
    from icalendar.parser.string import _escape_char as escape_text
except ImportError:  # pragma: no cover - another icalendar layout: the public way

    def escape_text(text: str | bytes) -> str:
        return vText(text).to_ical().decode("utf-8")


from sopgen import __version__
from sopgen.cases.model import Case, EventInfo
from sopgen.cases.plan import PlannedStep
from sopgen.cases.timestamps import human
from sopgen.model import Config, Sop

PRODID = f"-//sopgen//sopgen {__version__}//EN"
DONE_MARK = "✔ Done: "
DONE_LATE_MARK = "✔ Done late: "
CANCELLED_MARK = "✖ Cancelled: "
ON_HOLD_MARK = "⏸ On hold: "


def priority_mark(case: Case, config: Config) -> str:
    """The SUMMARY mark of a case's open steps whose priority is more urgent than normal,
    "❗ Critical: ": what a calendar's grid shows of a critical case (none otherwise)."""
    priority = case.priority
    if config.priority_rank(priority) >= 0:
        return ""
    return f"❗ {priority[:1].upper()}{priority[1:]}: "


def event_uid(case_id: str, step_key: str, installation: str | None) -> str:
    """The UID of a step's event: the same in every rewrite of the case's file, and
    unique per installation (`installation` is the store's random id; None for a case
    from before installation ids, whose events keep the UIDs they were published with)."""
    if installation is None:
        return f"{case_id}.{step_key}@sopgen"
    return f"{case_id}.{step_key}@{installation}.sopgen"


@dataclass(frozen=True, slots=True)
class EventFields:
    """What one step's VEVENT says."""

    uid: str
    stamp: datetime  # UTC
    created: datetime
    modified: datetime
    sequence: int
    start: datetime
    end: datetime
    summary: str
    description: str
    categories: tuple[str, ...]
    done: bool  # done or cancelled: left out of feeds
    free: bool  # TRANSP:TRANSPARENT (done, cancelled or on hold)
    status: str  # CONFIRMED; CANCELLED (a cancelled case) or TENTATIVE (on hold) when not done
    alarm: str | None  # the reminder's text; None: no reminder
    trigger: timedelta


def calendar_name(case: Case, config: Config) -> str:
    return f"Case {case.id} ({case.sop.id} {config.fill(case.sop.title)})"


def event_fields(case: Case, config: Config, stamp: datetime | None = None) -> list[EventFields]:
    """The events of a case's calendar; `stamp` (DTSTAMP) defaults to its last change."""
    stamp = _utc(stamp or case.updated_at)
    written = _utc(case.updated_at)  # the files are written at every change
    zone = config.zone
    title = config.fill(case.sop.title)
    created = _utc(case.opened_at)
    urgent = priority_mark(case, config)
    fields = []
    for planned in case.steps:
        info = case.events.get(planned.key) or EventInfo(0, case.updated_at)
        step = planned.step
        text = " ".join(config.fill(step.do).split())
        role = config.role_name(step.responsible)
        due = _utc(planned.due)
        summary = f"[{case.id}] {text.rstrip('.')} ({role})"
        target = case.target_priority(planned)
        lines = [
            f"Case: {case.id}",
            f"Priority: {case.priority}",
            f"SOP: {case.sop.id} {title} (version {case.sop.version})",
            f"Step {planned.section.letter}{step.number} ({step.key}): {text}",
            f"Responsible: {role}",
            f"Timeframe: {planned.within.text}" + (f" ({target})" if target else ""),
            f"Due: {human(planned.due, zone)}",
        ]
        held = case.on_hold if planned.done is None and not case.cancelled else None
        if planned.done is None and not case.cancelled and held is None:
            lines.append(f"Due soon from: {human(planned.due_soon_from(config.due_soon), zone)}")
        if case.assignee:
            lines.append(f"Assignee: {case.assignee}")
        if case.summary:
            lines.append(f"Summary: {case.summary}")
        done = planned.done is not None
        cancelled = case.cancelled and not done
        if cancelled:
            summary = CANCELLED_MARK + summary
            why = f": {case.cancel_reason}" if case.cancel_reason else ""
            lines.insert(0, f"Case cancelled {human(case.cancelled_at or stamp, zone)}{why}")
        elif planned.done is not None and planned.late:
            summary = DONE_LATE_MARK + summary
            lines.insert(0, f"Done late, at {human(planned.done, zone)} (after the deadline)")
        elif planned.done is not None:
            summary = DONE_MARK + summary
            lines.insert(0, f"Done at {human(planned.done, zone)}")
        elif held is not None:
            summary = ON_HOLD_MARK + summary
            why = f" ({held.reason})" if held.reason else ""
            lines.insert(
                0,
                f"On hold since {human(held.start, zone)}{why}: the clock is stopped; "
                "the deadline moves on when the case resumes",
            )
        else:
            summary = urgent + summary
        start = due - config.calendar_lead
        trigger = -config.calendar_reminder
        # an alarm whose moment had passed when the file was written would fire at import
        alarm = not done and not cancelled and held is None and start + trigger > written
        fields.append(
            EventFields(
                uid=event_uid(case.id, step.key, case.installation),
                stamp=stamp,
                created=created,
                modified=_utc(info.modified_at),
                sequence=info.sequence,
                start=start,
                end=due,
                summary=summary,
                description="\n".join(lines),
                categories=("sopgen", case.sop.id),
                done=done or cancelled,
                free=done or cancelled or held is not None,
                status="CANCELLED" if cancelled else "TENTATIVE" if held else "CONFIRMED",
                alarm=f"Due {human(planned.due, zone)}: {summary}" if alarm else None,
                trigger=trigger,
            )
        )
    return fields


# --------------------------------------------------------------------------- the fast writer


def render_ics(case: Case, config: Config, stamp: datetime | None = None) -> bytes:
    """The case's calendar as iCalendar bytes (see the module docstring)."""
    out = _head(calendar_name(case, config))
    for f in event_fields(case, config, stamp):
        out += _event_lines(f)
    out.append(b"END:VCALENDAR")
    return b"\r\n".join(fold(line) for line in out) + b"\r\n"


def render_new_ics(case: Case, config: Config, texts: StepTexts) -> bytes:
    """`render_ics` of a case none of whose steps is done (a case just opened or
    imported), with its events written as a feed writes them (`feed_events`: the
    texts its SOP's steps share, made once for every case): the same bytes, about
    four times faster, which an import of thousands of cases notices. Any other
    case is written by `render_ics`."""
    if case.cancelled or any(p.done is not None for p in case.steps):
        return render_ics(case, config)
    head = b"".join(fold(line) + b"\r\n" for line in _head(calendar_name(case, config)))
    return head + feed_events(case, config, texts) + b"END:VCALENDAR\r\n"


FEED_REFRESH = "PT15M"
"""How often a subscribed client should fetch a feed again (RFC 7986 REFRESH-INTERVAL)."""


def render_feed(cases: Sequence[Case], config: Config, name: str) -> bytes:
    """A live feed (the desk's `/feeds/…ics`): the open steps of `cases` in one calendar.

    Each event is exactly the one the case's `deadlines.ics` holds (same UID,
    SEQUENCE, times and text, DTSTAMP the case's last change), so a client
    that imported the file and subscribes to the feed sees one event per
    step. Done steps are left out: the feed is what is still to do.
    """
    return assemble_feed(name, [feed_events(case, config) for case in cases])


def feed_events(case: Case, config: Config, texts: StepTexts | None = None) -> bytes:
    """The folded VEVENTs of a case's open steps, each line ending in CRLF (a feed's part).

    The bytes `event_fields` and `_event_lines` give for those steps (a test holds
    them equal to the case's `deadlines.ics`), written straight from the case
    (a case on hold, whose events are marked, the general way). RFC 5545 TEXT
    escaping works character by character, so a text is escaped in pieces: what
    every case of the same SOP snapshot and step says alike comes from `texts`
    escaped (made once, shared across cases), a case's own texts are escaped once
    per case, and the times in between never need it. The one place where pieces
    escape otherwise than the whole is a CR ending a piece before a line break of
    the description (CR LF is one break); a case with such a text is written the
    general way too.
    """
    if case.cancelled:  # every step is done or cancelled: none is open
        return b""
    if case.on_hold is not None or not _piecewise(case.id, case.assignee):
        return _general_feed_events(case, config)
    texts = texts if texts is not None else StepTexts(config)
    shared = texts.of(case.sop)
    zone = config.zone
    due_soon = config.due_soon
    written = _utc(case.updated_at)
    stamp = b"DTSTAMP:" + _time(written)  # DTSTAMP: the case's last change
    created = b"CREATED:" + _time(_utc(case.opened_at))
    case_id = escape_text(case.id)
    own = ""
    if case.assignee:
        own += "\\nAssignee: " + escape_text(case.assignee)
    if case.summary:
        own += "\\nSummary: " + escape_text(case.summary)
    if case.installation is None:
        uid_end = "@sopgen"
    else:
        uid_end = f"@{escape_text(case.installation)}.sopgen"
    summary_head = f"SUMMARY:{escape_text(priority_mark(case, config))}[{case_id}]"
    alarm_head = "DESCRIPTION:Due "
    description_head = f"DESCRIPTION:Case: {case_id}\\nPriority: {escape_text(case.priority)}\\n"
    lead = config.calendar_lead
    trigger = -config.calendar_reminder
    trigger_line = b"TRIGGER:" + vDuration(trigger).to_ical()
    modified_lines: dict[datetime, bytes] = {}
    out: list[bytes] = []
    for planned in case.steps:
        if planned.done is not None:
            continue
        key = planned.key
        step = shared.get(key)
        if step is None:
            step = texts.add(case.sop, planned)
        if step.description is None:  # a text that escapes otherwise in pieces
            return _general_feed_events(case, config)
        info = case.events.get(key)
        due = _utc(planned.due)
        # times as `human` writes them need no escaping: digits, English names and a
        # zone abbreviation (letters, digits, + and - only)
        due_text = human(planned.due, zone)
        soon_text = human(planned.due_soon_from(due_soon), zone)
        within = planned.within.text
        timeframe = step.timeframe if within == step.within else _escaped_timeframe(within)
        if timeframe is None:
            return _general_feed_events(case, config)
        target = case.target_priority(planned)
        if target:  # "2 business hours (critical)", as the checklist says it
            timeframe = f"{timeframe} ({escape_text(target)})"
        summary = summary_head + step.summary_tail
        start = due - lead
        modified = info.modified_at if info is not None else case.updated_at
        modified_line = modified_lines.get(modified)
        if modified_line is None:
            modified_line = modified_lines[modified] = b"LAST-MODIFIED:" + _time(_utc(modified))
        out += (
            b"BEGIN:VEVENT",
            fold(summary.encode()),
            b"DTSTART:" + _time(start),
            b"DTEND:" + _time(due),
            stamp,
            fold(f"UID:{case_id}.{step.key}{uid_end}".encode()),
            b"SEQUENCE:" + str(info.sequence if info is not None else 0).encode(),
            step.categories,
            created,
            fold(
                f"{description_head}{step.description}\\nTimeframe: {timeframe}"
                f"\\nDue: {due_text}\\nDue soon from: {soon_text}{own}".encode()
            ),
            modified_line,
            b"STATUS:CONFIRMED",
            b"TRANSP:OPAQUE",
        )
        # an alarm whose moment had passed when the case last changed would fire at once
        if start + trigger > written:
            out += (
                b"BEGIN:VALARM",
                b"ACTION:DISPLAY",
                fold(f"{alarm_head}{due_text}: {summary[8:]}".encode()),
                trigger_line,
                b"END:VALARM",
            )
        out.append(b"END:VEVENT")
    out.append(b"")
    return b"\r\n".join(out)


def _general_feed_events(case: Case, config: Config) -> bytes:
    """`feed_events` the way the case's file is written (a case on hold, whose events
    are marked, or one whose texts do not escape in pieces)."""
    return b"".join(
        fold(line) + b"\r\n"
        for f in event_fields(case, config)
        if not f.done
        for line in _event_lines(f)
    )


def _piecewise(*texts: str | None) -> bool:
    """Whether these texts, escaped apart, give what the whole text escapes to: none
    ends in a CR (before the description's next line break it would make one CR LF)."""
    return not any(text and text.endswith("\r") for text in texts)


@lru_cache(maxsize=256)
def _escaped_timeframe(text: str) -> str | None:
    """A timeframe's text escaped (a priority's, other than the step's own); None when
    it does not escape in pieces."""
    return escape_text(text) if _piecewise(text) else None


@dataclass(frozen=True, slots=True)
class _StepText:
    """What every case's event of one step says alike, escaped for TEXT values."""

    key: str  # the step key, escaped
    summary_tail: str  # after "[case id]"
    description: str | None  # the SOP, Step and Responsible lines; None: not piecewise
    within: str  # the step's own timeframe text
    timeframe: str | None  # that text, escaped; None: not piecewise
    categories: bytes  # the whole folded CATEGORIES line


class StepTexts:
    """The texts of each SOP snapshot's steps as events show them, made once and shared
    by every case planned from that snapshot (keyed by the `Sop` object itself, which
    the case service keeps one of per snapshot). Bounded: past `size` snapshots it
    starts afresh. Safe to share between threads (at worst two make the same text)."""

    def __init__(self, config: Config, size: int = 1000):
        self.config = config
        self.size = size
        self._sops: dict[int, tuple[Sop, dict[str, _StepText]]] = {}

    def of(self, sop: Sop) -> dict[str, _StepText]:
        kept = self._sops.get(id(sop))
        if kept is None or kept[0] is not sop:
            if len(self._sops) >= self.size:
                self._sops = {}
            kept = self._sops[id(sop)] = (sop, {})
        return kept[1]

    def add(self, sop: Sop, planned: PlannedStep) -> _StepText:
        config = self.config
        step = planned.step
        text = " ".join(config.fill(step.do).split())
        role = config.role_name(step.responsible)
        description = (
            f"SOP: {sop.id} {config.fill(sop.title)} (version {sop.version})\n"
            f"Step {planned.section.letter}{step.number} ({step.key}): {text}\n"
            f"Responsible: {role}"
        )
        within = step.within.text
        piecewise = _piecewise(description, within)
        made = _StepText(
            key=escape_text(step.key),
            summary_tail=escape_text(f" {text.rstrip('.')} ({role})"),
            description=escape_text(description) if piecewise else None,
            within=within,
            timeframe=escape_text(within) if piecewise else None,
            categories=fold(b"CATEGORIES:" + _categories(("sopgen", sop.id))),
        )
        self.of(sop)[planned.key] = made
        return made


def assemble_feed(name: str, parts: Sequence[bytes]) -> bytes:
    """A feed calendar around `parts` from `feed_events` (REFRESH-INTERVAL and
    X-PUBLISHED-TTL `FEED_REFRESH`, RFC 7986 and the de-facto Outlook property)."""
    head = _head(name)
    head[4:4] = [
        b"REFRESH-INTERVAL;VALUE=DURATION:" + FEED_REFRESH.encode(),
        b"X-PUBLISHED-TTL:" + FEED_REFRESH.encode(),
    ]
    return b"".join([*(fold(line) + b"\r\n" for line in head), *parts, b"END:VCALENDAR\r\n"])


def summary_event(
    uid: str, start: datetime, stamp: datetime, summary: str, description: str
) -> bytes:
    """One free 15-minute event at `start` (UTC) saying what a bounded feed left out."""
    fields = EventFields(
        uid=uid,
        stamp=stamp,
        created=stamp,
        modified=stamp,
        sequence=0,
        start=start,
        end=start + timedelta(minutes=15),
        summary=summary,
        description=description,
        categories=("sopgen",),
        done=False,
        free=True,
        status="CONFIRMED",
        alarm=None,
        trigger=timedelta(0),
    )
    return b"".join(fold(line) + b"\r\n" for line in _event_lines(fields))


def _head(name: str) -> list[bytes]:
    return [
        b"BEGIN:VCALENDAR",
        b"VERSION:2.0",
        b"PRODID:" + _text(PRODID),
        b"CALSCALE:GREGORIAN",
        b"X-WR-CALNAME:" + _text(name),
    ]


def _event_lines(f: EventFields) -> list[bytes]:
    out = [
        b"BEGIN:VEVENT",
        b"SUMMARY:" + _text(f.summary),
        b"DTSTART:" + _time(f.start),
        b"DTEND:" + _time(f.end),
        b"DTSTAMP:" + _time(f.stamp),
        b"UID:" + _text(f.uid),
        b"SEQUENCE:" + str(f.sequence).encode(),
        b"CATEGORIES:" + _categories(f.categories),
        b"CREATED:" + _time(f.created),
        b"DESCRIPTION:" + _text(f.description),
        b"LAST-MODIFIED:" + _time(f.modified),
        b"STATUS:" + f.status.encode(),
        b"TRANSP:" + (b"TRANSPARENT" if f.free else b"OPAQUE"),
    ]
    if f.alarm is not None:
        out += [
            b"BEGIN:VALARM",
            b"ACTION:DISPLAY",
            b"DESCRIPTION:" + _text(f.alarm),
            b"TRIGGER:" + vDuration(f.trigger).to_ical(),
            b"END:VALARM",
        ]
    out.append(b"END:VEVENT")
    return out


def _text(value: str) -> bytes:
    """`vText(value).to_ical()`: RFC 5545 TEXT escaping (a test holds them equal)."""
    return escape_text(value).encode("utf-8")


@lru_cache(maxsize=1024)
def _categories(categories: tuple[str, ...]) -> bytes:
    return vCategory(list(categories)).to_ical()


def _time(moment: datetime) -> bytes:
    """A UTC time as `YYYYMMDDTHHMMSSZ` (`moment` is already in UTC). Formatted from its
    fields: `isoformat` and slicing cost twice as much, and a feed writes three a step."""
    m = moment
    return b"%04d%02d%02dT%02d%02d%02dZ" % (m.year, m.month, m.day, m.hour, m.minute, m.second)


def fold(line: bytes, limit: int = 75) -> bytes:
    """RFC 5545 folding exactly as icalendar does it: segments of at most `limit` − 1
    octets, never inside a UTF-8 sequence, and never right after a backslash or a
    caret (so an escape such as `\\,` stays on one line)."""
    if len(line) < limit:
        return line
    size = limit - 1
    parts = []
    start = 0
    if line.isascii():  # one byte a character: cut every `size`, or one before an escape
        end = len(line) - size
        while start < end:
            cut = start + size
            if line[cut - 1] in _ESCAPE_BYTES:
                cut -= 1
            parts.append(line[start:cut])
            start = cut
        parts.append(line[start:])
        return b"\r\n ".join(parts)
    while len(line) - start > size:
        cut = start + size
        while line[cut] & 0xC0 == 0x80:  # a UTF-8 continuation byte: cut before its lead
            cut -= 1
        if line[cut - 1] in b"\\^" and _chars(line, start, cut) > 1:
            cut -= 1
        parts.append(line[start:cut])
        start = cut
    parts.append(line[start:])
    return b"\r\n ".join(parts)


_ESCAPE_BYTES = frozenset(b"\\^")


def _chars(line: bytes, start: int, end: int) -> int:
    """How many characters line[start:end] holds (it starts and ends at a boundary)."""
    return sum(1 for byte in line[start:end] if byte & 0xC0 != 0x80)


def _utc(moment: datetime) -> datetime:
    utc = moment.astimezone(UTC)
    return utc.replace(microsecond=0) if utc.microsecond else utc
