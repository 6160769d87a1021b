"""The calendar feeds' reads: a user's open cases with their versions, in raw SQL
(the feed is polled by every calendar client, so it skips the ORM)."""

from __future__ import annotations

from collections.abc import Container, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, cast

from sqlalchemy import (
    and_,
    bindparam,
    false,
    func,
    or_,
    select,
    text,
)
from sqlalchemy.engine import Connection
from sqlalchemy.sql import Select

from sopgen.cases.errors import CaseError
from sopgen.cases.model import (
    Case,
    Hold,
)
from sopgen.cases.plan import (
    plan,
)
from sopgen.cases.service.base import (
    ServiceCore,
    _history,
    _hold_spans,
)
from sopgen.cases.snapshots import library_sop, parse_snapshot
from sopgen.cases.store.caserows import BY_IDS, SNAPSHOT, read_cases, statements
from sopgen.cases.store.tables import (
    CaseRecord,
    Completion,
    EventState,
    UserRecord,
)
from sopgen.model import Sop


class CaseFeeds(ServiceCore):
    def prepare_feeds(self, today: date) -> None:
        """What every feed request needs and a server can have before its first one: the
        feed lookup compiled for the store's database, the store's installation id (part
        of every UID), and the company calendar's opening hours for last year to next
        year (from sopgen.yaml and the public holidays). Code, configuration and a
        constant of the store: no result of a request."""
        self.store.compiled(_FEED_ROWS)
        self.store.compiled(_FEED_WINDOW)
        self.store.compiled(_FEED_COUNTS)
        assert self.store.installation_id
        self.calendar.cover(today.year - 1, today.year + 1)

    def feed_rows(self, feed_token_hash: str) -> FeedRows | None:
        """The user whose feed token hashes to `feed_token_hash` (None when nobody's does,
        or they are disabled) with their open cases, in case id order: one statement
        (so the user and the cases agree), its SEQUENCE sums answered from an index
        (revision 0011), read straight from the driver: a feed request makes it every
        time."""
        rows = self.store.driver_rows(_FEED_ROWS, {"token_hash": feed_token_hash})
        if not rows:
            return None
        login, name = rows[0][0], rows[0][1]
        cases = tuple((r[2], r[3], r[4], r[5]) for r in rows if r[2] is not None)
        due = {r[2]: _driver_time(r[6]) for r in rows if r[2] is not None and r[6] is not None}
        return FeedRows(login, name, cases, due)

    def feed_window(
        self, feed_token_hash: str, start: datetime, end: datetime, most: int
    ) -> FeedRows | None:
        """`feed_rows` bounded in the database: the user's open cases whose next deadline
        lies in [`start`, `end`), soonest first, then those on hold, at most `most`; and
        how many open cases are left out (`older`, `later`, `beyond`). Read through
        `ix_cases_open_assignee`, so a rep with 25,000 open cases costs what one with
        80 does."""
        params = {
            "token_hash": feed_token_hash,
            "start": self._driver_param(start),
            "end": self._driver_param(end),
            "most": most,
        }
        rows = self.store.driver_rows(_FEED_WINDOW, params)
        if not rows:
            return None
        login, name = rows[0][0], rows[0][1]
        cases = tuple((r[2], r[3], r[4], r[5]) for r in rows if r[2] is not None)
        due = {r[2]: _driver_time(r[6]) for r in rows if r[2] is not None and r[6] is not None}
        counted = self.store.driver_rows(
            _FEED_COUNTS, {"login": login, "start": params["start"], "end": params["end"]}
        )
        older, later, total = (int(n or 0) for n in counted[0])
        beyond = total - older - later - len(cases)
        return FeedRows(login, name, cases, due, older, later, beyond)

    def _driver_param(self, moment: datetime) -> Any:
        """A time as the driver compares it with a UTCDateTime column (SQLite: text)."""
        utc = moment.astimezone(UTC)
        return utc if not self.store.sqlite else f"{utc.replace(tzinfo=None):%Y-%m-%d %H:%M:%S.%f}"

    def cases_with_versions(self, case_ids: Sequence[str]) -> list[tuple[Case, str]]:
        """The cases named (those that exist), in id order, each as `show` gives it (but
        for the step history, which a feed does not show: read as for a list) and
        with its version as `FeedRows.versions` gives it, read in one transaction. A
        running hold counts until it began, so a case's plan changes only with its
        version (feeds cache by version). Plain driver rows from text statements (no
        ORM objects, no per-value column types, nothing to compile on a new
        instance's first request): this is a feed's first render."""
        zone = self.config.zone
        read = self.store.time_reader()
        found = []
        with self.store.plain_read() as conn:

            def fetch(name: str, params: Mapping[str, Any]) -> Sequence[Any]:
                return conn.execute(_CASES[name], params).all()

            rows = read_cases(fetch, read, {"ids": list(case_ids)}, events=True)
            sops = {d: self._plain_snapshot(conn, d) for d in {r.snapshot for r in rows}}
        installation = self.store.installation_id
        for r in rows:
            sop = sops[r.snapshot]
            case_id = r.id
            case_done = r.done
            case_events = r.events
            try:
                steps = plan(
                    sop,
                    self.calendar,
                    r.received,
                    case_done,
                    _hold_spans(((h[0], h[1]) for h in r.holds), None),
                    _history(r.received, r.priorities),
                )
            except ValueError as exc:  # pragma: no cover - a valid SOP plans
                raise CaseError(f"cannot plan case {case_id}: {exc}") from None
            case = Case(  # the view `_case` makes of the record
                id=case_id,
                sop=sop,
                received=r.received.astimezone(zone),
                assignee=r.assignee,
                summary=r.summary,
                opened_at=r.opened_at,
                updated_at=r.updated_at,
                steps=tuple(steps),
                events=case_events,
                priorities=tuple((since.astimezone(zone), p) for since, p in r.priorities),
                holds=tuple(
                    Hold(
                        held_at.astimezone(zone),
                        resumed_at.astimezone(zone) if resumed_at else None,
                        reason,
                    )
                    for held_at, resumed_at, reason in r.holds
                ),
                installation=None if r.legacy_uids else installation,
                cancelled_at=r.cancelled_at,
                cancel_reason=r.cancel_reason,
            )
            sequences = sum(e.sequence for e in case_events.values())
            found.append((case, _version(r.updated_at, sequences, len(case_done))))
        return found

    def _plain_snapshot(self, conn: Connection, digest: str) -> Sop:
        """`_snapshot`, read on a plain connection."""
        sop = self._snapshots.get(digest) or library_sop(self.library, digest)
        if sop is None:
            row = conn.execute(_SNAPSHOT, {"digest": digest}).first()
            if row is None:
                raise CaseError(f"the case store lacks the SOP snapshot {digest[:12]}")
            sop = parse_snapshot(row[0], row[1], row[2], digest)
        self._snapshots[digest] = sop
        return sop


# built once: every feed request makes it (the user and their open cases, one row each;
# one row of NULL cases for a user with none)
_FEED_ROWS = (
    select(
        UserRecord.login,
        UserRecord.name,
        CaseRecord.id,
        CaseRecord.updated_at,
        select(func.sum(EventState.sequence))
        .where(EventState.case_id == CaseRecord.id)
        .scalar_subquery(),
        select(func.count())
        .select_from(Completion)
        .where(Completion.case_id == CaseRecord.id)
        .scalar_subquery(),
        CaseRecord.next_due,
    )
    .select_from(UserRecord)
    .outerjoin(
        CaseRecord, and_(CaseRecord.assignee == UserRecord.login, CaseRecord.closed_at.is_(None))
    )
    .where(UserRecord.feed_token_hash == bindparam("token_hash"), UserRecord.disabled == false())
    .order_by(CaseRecord.id)
)


_IN_WINDOW = or_(
    CaseRecord.next_due.is_(None),
    and_(CaseRecord.next_due >= bindparam("start"), CaseRecord.next_due < bindparam("end")),
)
# `_FEED_ROWS` bounded: the cases in the window, soonest first, those on hold last
_FEED_WINDOW = (
    _FEED_ROWS.order_by(None)
    .where(or_(CaseRecord.id.is_(None), _IN_WINDOW))
    .order_by(CaseRecord.next_due.is_(None), CaseRecord.next_due, CaseRecord.id)
    .limit(bindparam("most"))
)
# how many of a user's open cases lie before and after the window, and all of them
_FEED_COUNTS = cast(
    "Select[Any]",
    select(
        func.count().filter(CaseRecord.next_due < bindparam("start")),
        func.count().filter(CaseRecord.next_due >= bindparam("end")),
        func.count(),
    ).where(CaseRecord.assignee == bindparam("login"), CaseRecord.closed_at.is_(None)),
)


# what a feed's first render reads of the cases it renders (`cases_with_versions`): the
# one reading of a case's rows (`store.caserows`), compiled once
_CASES = {
    name: text(sql).bindparams(bindparam("ids", expanding=True))
    for name, sql in statements(BY_IDS).items()
}
_SNAPSHOT = text(SNAPSHOT)


@dataclass(frozen=True, slots=True)
class FeedRows:
    """A feed's user and open cases as the database driver gives them."""

    login: str
    name: str
    cases: tuple[tuple[Any, ...], ...]  # (case id, last change, SEQUENCE sum, completions)
    # case id → its next deadline (UTC), stored with the case; none for a case on hold
    next_due: Mapping[str, datetime] = field(default_factory=dict)
    # of a bounded feed (`feed_window`): open cases due before the window, after it, and
    # in it beyond the cases given
    older: int = 0
    later: int = 0
    beyond: int = 0

    def versions(self, only: Container[str] | None = None) -> list[tuple[str, str]]:
        """(case id, version) per open case (of those in `only`), the versions
        `cases_with_versions` gives."""
        return [
            (case_id, _version(_driver_time(updated), int(sequences or 0), int(done)))
            for case_id, updated, sequences, done in self.cases
            if only is None or case_id in only
        ]


def _driver_time(value: datetime | str) -> datetime:
    """A UTCDateTime column's value as the driver gives it (SQLite: UTC wall time as
    text), as the aware UTC datetime the ORM gives."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _version(updated_at: datetime, sequences: int, completions: int) -> str:
    """A case's version: SEQUENCE only ever rises when an event changes, and every change
    moves `updated_at` or the number of completions, so together they tell versions apart."""
    return f"{updated_at.astimezone(UTC).isoformat()}|{sequences}|{completions}"
