"""`case import`: many cases from CSV rows, in batches, all or nothing if asked."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from datetime import datetime
from itertools import islice
from typing import TypeVar

from sqlalchemy import (
    insert,
    select,
)
from sqlalchemy.orm import Session

from sopgen.cases.errors import CaseError
from sopgen.cases.model import (
    Case,
    ImportResult,
    ImportRow,
)
from sopgen.cases.service.base import (
    ServiceCore,
    _fingerprint,
    _folder_taken,
    _next_due,
    _not_future,
    _record_values,
)
from sopgen.cases.store.tables import (
    CasePriority,
    CaseRecord,
    EventState,
    SopSnapshot,
    UserRecord,
)
from sopgen.model import Sop
from sopgen.problems import Problem


class CaseImports(ServiceCore):
    def import_rows(
        self,
        rows: Iterable[ImportRow | Problem],
        sop_id: str,
        now: datetime,
        file: str,
        *,
        all_or_nothing: bool = False,
        allow_draft: bool = False,
        history: bool = False,
        progress: Callable[[int], None] | None = None,
    ) -> ImportResult:
        """Open a case per good row, all in one transaction; bad rows become `file:line` problems.

        `rows` is read once, IMPORT_BATCH rows at a time, so memory stays
        bounded whatever the size of the file (a `Problem` among them is a
        row the reader refused). Each batch's cases are inserted and their
        files written to a staging folder; the files are published only after
        the transaction commits, so an import that fails or is interrupted
        (Ctrl-C) leaves neither cases nor folders. With `all_or_nothing`, any
        bad row rolls the whole import back (every row is still checked, so
        all bad rows are reported). With `history` every case is entered as history
        (as a row's own `history` does): no reminders for steps overdue already.
        """
        sop, snapshot = self._current_sop(sop_id, allow_draft=allow_draft)
        zone = self.config.zone
        found: list[Problem] = []
        opened: list[str] = []
        versions: dict[str, tuple[Sop, SopSnapshot]] = {}
        count = 0
        with self.files.staging() as staged:
            try:
                with self.store.write() as session:
                    self._add_snapshot(session, snapshot, now)
                    users = _assignable(session)
                    for batch in _batches(rows, IMPORT_BATCH):
                        count += len(batch)
                        good: list[ImportRow] = []
                        for row in batch:
                            if isinstance(row, Problem):
                                found.append(row)
                                continue
                            try:
                                _not_future(row.received, now, "received time", zone)
                                version = (
                                    self._in_force(sop, snapshot, row.received, session)
                                    if not allow_draft
                                    else (sop, snapshot)
                                )
                            except CaseError as exc:
                                found.append(
                                    exc.problem(file, row.line, column=row.column("received"))
                                )
                                continue
                            good.append(replace(row, history=True) if history else row)
                            versions[row.case_id] = version
                        taken = _folder_taken(session, [r.case_id for r in good])
                        kept = []
                        for row in good:
                            if row.case_id.lower() in taken:
                                found.append(
                                    CaseError(
                                        f"case id '{row.case_id}' is already used",
                                        "remove the row, or give the case another id",
                                    ).problem(file, row.line, column=row.column("case"))
                                )
                            elif (
                                users is not None
                                and row.assignee
                                and (row.assignee.lower() not in users)
                            ):
                                found.append(
                                    CaseError(
                                        f"'{row.assignee}' is not a user of the desk",
                                        "write a user's login in the assignee column "
                                        "(see: sopgen user list)",
                                    ).problem(file, row.line, column=row.column("assignee"))
                                )
                            else:
                                login = (
                                    users.get(row.assignee.lower())
                                    if users and row.assignee
                                    else None
                                )
                                kept.append(replace(row, assignee=login) if login else row)
                        if not (all_or_nothing and found):
                            # rows received before the current version took effect go in
                            # under the version in force then (`_in_force`)
                            groups: dict[str, list[ImportRow]] = {}
                            for row in kept:
                                groups.setdefault(versions[row.case_id][1].digest, []).append(row)
                            for group in groups.values():
                                row_sop, row_snapshot = versions[group[0].case_id]
                                if row_snapshot is not snapshot:
                                    self._add_snapshot(session, row_snapshot, now)
                                staged.write_many(
                                    self._insert(session, group, row_sop, row_snapshot, now)
                                )
                            opened += [row.case_id for row in kept]
                        if progress is not None:
                            progress(len(batch))
                    if all_or_nothing and found:
                        raise _NothingImported
            except _NothingImported:
                return ImportResult([], _sorted(found), count, sop.id)
            staged.publish()  # committed: only now may the cases' folders appear
        return ImportResult(opened, _sorted(found), count, sop.id)

    def _insert(
        self,
        session: Session,
        rows: Sequence[ImportRow],
        sop: Sop,
        snapshot: SopSnapshot,
        now: datetime,
    ) -> list[Case]:
        """New cases for `rows`, inserted in bulk (the ORM's unit of work would cost
        more than everything else an import does)."""
        values = [
            _record_values(
                row.case_id,
                sop,
                snapshot.digest,
                row.received,
                row.assignee,
                row.summary,
                now,
                as_history=row.history,
            )
            for row in rows
        ]
        priorities = [
            {"case_id": row.case_id, "priority": row.priority, "since": row.received,
             "recorded_at": now}
            for row in rows
            if row.priority is not None
        ]  # fmt: skip
        records = [CaseRecord(**v) for v in values]
        for record, row in zip(records, rows, strict=True):
            if row.priority is not None:  # planned with it, as `open --priority` does
                record.priorities = [
                    CasePriority(priority=row.priority, since=row.received, recorded_at=now)
                ]
        cases = [self._new_case(record, sop, now) for record in records]
        for v, case in zip(values, cases, strict=True):
            v["next_due"] = _next_due(case.steps)
        if cases:
            session.execute(insert(CaseRecord), values)
            if priorities:
                session.execute(insert(CasePriority), priorities)
            session.execute(
                insert(EventState),
                [
                    {
                        "case_id": case.id,
                        "step": planned.key,
                        "sequence": 0,
                        "fingerprint": _fingerprint(planned, priority=case.priority),
                        "modified_at": now,
                    }
                    for case in cases
                    for planned in case.steps
                ],
            )
        return cases


IMPORT_BATCH = 500
"""Rows an import checks, inserts and writes files for at a time."""


T = TypeVar("T")


class _NothingImported(Exception):
    """Raised inside an --all-or-nothing import's transaction to roll it back."""


def _batches(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def _assignable(session: Session) -> dict[str, str] | None:
    """Logins of users who may be assigned cases (lower case → login); None while the
    desk has no users at all (then any assignee name goes)."""
    rows = session.execute(select(UserRecord.login, UserRecord.disabled)).all()
    if not rows:
        return None
    return {login.lower(): login for login, disabled in rows if not disabled}


def _sorted(problems: list[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: (p.file, p.line, p.column))
