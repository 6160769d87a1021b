"""`sopgen report`: on-time share and business time to complete, per SOP step, assignee
and priority, for a period; as HTML (one self-contained file with SVG charts), CSV or
JSON (what the desk's dashboard shows).

The HTML report's charts come from the Jinja macro the desk's dashboard uses
(templates/barchart.svg.j2): text as text in the page's font, no plotting library.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import click

from sopgen import clock
from sopgen.cases.performance import (
    REPORT_DAYS,
    Group,
    Report,
    days_until,
    in_process_order,
    step_name,
    step_names,
)
from sopgen.cases.timestamps import iso
from sopgen.console import App, counted, fail, pass_app
from sopgen.console import report as report_problems
from sopgen.csvout import csv_text
from sopgen.files import DiskFullError, write_atomic
from sopgen.model import Config, Sop
from sopgen.render.barchart import Bar, Row


def report_json(
    report: Report, config: Config, sops: Mapping[str, Sop] | None = None
) -> dict[str, Any]:
    """The report for machines (the desk's dashboard): periods, totals and groups; the
    steps in each SOP's process order, each with its checklist name (`step_name`, "A1
    Receive the complaint", as the dashboard names it) when `sops` are given."""
    zone = config.zone
    names = step_names(sops or {})

    def groups(items: tuple[Group, ...], names: tuple[str, ...]) -> list[dict[str, Any]]:
        return [
            {
                **dict(zip(names, g.key, strict=True)),
                "completed": g.completed,
                "on_time": g.on_time,
                "on_time_share": round(g.on_time_share, 4),
                "median_business_hours": round(g.median_hours, 2),
                "p90_business_hours": round(g.p90_hours, 2),
            }
            for g in items
        ]

    return {
        "since": iso(report.since, zone),
        "until": iso(report.until, zone),
        "completed": report.completed,
        "on_time": report.on_time,
        "on_time_share": round(report.on_time / report.completed, 4) if report.completed else None,
        "by_step": [
            {**row, "step_name": step_name(names, (row["sop"], row["step"]))}
            for row in groups(in_process_order(report.by_step, names), ("sop", "step"))
        ],
        "by_assignee": [
            {**row, "assignee_name": report.assignee_name(row["assignee"])}
            for row in groups(report.by_assignee, ("assignee",))
        ],
        "by_priority": groups(report.by_priority, ("priority",)),
    }


def report_csv(report: Report, config: Config, sops: Mapping[str, Sop] | None = None) -> str:
    """The report as CSV; a text cell that a spreadsheet would run as a formula (an
    assignee `=HYPERLINK(…)`) is written with a leading `'` (`sopgen.csvout`)."""
    data = report_json(report, config, sops)
    rows: list[list[Any]] = [
        ["group", "sop", "step", "step_name", "assignee", "assignee_name", "priority",
         "completed", "on_time", "on_time_share", "median_business_hours",
         "p90_business_hours"]
    ]  # fmt: skip
    for group in ("by_step", "by_assignee", "by_priority"):
        for row in data[group]:
            rows.append(
                [group.removeprefix("by_")]
                + [
                    row.get(k, "")
                    for k in ("sop", "step", "step_name", "assignee", "assignee_name", "priority")
                ]
                + [row[k] for k in ("completed", "on_time", "on_time_share")]
                + [row["median_business_hours"], row["p90_business_hours"]]
            )
    return csv_text(rows)


def _rows(groups: tuple[Group, ...], label: Callable[[Group], str] | None = None) -> list[Row]:
    """Chart rows of `groups`, labelled by `label` (default: their keys)."""
    return [
        Row(label(g) if label else " ".join(g.key), (Bar(g.on_time_share, g.completed),))
        for g in groups
    ]


def report_html(
    report: Report, config: Config, root: Path, sops: Mapping[str, Sop] | None = None
) -> str:
    """The HTML report; each SOP's chart is named by its id and title, its steps by their
    checklist names in process order."""
    from sopgen.render.environment import environment

    sops = sops or {}
    names = step_names(sops)
    data = report_json(report, config, sops)
    by_sop: dict[str, list[Group]] = {}
    for g in in_process_order(report.by_step, names):
        by_sop.setdefault(g.key[0], []).append(g)
    charts = {  # (heading, rows) per chart: one per SOP (id, title), its steps by name
        "step": [
            (
                (sop, sops[sop].title if sop in sops else ""),
                _rows(tuple(groups), lambda g: step_name(names, g.key)),
            )
            for sop, groups in by_sop.items()
        ],
        "assignee": [(None, _rows(report.by_assignee, lambda g: report.assignee_name(g.key[0])))],
        "priority": [(None, _rows(report.by_priority))],
    }
    template = environment(root).get_template("report.html.j2")
    # the period's last day, as the CLI says it (`until` is the midnight after it)
    last_day = (report.until.astimezone(config.zone) - timedelta(days=1)).date().isoformat()
    return template.render(company=config.company, r=data, charts=charts, last_day=last_day)


def _day(text: str | None, what: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(f"{what} '{text}' is not a date", "write it as YYYY-MM-DD, e.g. 2026-11-01")
    return None  # pragma: no cover - fail exits


@click.command()
@click.option("--since", metavar="DATE", help="First day of the period (default: 30 days ago).")
@click.option("--until", metavar="DATE", help="Last day of the period (default: today).")
@click.option(
    "--format", "fmt", type=click.Choice(["html", "csv", "json"]), default="html",
    show_default=True,
)  # fmt: skip
@click.option(
    "--output", "output", type=click.Path(dir_okay=False, path_type=Path),
    help="Write the report to FILE (default: HTML to output/report.html, CSV and JSON "
    "to standard output).",
)  # fmt: skip
@pass_app
def report(app: App, since: str | None, until: str | None, fmt: str, output: Path | None) -> None:
    """On-time share and business time to complete of the steps done in a period.

    Per SOP step, per assignee and per priority: how many were done, how many
    by their deadline, and the median and 90th percentile of the business time
    from each step's anchor to its completion, time on hold left out. CSV and
    JSON go to standard output unless --output names a file; HTML goes to a file.
    """
    # plain rows from the store: no ORM, and on the default SQLite file no SQLAlchemy
    from sopgen.cases.errors import CaseError
    from sopgen.cases.store.reportrows import report as make_report
    from sopgen.problems import InputError, has_errors

    library = app.library()
    config = library.config
    if config is None or has_errors(library.config_problems):
        report_problems([p for p in library.config_problems if p.is_error])
        raise SystemExit(1)
    zone = config.zone
    now = clock.now(zone)
    last = _day(until, "--until") or now.astimezone(zone).date()
    # by default the last REPORT_DAYS days up to --until (today): the dashboard's window
    start, end = days_until(last, REPORT_DAYS, zone)
    first = _day(since, "--since") or start.date()
    if first > last:
        fail(f"--since {first} is after --until {last}", "give the earlier day first")
    start = datetime.combine(first, time(0), tzinfo=zone)
    try:
        found = make_report(app.root, library, config, start, end)
    except CaseError as exc:
        fail(exc.message, exc.hint)
    except InputError as exc:
        report_problems(exc.problems)
        raise SystemExit(1) from None
    if fmt == "json":
        text = (
            json.dumps(report_json(found, config, library.sops), indent=2, ensure_ascii=False)
            + "\n"
        )
    elif fmt == "csv":
        text = report_csv(found, config, library.sops)
    else:
        text = report_html(found, config, app.root, library.sops)
        output = output or app.root / "output" / "report.html"
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(output, text)
    except DiskFullError as exc:
        fail(exc.message, exc.hint)
    except OSError as exc:
        fail(
            f"cannot write {output}: {exc.strerror or exc}",
            "check the folder exists and is writable",
        )
    click.echo(f"wrote {output} ({counted(found.completed, 'step')} done {first} to {last})")
