"""How `case show` and `case list` lay out a case in the terminal.

Pure: cases in, rich renderables out; `sopgen.cases.cli.case` prints them. Every
deadline and done time is shown whole, with its time of day, at any width
from 60 columns up:

- on a wide terminal (`WIDE` columns or more), one table row per step or case;
- on a narrower one, a stacked layout: a head line with the status on the
  right, then the text, role and timeframe (wrapped), and each time on a line
  of its own, where it never has to wrap.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from sopgen.cases.model import CANCELLED, REOPEN_ACTION, Case, CaseSummary, closed_at
from sopgen.cases.plan import DONE, DONE_LATE, DUE_SOON, ON_HOLD, OVERDUE, PlannedStep
from sopgen.cases.timestamps import human
from sopgen.console import printable
from sopgen.model import Config

WIDE = 120
"""From this width on, tables; below it, the stacked layout."""
INDENT = 4

STATUS_STYLE = {
    OVERDUE: "bold red",
    DUE_SOON: "yellow",
    DONE: "green",
    DONE_LATE: "magenta",
    CANCELLED: "dim",
    ON_HOLD: "cyan",
    "open": "",
}
CHECKED, UNCHECKED = "☑", "☐"


def _head(left: Text, right: Text, width: int) -> RenderableType:
    """One line: `left` and `right` flush right, never wrapped; a grid when `left` is
    too long to share the line (a plain padded line renders far faster)."""
    gap = width - left.cell_len - right.cell_len
    if gap >= 1:
        line = left.copy()
        line.append(" " * gap)
        line.append_text(right)
        line.no_wrap = True
        return line
    grid = Table.grid(expand=True, padding=(0, 1))
    grid.add_column(ratio=1)
    grid.add_column(justify="right", no_wrap=True)
    grid.add_row(left, right)
    return grid


def _indented(*lines: Text) -> Padding:
    return Padding(Group(*lines), (0, 0, 0, INDENT))


# --------------------------------------------------------------------------- case show


def case_head(case: Case, config: Config, governed: str | None = None) -> Group:
    """Which case under which SOP, received when, by whom; each time on its own line.
    `governed`: the note of a case under an older version than the one in force now."""
    title = printable(config.fill(case.sop.title))
    lines = [
        Text(f"Case {case.id}: {case.sop.id} {title}, version {case.sop_version}", style="bold"),
        *([Text(governed)] if governed else []),
        Text(f"received {human(case.received, config.zone)}", no_wrap=True),
        Text(f"assignee {printable(case.assignee or '—')}"),
    ]
    if case.summary:
        lines.append(Text(f"summary: {printable(case.summary)}"))
    if case.priorities:
        history = ", ".join(f"{p} from {human(t, config.zone)}" for t, p in case.priorities)
        lines.append(Text(f"priority {case.priority} ({history})"))
    for hold in case.holds:
        why = f": {printable(hold.reason)}" if hold.reason else ""
        lines.append(Text(f"on hold from {human(hold.start, config.zone)}", no_wrap=True))
        until = f"until {human(hold.end, config.zone)}" if hold.end else "(on hold now)"
        lines.append(Text(f"        {until}{why}"))
    return Group(*lines)


def case_steps(case: Case, config: Config, now: datetime, width: int) -> RenderableType:
    """The steps of `case` with deadlines and status against `now`."""
    if width >= WIDE:
        return _steps_table(case, config, now)
    return _steps_stacked(case, config, now, width)


def _steps_table(case: Case, config: Config, now: datetime) -> Table:
    zone = config.zone
    table = Table(show_lines=False)
    table.add_column("", no_wrap=True)
    table.add_column("Step", no_wrap=True)
    table.add_column("Description", ratio=1, min_width=24)
    table.add_column("Due", no_wrap=True, min_width=30)
    table.add_column("Status", no_wrap=True)
    for p in case.steps:
        status = case.status(p, now, config.due_soon)
        # SOP text is Markdown, not rich markup: `[x](url)` stays as written
        description = Text(printable(" ".join(config.fill(p.step.do).split())))
        description.append(
            f"\n{config.role_name(p.step.responsible)} · {_within(case, p)}", style="dim"
        )
        done = f"\n{status.replace('-', ' ')} {human(p.done, zone)}" if p.done else ""
        due = human(p.due, zone) + done
        table.add_row(
            Text(CHECKED if p.done else UNCHECKED),
            Text(f"{p.section.letter}{p.step.number} {p.key}"),
            description,
            Text(due),
            Text(status, style=STATUS_STYLE[status]),
        )
    return table


def _within(case: Case, p: PlannedStep) -> str:
    """The step's timeframe, and whose it is when the step sets one per priority, as the
    checklists say it: "2 business hours (critical)"."""
    priority = case.target_priority(p)
    return f"{p.within.text} ({priority})" if priority else p.within.text


def _steps_stacked(case: Case, config: Config, now: datetime, width: int) -> Group:
    zone = config.zone
    parts: list[RenderableType] = []
    section = None
    for p in case.steps:
        if p.section.id != section:
            section = p.section.id
            title = f"{p.section.letter}. {printable(config.fill(p.section.title))}"
            parts += [Text(""), Text(title, style="bold")]
        status = case.status(p, now, config.due_soon)
        head = Text(f"{CHECKED if p.done else UNCHECKED} {p.section.letter}{p.step.number} {p.key}")
        parts.append(_head(head, Text(status, style=STATUS_STYLE[status]), width))
        lines = [
            Text(printable(" ".join(config.fill(p.step.do).split()))),
            Text(f"{config.role_name(p.step.responsible)} · {_within(case, p)}", style="dim"),
            Text(f"due  {human(p.due, zone)}", no_wrap=True),
        ]
        if p.done:
            said = "done late" if status == DONE_LATE else "done"
            lines.append(Text(f"{said} {human(p.done, zone)}", no_wrap=True))
        parts.append(_indented(*lines))
    return Group(*parts)


def case_history(case: Case, config: Config) -> Group:
    """Every tick and reopen of the case's steps, in the order recorded: when it was
    recorded and by whom, then what (the audit trail of completions)."""
    zone = config.zone
    lines: list[RenderableType] = [Text("Step history (recorded, by whom, what)", style="bold")]
    for event in case.history:
        step = case.sop.step(event.step)
        name = f"{case.sop.label(step)} {event.step}" if step else event.step
        # the recorded time leads its line and the completion time has one of its own,
        # so wrapping never splits a time
        lines.append(Text(f"{human(event.recorded_at, zone)} · {event.who()}"))
        if event.action == REOPEN_ACTION:
            what, when = f"reopened: {name}", "it was done at"
        else:
            what, when = f"marked done: {name}", "done at"
        lines.append(_indented(Text(what), Text(f"{when} {human(event.done_at, zone)}")))
    return Group(*lines)


# --------------------------------------------------------------------------- case list


def case_rows(rows: Sequence[CaseSummary], config: Config, width: int) -> RenderableType:
    """One entry per case: its next step and deadline, status, open and overdue steps."""
    if width >= WIDE:
        return _rows_table(rows, config)
    return _rows_stacked(rows, config, width)


def _rows_table(rows: Sequence[CaseSummary], config: Config) -> Table:
    zone = config.zone
    table = Table()
    table.add_column("Case", no_wrap=True)
    table.add_column("Assignee")
    table.add_column("Next step")
    table.add_column("Due", no_wrap=True, min_width=25)
    table.add_column("Status", no_wrap=True)
    table.add_column("Steps", no_wrap=True)
    for r in rows:
        case = _case_label(r.case, config, "")
        case.append(f"\n{r.case.sop.id} v{r.case.sop_version}", style="dim")
        steps = f"{r.open_steps} open" + (f"\n{r.overdue_steps} overdue" if r.overdue_steps else "")
        table.add_row(
            case,
            # plain text: `[red]` in an assignee is not markup, an escape is shown escaped
            Text(printable(r.case.assignee or "—")),
            Text(r.next.key),
            Text(human(r.next.due, zone)),
            Text(r.status, style=STATUS_STYLE[r.status]),
            Text(steps),
        )
    return table


def _rows_stacked(rows: Sequence[CaseSummary], config: Config, width: int) -> Group:
    zone = config.zone
    parts: list[RenderableType] = []
    for r in rows:
        head = _case_label(r.case, config, "bold")
        head.append(f"  {printable(r.case.assignee or '—')}", style="")
        parts.append(_head(head, Text(r.status, style=STATUS_STYLE[r.status]), width))
        counts = f"{r.open_steps} open"
        if r.overdue_steps:
            counts += f", {r.overdue_steps} overdue"
        parts.append(
            _indented(
                # the deadline leads its line, so wrapping never splits it
                Text(f"due {human(r.next.due, zone)} · {r.next.key}"),
                Text(f"{r.case.sop.id} v{r.case.sop_version} · {counts}", style="dim"),
            )
        )
    return Group(*parts)


def _case_label(case: Case, config: Config, style: str) -> Text:
    """The case id, then its priority unless normal and "on hold" when it is:
    `C-1001 (critical, on hold)`; a priority more urgent than normal in bold red."""
    label = Text(case.id, style=style)
    marks: list[Text] = []
    rank = config.priority_rank(case.priority)
    if case.priority != "normal":
        marks.append(Text(case.priority, style="bold red" if rank < 0 else "dim"))
    if case.on_hold:
        marks.append(Text("on hold"))
    if marks:
        label.append(" (")
        label.append_text(Text(", ").join(marks))
        label.append(")")
    return label


def closed_rows(cases: Sequence[Case], config: Config, width: int) -> RenderableType:
    """Closed cases: received, closed (when the last step was done), SOP."""
    zone = config.zone
    if width >= WIDE:
        table = Table()
        table.add_column("Case", no_wrap=True)
        table.add_column("Assignee")
        table.add_column("Received", no_wrap=True, min_width=25)
        table.add_column("Closed", no_wrap=True, min_width=25)
        for c in cases:
            cell = _case_label(c, config, "")
            cell.append(f"\n{c.sop.id} v{c.sop_version}", style="dim")
            table.add_row(
                cell,
                Text(printable(c.assignee or "—")),
                Text(human(c.received, zone)),
                Text(human(closed_at(c), zone)),
            )
        return table
    parts: list[RenderableType] = []
    for c in cases:
        head = _case_label(c, config, "bold")
        head.append(f"  {printable(c.assignee or '—')}", style="")
        parts.append(_head(head, Text("closed", style=STATUS_STYLE[DONE]), width))
        parts.append(
            _indented(
                Text(f"closed   {human(closed_at(c), zone)}", no_wrap=True),
                Text(f"received {human(c.received, zone)}", no_wrap=True),
                Text(f"{c.sop.id} v{c.sop_version}", style="dim"),
            )
        )
    return Group(*parts)
