"""`sopgen case …`: open, done, reopen, list, show and import complaint cases.

The only module of `sopgen.cases` that prints or reads the clock (`sopgen.clock`:
the system clock, or SOPGEN_NOW for demos and tests).
Bad input ends with `sopgen: error: …` and a hint, or `path:line:col: error:
…` problems, and exit code 1, with the store and the files unchanged.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, cast

import click
from rich.console import Console
from rich.text import Text

from sopgen import clock
from sopgen.cases.cli.errors import reports_case_errors
from sopgen.cases.timestamps import human, iso, parse_timestamp, received_now
from sopgen.console import App, ProgressDisplay, counted, fail, pass_app, printable, report
from sopgen.model import Config, parse_duration
from sopgen.problems import InputError

if TYPE_CHECKING:  # the store, the service and the writers load only when a case command runs
    from sopgen.cases.model import Case, CaseSummary
    from sopgen.cases.service.caseservice import CaseService
    from sopgen.cases.views.output import CaseFiles


# --------------------------------------------------------------------------- shared


@dataclass
class CaseCommand:
    """What every case command needs: config, service, files writer, now."""

    app: App
    config: Config
    service: CaseService
    files: CaseFiles
    now: datetime


@contextmanager
def _case_command(app: App) -> Iterator[CaseCommand]:
    from sopgen.cases.service.caseservice import CaseService
    from sopgen.cases.store.tables import Store
    from sopgen.cases.views.output import CaseFiles

    library = app.library()
    config = library.config
    if config is None:
        raise InputError([p for p in library.config_problems if p.is_error])
    files = CaseFiles(app.root, config)
    store = Store.for_project(app.root, config.database)
    service = CaseService(store, library, files)
    try:
        yield CaseCommand(app, config, service, files, _now(config))
    finally:
        store.close()


def _now(config: Config) -> datetime:
    return clock.now(config.zone)


_errors = reports_case_errors


def _operator() -> str | None:
    """Who runs the command, for the step history: the operating-system user (LOGNAME,
    USER, … or the password database), or None when it cannot be told."""
    import getpass

    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return None


def _timestamp(text: str | None, config: Config, now: datetime, what: str) -> datetime:
    return now if text is None else parse_timestamp(text, config.zone, what)


def _write_pdf(s: CaseCommand, case: Case, asked: bool) -> None:
    """The PDF when asked for, or when the case already has one (it must not go stale)."""
    from sopgen.cases.views.output import PDF, case_folder

    if asked or (case_folder(s.app.root, case.id) / PDF).exists():
        s.files.write_pdf(case)


def _folder(s: CaseCommand, case_id: str) -> str:
    from sopgen.cases.views.output import case_folder

    folder = case_folder(s.app.root, case_id)
    try:
        return str(folder.relative_to(Path.cwd()))
    except ValueError:
        return str(folder)


class DurationType(click.ParamType):
    name = "duration"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> timedelta:
        if isinstance(value, timedelta):
            return value
        try:
            return parse_duration(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


def _console() -> Console:
    """Rich output at the terminal's width (COLUMNS wins); piped, lines are not cut at 80.
    No line ends in spaces (rich pads every line of a padded or expanded layout to the
    width; they showed in diffs, mails and copied text)."""
    piped = not sys.stdout.isatty() and not os.environ.get("COLUMNS")
    out = cast("TextIO", _Unpadded(sys.stdout))
    return Console(highlight=False, width=200 if piped else None, file=out)


_TRAILING = re.compile(r"(?: |\x1b\[[0-9;]*m)+(?=\n)")
_STYLE_CODE = re.compile(r"\x1b\[[0-9;]*m")


class _Unpadded:
    """`out` with the spaces at the end of each line dropped; the colour codes among
    them are kept, so a style still ends where it did."""

    def __init__(self, out: TextIO):
        self.out = out
        self.encoding = getattr(out, "encoding", None) or "utf-8"

    def write(self, text: str) -> int:
        self.out.write(_TRAILING.sub(lambda m: "".join(_STYLE_CODE.findall(m.group())), text))
        return len(text)

    def flush(self) -> None:
        self.out.flush()

    def isatty(self) -> bool:
        return bool(self.out.isatty())


PAGE = 50
"""Cases `case list` shows at a time on the terminal."""

ALLOW_DRAFT_HELP = (
    "A trial: accept an SOP that is not in force (draft, in review, or not yet effective "
    "when the complaint was received)."
)

# --------------------------------------------------------------------------- group


@click.group()
def case() -> None:
    """Run complaint cases: checklists and calendar deadlines from an SOP.

    Cases live in .sopgen/cases.db (or the database named by `database:` in
    sopgen.yaml or SOPGEN_DATABASE_URL); each case's files are written to
    output/cases/CASE-ID/. Times without an offset are read in the company's
    time zone.
    """


@case.command("open")
@click.argument("case_id", metavar="CASE-ID")
@click.option("--sop", "sop_id", required=True, metavar="SOP-ID", help="The SOP the case follows.")
@click.option("--received", metavar="TIMESTAMP", help="When the complaint arrived (default: now).")
@click.option("--assignee", metavar="NAME", help="Who handles the case.")
@click.option("--summary", metavar="TEXT", help="A line about the complaint.")
@click.option(
    "--priority",
    metavar="PRIORITY",
    help="One of priorities: in sopgen.yaml, any case (default: normal).",
)
@click.option("--pdf", is_flag=True, help="Also write checklist.pdf.")
@click.option("--allow-draft", is_flag=True, help=ALLOW_DRAFT_HELP)
@pass_app
@_errors
def open_(
    app: App,
    case_id: str,
    sop_id: str,
    received: str | None,
    assignee: str | None,
    summary: str | None,
    priority: str | None,
    pdf: bool,
    allow_draft: bool,
) -> None:
    """Open a case: record it and write its checklist and calendar.

    The SOP must be in force: approved or effective (--allow-draft for trials).
    A complaint received before the current version took effect runs under the
    version in force that day, from git history or the case store.

    Writes checklist.html, checklist.md and deadlines.ics (and with --pdf
    checklist.pdf) under output/cases/CASE-ID/.
    """
    with _case_command(app) as s:
        when = _timestamp(received, s.config, received_now(s.now), "received time")
        opened = s.service.open(
            case_id, sop_id, when, s.now, assignee, summary, priority, allow_draft=allow_draft
        )
        _write_pdf(s, opened, pdf)
        click.echo(
            f"opened case {opened.id} under {opened.sop.id} version {opened.sop_version} "
            f"({counted(len(opened.steps), 'step')}), "
            f"received {human(opened.received, s.config.zone)}"
            + (f", priority {opened.priority}" if priority else "")
        )
        _print_case(s, opened)
        click.echo(
            f"files: {_folder(s, opened.id)}/ (checklist.html, checklist.md, deadlines.ics"
            f"{', checklist.pdf' if pdf else ''})"
        )


@case.command()
@click.argument("case_id", metavar="CASE-ID")
@click.argument("step", metavar="STEP")
@click.option("--at", metavar="TIMESTAMP", help="When the step was done (default: now).")
@click.option("--pdf", is_flag=True, help="Also write checklist.pdf.")
@pass_app
@_errors
def done(app: App, case_id: str, step: str, at: str | None, pdf: bool) -> None:
    """Mark a step of a case done.

    STEP is the label the checklist shows (A3), section.step or the bare step
    id. Deadlines anchored on the step move, and the case's files are rewritten.
    """
    with _case_command(app) as s:
        when = _timestamp(at, s.config, s.now, "completion time (--at)")
        updated = s.service.done(case_id, step, when, s.now, actor=_operator(), via="cli")
        _write_pdf(s, updated, pdf)
        key = updated.sop.step(step)
        done_at = next(p.done for p in updated.steps if key and p.key == key.key)
        click.echo(
            f"done: {case_id} {_named(updated, step)} at "
            f"{human(done_at, s.config.zone) if done_at else '?'}"
        )
        _print_moves(s, updated)
        _print_next(s, updated)


@case.command()
@click.argument("case_id", metavar="CASE-ID")
@click.argument("step", metavar="STEP")
@click.option("--pdf", is_flag=True, help="Also write checklist.pdf.")
@pass_app
@_errors
def reopen(app: App, case_id: str, step: str, pdf: bool) -> None:
    """Undo `done` for a step of a case (STEP as for `done`)."""
    with _case_command(app) as s:
        updated = s.service.reopen(case_id, step, s.now, actor=_operator(), via="cli")
        _write_pdf(s, updated, pdf)
        click.echo(f"reopened: {case_id} {_named(updated, step)}")
        if updated.history:  # the reopen just recorded, with the completion it undid
            was = human(updated.history[-1].done_at, s.config.zone)
            click.echo(
                f"  it was done {was}: the step history keeps that, and no hold, resume or "
                "priority change can be dated before it"
            )
        _print_moves(s, updated)
        _print_next(s, updated)


@case.command()
@click.argument("case_id", metavar="CASE-ID")
@click.option("--at", metavar="TIMESTAMP", help="When the hold began (default: now).")
@click.option("--reason", metavar="TEXT", help="Why, e.g. 'waiting for photos from the customer'.")
@click.option("--pdf", is_flag=True, help="Also write checklist.pdf.")
@pass_app
@_errors
def hold(app: App, case_id: str, at: str | None, reason: str | None, pdf: bool) -> None:
    """Put a case on hold (waiting on the customer): its clock stops.

    Until `case resume`, business time does not count toward business-unit
    deadlines and elapsed time is added to elapsed-unit ones; done steps keep
    their deadlines.
    """
    with _case_command(app) as s:
        when = _timestamp(at, s.config, s.now, "hold time (--at)")
        updated = s.service.hold(case_id, when, s.now, reason)
        _write_pdf(s, updated, pdf)
        running = updated.on_hold
        since = human(running.start if running else when, s.config.zone)
        click.echo(
            f"on hold: {case_id} since {since}"
            + (f" ({printable(reason.strip())})" if reason else "")
        )
        click.echo(f"resume with: sopgen case resume {case_id}")


@case.command()
@click.argument("case_id", metavar="CASE-ID")
@click.option("--at", metavar="TIMESTAMP", help="When the case resumed (default: now).")
@click.option("--pdf", is_flag=True, help="Also write checklist.pdf.")
@pass_app
@_errors
def resume(app: App, case_id: str, at: str | None, pdf: bool) -> None:
    """End a case's hold: its clock runs again and open deadlines move on."""
    with _case_command(app) as s:
        when = _timestamp(at, s.config, s.now, "resume time (--at)")
        updated = s.service.resume(case_id, when, s.now)
        _write_pdf(s, updated, pdf)
        last = updated.holds[-1]
        zone = s.config.zone
        click.echo(
            f"resumed: {case_id} at {human(last.end or when, zone)}, on hold since "
            f"{human(last.start, zone)}"
        )
        _print_moves(s, updated)
        _print_next(s, updated)


@case.command("priority")
@click.argument("case_id", metavar="CASE-ID")
@click.argument("priority", metavar="PRIORITY")
@click.option("--at", metavar="TIMESTAMP", help="When the priority changed (default: now).")
@click.option("--pdf", is_flag=True, help="Also write checklist.pdf.")
@pass_app
@_errors
def priority_(app: App, case_id: str, priority: str, at: str | None, pdf: bool) -> None:
    """Change a case's priority.

    Open steps are planned anew from the received time with the new
    priority's timeframes; done steps keep their deadlines. The change is
    kept in the case's history.
    """
    with _case_command(app) as s:
        when = _timestamp(at, s.config, s.now, "priority change time (--at)")
        updated = s.service.change_priority(case_id, priority, when, s.now)
        _write_pdf(s, updated, pdf)
        click.echo(f"priority: {case_id} is {updated.priority} from {human(when, s.config.zone)}")
        if not updated.sop.has_priority_targets:
            click.echo(f"  {updated.sop.id} sets no targets per priority; deadlines unchanged")
        _print_moves(s, updated)
        _print_next(s, updated)


@case.command("list")
@click.option(
    "--status",
    "state",
    type=click.Choice(["open", "closed", "all"]),
    default="open",
    show_default=True,
    help="Open cases (soonest deadline first, those on hold last), closed ones (every step "
    "done; most recently closed first), or both.",
)
@click.option(
    "--overdue",
    is_flag=True,
    help="Only cases with an overdue step (with --due-within: those and the ones due then).",
)
@click.option(
    "--due-within",
    type=DurationType(),
    metavar="DURATION",
    help="Only cases whose next deadline is this close (e.g. 2d, 4h, '3 days') and not "
    "yet past; with --overdue, overdue ones too.",
)
@click.option("--assignee", metavar="NAME", help="Only this assignee's cases.")
@click.option(
    "--priority",
    metavar="PRIORITY",
    help="Only cases of this priority now (one of priorities: in sopgen.yaml, any case).",
)
@click.option("--cancelled", is_flag=True, help="Cancelled cases instead, latest first.")
@click.option(
    "--limit",
    type=click.IntRange(min=0),
    metavar="N",
    help=f"At most N cases (a page); 0 for all. Default: {PAGE} on the terminal, all in JSON.",
)
@click.option("--page", type=click.IntRange(min=1), default=1, metavar="P", help="Page P.")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@pass_app
@_errors
def list_(
    app: App,
    state: str,
    overdue: bool,
    due_within: timedelta | None,
    assignee: str | None,
    priority: str | None,
    cancelled: bool,
    limit: int | None,
    page: int,
    fmt: str,
) -> None:
    """Open cases and their next deadlines, soonest first (on hold last); closed cases
    with --status."""
    if limit is None:
        limit = PAGE if fmt == "text" else 0
    if (overdue or due_within) and state != "open":
        raise click.UsageError("--overdue and --due-within select open cases: drop --status")
    with _case_command(app) as s:
        if cancelled:
            _list_cancelled(s, fmt)
            return
        service, zone = s.service, s.config.zone
        start = (page - 1) * limit
        chosen: dict[str, Any] = {"assignee": assignee, "priority": priority}
        filters: dict[str, Any] = {"overdue": overdue, "due_within": due_within, **chosen}
        open_total = service.count_open(s.now, **filters) if state != "closed" else 0
        closed_total = service.count_closed(**chosen) if state != "open" else 0
        rows: list[CaseSummary] = []
        if state != "closed" and (limit == 0 or start < open_total):
            rows = service.list_open(s.now, limit=limit or None, offset=start, **filters)
        closed: list[Case] = []
        room = (limit - len(rows)) if limit else None
        if state != "open" and room != 0:
            closed = service.list_closed(limit=room, offset=max(0, start - open_total), **chosen)
        if fmt == "json":
            from sopgen.cases.views.json import closed_json, summary_json

            listed = [summary_json(r, zone) for r in rows] + [closed_json(c, zone) for c in closed]
            click.echo(json.dumps(listed, indent=2, ensure_ascii=False))
            return
        total = open_total + closed_total
        what = {"open": "open cases", "closed": "closed cases", "all": "cases"}[state]
        if total == 0:
            filtered = overdue or due_within or assignee or priority
            click.echo(f"no {what}" + (" match" if filtered else ""))
            return
        from sopgen.cases.cli.terminal import case_rows, closed_rows

        console = _console()
        if rows:
            title = open_title(open_total, overdue, due_within, assignee, priority)
            console.print(Text(f"{title}, as of {human(s.now, zone)}", style="italic"))
            console.print(case_rows(rows, s.config, console.width))
        if closed:
            console.print(Text(f"Closed cases ({closed_total:,})", style="italic"))
            console.print(closed_rows(closed, s.config, console.width))
        shown = len(rows) + len(closed)
        if shown < total:
            more = start + shown < total
            console.print(
                Text(
                    f"{what} {start + 1:,}–{start + shown:,} of {total:,}"
                    + (f"; next page: --page {page + 1}" if more else ""),
                    style="dim",
                )
                if shown
                else Text(f"page {page} is past the last page of {what}", style="dim")
            )


def open_title(
    count: int,
    overdue: bool,
    due_within: timedelta | None,
    assignee: str | None,
    priority: str | None,
) -> str:
    """The list's title names its filters: "Open cases due within 2 days (3)"."""
    if due_within is not None:
        span = f"due within {_span(due_within)}"
        title = f"Open cases {'overdue or ' if overdue else ''}{span}"
    else:
        title = "Overdue cases" if overdue else "Open cases"
    if assignee:
        title += f" assigned to {assignee}"
    if priority:
        title += f" of priority {priority}"
    return f"{title} ({count:,})"


def _span(duration: timedelta) -> str:
    seconds = int(duration.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds % size == 0:
            return counted(seconds // size, unit)
    return counted(seconds, "second")  # pragma: no cover - durations are whole minutes


@case.command()
@click.argument("case_id", metavar="CASE-ID")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@pass_app
@_errors
def show(app: App, case_id: str, fmt: str) -> None:
    """Show a case's checklist with deadlines and status (or JSON)."""
    with _case_command(app) as s:
        found = s.service.show(case_id, s.now)
        if fmt == "json":
            from sopgen.cases.views.json import case_json

            shown = {**case_json(found, s.config, s.now), "governed": s.service.governed(found)}
            click.echo(json.dumps(shown, indent=2, ensure_ascii=False))
            return
        from sopgen.cases.cli.terminal import case_head, case_history

        _console().print(case_head(found, s.config, s.service.governed(found)))
        if found.cancelled_at:
            zone = s.config.zone
            reason = printable(found.cancel_reason or "")
            click.echo(f"CANCELLED {human(found.cancelled_at, zone)}: {reason}")
        _print_case(s, found)
        if found.history:
            click.echo()
            _console().print(case_history(found, s.config))


@case.command()
@click.argument("case_ids", metavar="[CASE-ID]...", nargs=-1)
@pass_app
@_errors
def refresh(app: App, case_ids: tuple[str, ...]) -> None:
    """Carry config changes into case files (all open cases, or those named).

    After a change to sopgen.yaml (a closure day, opening hours, holidays, role
    names, the company name) deadlines move at once in `case show` and `case
    list`, but a case's files follow only when it changes. Refresh re-plans
    the cases, rewrites the files whose content changed, and raises the
    SEQUENCE of exactly the calendar events that moved, so re-importing
    deadlines.ics updates them.
    """
    from sopgen.cases.views.output import PDF, case_folder

    with _case_command(app) as s:
        ids = s.service.to_refresh(case_ids)
        with _progress(len(ids), "refreshing cases") as advance:
            results = s.service.refresh(ids, s.now, advance)
        for r in results:
            if not r.files and not r.case.changed:
                continue
            click.echo(f"{r.case.id}: rewrote {', '.join(r.files) or 'no file'}")
            _print_moves(s, r.case)
            pdf = case_folder(s.app.root, r.case.id) / PDF
            if "checklist.html" in r.files and pdf.exists():
                s.files.write_pdf(r.case)
        changed = sum(1 for r in results if r.files or r.case.changed)
        moved = sum(len(r.case.moved) for r in results)
        what = "open case" if not case_ids else "case"
        click.echo(
            f"refreshed {counted(len(results), what)}: "
            f"{changed} with changed files, {counted(moved, 'deadline')} moved"
        )


class ColumnsType(click.ParamType):
    name = "columns"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> dict[str, str]:
        from sopgen.cases.csvrows import parse_columns_option

        if isinstance(value, dict):
            return value
        try:
            return parse_columns_option(str(value))
        except ValueError as exc:
            self.fail(f"{exc} (write e.g. case=Ticket,received=Opened,assignee=3)", param, ctx)


@case.command()
@click.argument("case_id", metavar="CASE-ID")
@click.argument("login", metavar="LOGIN", required=False)
@click.option("--nobody", is_flag=True, help="Leave the case unassigned instead.")
@click.option("--pdf", is_flag=True, help="Also write checklist.pdf.")
@pass_app
@_errors
def assign(app: App, case_id: str, login: str | None, nobody: bool, pdf: bool) -> None:
    """Give a case to another person (a desk user's login), or to nobody.

    Reminders still pending for the previous assignee are cancelled; the new
    assignee's calendar feed and reminders include the case from now on.
    """
    if (login is None) == (not nobody):
        raise click.UsageError("give either a LOGIN or --nobody")
    with _case_command(app) as s:
        before = s.service.show(case_id, s.now).assignee
        updated = s.service.assign(case_id, None if nobody else login, s.now)
        _write_pdf(s, updated, pdf)
        was = f" (was {before})" if before and before != updated.assignee else ""
        click.echo(f"assigned: {updated.id} to {updated.assignee or 'nobody'}{was}")


@case.command()
@click.argument("case_id", metavar="CASE-ID")
@click.option("--reason", required=True, metavar="TEXT", help="Why, e.g. 'complaint withdrawn'.")
@pass_app
@_errors
def cancel(app: App, case_id: str, reason: str) -> None:
    """Cancel a case, such as a withdrawn complaint.

    Its steps not yet done become cancelled events in deadlines.ics (import it
    again to clear them from the calendar) and get no more reminders; the case
    leaves the open lists and stays in the history: `case show CASE-ID`,
    `case list --cancelled`.
    """
    with _case_command(app) as s:
        cancelled = s.service.cancel(case_id, reason, s.now)
        _write_pdf(s, cancelled, False)
        left = sum(1 for p in cancelled.steps if p.done is None)
        click.echo(
            f"cancelled case {cancelled.id}: {counted(left, 'open step')} cancelled "
            f"in {_folder(s, cancelled.id)}/deadlines.ics (import it again to clear them)"
        )


@case.command("import")
@click.argument("csv_file", metavar="FILE.csv", type=click.Path(dir_okay=True, path_type=Path))
@click.option(
    "--sop", "sop_id", required=True, metavar="SOP-ID", help="The SOP every case follows."
)
@click.option(
    "--columns",
    type=ColumnsType(),
    metavar="MAP",
    help="Which column holds what, by header name or 1-based number: "
    "case=Ticket,received=Opened,assignee=Agent,summary=4,priority=Prio.",
)
@click.option("--all-or-nothing", is_flag=True, help="Import no case at all when any row is bad.")
@click.option("--pdf", is_flag=True, help="Also write checklist.pdf for every case (slow).")
@click.option("--allow-draft", is_flag=True, help=ALLOW_DRAFT_HELP)
@click.option(
    "--history",
    is_flag=True,
    help="A backlog: no reminders for steps already overdue when imported "
    "(a 'history' column marks single rows).",
)
@pass_app
@_errors
def import_(
    app: App,
    csv_file: Path,
    sop_id: str,
    columns: dict[str, str] | None,
    all_or_nothing: bool,
    pdf: bool,
    allow_draft: bool,
    history: bool,
) -> None:
    """Open many cases from a CSV file.

    Columns: case id, received, assignee[, summary[, priority]]; only the first
    two are required. A priority is one of `priorities:` in sopgen.yaml; an
    empty cell means normal.

    The delimiter (`,`, `;`, tab or `|`) is detected. A header row is optional;
    it may name the columns in English or German (case id / Fall-Nr., received /
    Eingang, assignee / Bearbeiter, summary / Zusammenfassung, priority /
    Priorität), in any order; --columns maps other names. Bad rows are reported
    as FILE.csv:LINE:COLUMN and the good rows are imported (exit 1), or, with
    --all-or-nothing, none is.

    With --history (or a `history` column saying yes) the cases are a backlog:
    `sopgen remind` sends nothing for their steps already overdue when they were
    imported, only for the steps due later.
    """
    from sopgen.cases.csvrows import open_csv

    with _case_command(app) as s:
        file = str(csv_file)
        reader = open_csv(csv_file, file, s.config.zone, columns, s.config.priorities)
        if reader.problem is not None:
            raise InputError([reader.problem])
        total = reader.count()
        if total == 0:
            fail(
                f"{file} holds no cases",
                "write one case per line: case id, received, assignee[, summary]",
            )
        with _progress(total, "importing cases") as advance:
            result = s.service.import_rows(
                reader,
                sop_id,
                s.now,
                file,
                all_or_nothing=all_or_nothing,
                allow_draft=allow_draft,
                history=history,
                progress=advance,
            )
        if pdf and result.case_ids:
            with _progress(len(result.case_ids), "printing checklists") as advance:
                for case_id in result.case_ids:
                    s.files.write_pdf(s.service.show(case_id))
                    advance(1)
        report(result.problems)
        bad = len({p.line for p in result.problems})
        if result.problems and all_or_nothing:
            click.echo(
                f"imported no cases: {counted(bad, 'bad row')} in {file} (--all-or-nothing)",
                err=True,
            )
        else:
            count = len(result.case_ids)
            click.echo(
                f"imported {counted(count, 'case')} under {result.sop}"
                + (f"; {counted(bad, 'bad row')} skipped" if bad else "")
            )
        if result.problems:
            raise SystemExit(1)


# --------------------------------------------------------------------------- output


def _list_cancelled(s: CaseCommand, fmt: str) -> None:
    zone = s.config.zone
    found = s.service.list_cancelled()
    rows = [
        {
            "case": c.id,
            "sop": c.sop.id,
            "assignee": c.assignee,
            "summary": c.summary,
            "received": iso(c.received, zone),
            "cancelled": iso(c.cancelled_at, zone) if c.cancelled_at else None,
            "cancel_reason": c.cancel_reason,
        }
        for c in found
    ]
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    if not found:
        click.echo("no cancelled cases")
        return
    click.echo(f"Cancelled cases ({len(found)})")
    for c in found:  # one case per block: whole at any width
        assignee = f", assignee {printable(c.assignee)}" if c.assignee else ""
        when = human(c.cancelled_at, zone) if c.cancelled_at else "?"
        click.echo(f"{c.id} ({c.sop.id}{assignee}): cancelled {when}")
        click.echo(f"  reason: {printable(c.cancel_reason or '')}")


def _print_case(s: CaseCommand, found: Case) -> None:
    from sopgen.cases.cli.terminal import case_steps

    console = _console()
    console.print(case_steps(found, s.config, s.now, console.width))


def _named(case: Case, ref: str) -> str:
    """`A3 intake.acknowledge`: the label the checklist shows, and the step's key."""
    step = case.sop.step(ref)
    return f"{case.sop.label(step)} {step.key}" if step else ref


def _print_moves(s: CaseCommand, updated: Case) -> None:
    """One line per open step whose deadline the change moved: from when to when."""
    zone = s.config.zone
    for planned in updated.steps:
        before = updated.moved.get(planned.key)
        if before is not None:
            click.echo(
                f"  deadline moved: {planned.key} now due {human(planned.due, zone)} "
                f"(was {human(before, zone)})"
            )


def _print_next(s: CaseCommand, updated: Case) -> None:
    following = updated.next_step()
    if following is None:
        click.echo(f"case {updated.id} is complete: every step is done")
    else:
        open_count = len(updated.open_steps())
        click.echo(
            f"{counted(open_count, 'step')} open; next: {following.key} "
            f"due {human(following.due, s.config.zone)}"
        )


@contextmanager
def _progress(total: int, what: str) -> Iterator[Callable[[int], None]]:
    """The CLI's progress bar on a terminal (stderr); silent otherwise."""
    with ProgressDisplay(what, total, min_total=20) as display:
        yield display.advance
