"""The case model: what the case service returns and the views (checklist, calendar, CLI) show.

Plain frozen dataclasses and the checks of user-typed case fields. No store,
no SQLAlchemy: the checklist, the calendar writer and the CSV reader import
this module, not `sopgen.cases.service`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sopgen.cases.errors import CaseError
from sopgen.cases.plan import ON_HOLD, PlannedStep, priority_at
from sopgen.model import Sop
from sopgen.problems import Problem

CANCELLED = "cancelled"
"""The status of a step that was not done when its case was cancelled."""

# --------------------------------------------------------------------------- case ids

CASE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_RESERVED = re.compile(r"(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?", re.IGNORECASE)
CASE_ID_HINT = (
    "a case id is 1–64 letters, digits, '.', '_' or '-', starting with a letter or digit, "
    "e.g. C-2026-0042 (it names the case's folder under output/cases/)"
)


def check_case_id(case_id: str) -> str | None:
    """Why `case_id` cannot name a case (and its folder), or None when it can."""
    if not CASE_ID.fullmatch(case_id):
        if len(case_id) > 64:
            return f"case id '{case_id[:70]}…' is longer than 64 characters"
        return f"'{case_id}' is not a valid case id"
    if ".." in case_id:
        return f"case id '{case_id}' contains '..'"
    if case_id.endswith("."):
        return f"case id '{case_id}' ends with '.' (some file systems drop it)"
    if _RESERVED.fullmatch(case_id):
        return f"case id '{case_id}' is a reserved device name on Windows"
    return None


def valid_case_id(case_id: str) -> str:
    """`case_id`, or CaseError saying why it cannot name a case."""
    why = check_case_id(case_id)
    if why:
        raise CaseError(why, CASE_ID_HINT)
    return case_id


def clean_text(text: str | None, what: str) -> str | None:
    """A free-text field (assignee, summary) stripped; control characters refused
    (they break every output format). Empty text is None."""
    if text is None:
        return None
    text = " ".join(text.split()) if what == "assignee" else text.strip()
    if any(ord(c) < 32 and c not in "\n\t" for c in text):
        raise CaseError(f"the {what} contains control characters", "write plain text")
    limit = 200 if what == "assignee" else 2000
    if len(text) > limit:
        raise CaseError(f"the {what} is longer than {limit} characters", "shorten it")
    return text or None


# --------------------------------------------------------------------------- the case view


@dataclass(frozen=True)
class EventInfo:
    """The store's state of one step's calendar event."""

    sequence: int
    modified_at: datetime  # UTC


@dataclass(frozen=True)
class Hold:
    """A stretch of time the case waited on the customer: its clock stopped."""

    start: datetime  # company zone
    end: datetime | None  # None while the hold runs
    reason: str | None = None


DONE_ACTION, REOPEN_ACTION = "done", "reopen"
"""What a `StepEvent` records: a step ticked, or a tick undone."""
UPGRADED = "upgrade"
"""`StepEvent.via` of a completion revision 0012 copied into the history."""


@dataclass(frozen=True)
class StepEvent:
    """One tick or reopen of a step: the case's audit trail of completions."""

    step: str  # section.step
    action: str  # DONE_ACTION | REOPEN_ACTION
    done_at: datetime  # company zone: the completion time ticked, or the one reopened
    recorded_at: datetime  # company zone: when it was recorded
    actor: str | None = None  # the desk login or the CLI's OS user; None: not known
    via: str | None = None  # cli | desk | api | upgrade (copied in by revision 0012)

    def who(self, names: Mapping[str, str] | None = None) -> str:
        """`alice (cli)`, `Alice Smith (alice, desk)` with the desk's `names` of logins;
        for a completion an upgrade copied in, that nobody knows who."""
        if self.via == UPGRADED:
            return "recorded before sopgen kept step history: who is not known"
        who = self.actor or "someone unknown"
        name = (names or {}).get(who) if self.via in ("desk", "api") else None
        if name and name != who:
            return f"{name} ({who}, {self.via})"
        return f"{who} ({self.via})" if self.via else who


@dataclass(frozen=True)
class Case:
    """A case as read from the store, with its plan: what the views show."""

    id: str
    sop: Sop  # the snapshot the case was opened under
    received: datetime  # company zone
    assignee: str | None
    summary: str | None
    opened_at: datetime  # UTC
    updated_at: datetime  # UTC: the time of the last change
    steps: tuple[PlannedStep, ...]
    events: Mapping[str, EventInfo] = field(default_factory=dict)
    changed: tuple[str, ...] = ()  # steps whose calendar event this change altered
    moved: Mapping[str, datetime] = field(default_factory=dict)  # step -> its deadline before
    installation: str | None = None  # the store's id in event UIDs; None: UIDs from before ids
    cancelled_at: datetime | None = None  # UTC
    cancel_reason: str | None = None
    # entered as history (`case import --history`): no reminders for the steps already
    # overdue when it was entered (`opened_at`)
    as_history: bool = False

    @property
    def cancelled(self) -> bool:
        return self.cancelled_at is not None

    holds: tuple[Hold, ...] = ()  # oldest first
    priorities: tuple[tuple[datetime, str], ...] = ()  # (from, priority), oldest first
    # ticks and reopens, in the order recorded; empty where the case was read for a list
    history: tuple[StepEvent, ...] = ()

    @property
    def priority(self) -> str:
        """The case's priority now (`normal` unless one was given)."""
        return self.priorities[-1][1] if self.priorities else "normal"

    def target_priority(self, planned: PlannedStep) -> str | None:
        """The priority whose timeframe `planned` was given, when its step sets one per
        priority (None otherwise): the case's priority for an open step, the one in force
        when it was done for a done step (as `plan` chose the timeframe)."""
        if not planned.step.within_by:
            return None
        return priority_at(self.priorities, planned.done) if self.priorities else "normal"

    @property
    def latest_completion(self) -> StepEvent | None:
        """The tick with the latest completion time ever recorded for the case, reopened
        ones included: no hold, resume or priority change may be dated before it (None
        when no step was ticked, or the history was not read)."""
        ticks = [e for e in self.history if e.action == DONE_ACTION]
        return max(ticks, key=lambda e: e.done_at, default=None)

    @property
    def on_hold(self) -> Hold | None:
        """The hold running now, if any."""
        return self.holds[-1] if self.holds and self.holds[-1].end is None else None

    @property
    def sop_version(self) -> str:
        return self.sop.version

    def open_steps(self) -> list[PlannedStep]:
        """The steps still to do: none once the case is cancelled."""
        return [] if self.cancelled else [p for p in self.steps if p.done is None]

    def status(self, planned: PlannedStep, now: datetime, due_soon: timedelta | float) -> str:
        """The step's status (`PlannedStep.status`); `cancelled` for a step not done
        in a cancelled case; `on-hold` for a step not done while the case is on hold:
        its clock is stopped, so it is neither due soon nor overdue, whatever its
        deadline (which moves on until the case resumes)."""
        if planned.done is None:
            if self.cancelled:
                return CANCELLED
            if self.on_hold is not None:
                return ON_HOLD
        return planned.status(now, due_soon)

    def next_step(self) -> PlannedStep | None:
        """The open step due first (document order breaks ties); None when all are done."""
        open_steps = self.open_steps()
        return min(open_steps, key=lambda p: p.due) if open_steps else None


@dataclass(frozen=True)
class Refreshed:
    """A case after `case refresh`: which events moved (`case.changed`), which files changed."""

    case: Case
    files: tuple[str, ...]  # file names rewritten, e.g. ("checklist.html", "deadlines.ics")


@dataclass(frozen=True)
class CaseSummary:
    """One line of `case list`."""

    case: Case
    next: PlannedStep
    status: str
    open_steps: int
    overdue_steps: int


@dataclass(frozen=True)
class Note:
    """A note someone wrote on a case (the desk)."""

    author: str
    written_at: datetime  # UTC
    text: str


# --------------------------------------------------------------------------- CSV rows


@dataclass(frozen=True)
class ImportRow:
    """One good row of a case CSV: the case it opens."""

    line: int
    case_id: str
    received: datetime
    assignee: str | None
    summary: str | None
    priority: str | None = None  # one of the config's priorities; None: normal
    history: bool = False  # entered as history: no reminders for steps overdue already
    columns: Mapping[str, int] = field(default_factory=dict, hash=False, compare=False)

    def column(self, name: str) -> int:
        """The 1-based column of the row's `name` cell (case, received, assignee, …), for
        problems that point at the cell; 1 when unknown."""
        return self.columns.get(name, 1)


@dataclass
class ImportResult:
    """What an import did: the ids of the cases it opened, the bad rows, rows read."""

    case_ids: list[str]
    problems: list[Problem]
    rows: int  # data rows read, good and bad
    sop: str  # the SOP id as the library spells it


def closed_at(case: Case) -> datetime:
    """When a closed case was closed: its last step's completion."""
    return max((p.done for p in case.steps if p.done is not None), default=case.updated_at)
