"""`sopgen case hold` / `case resume`: the case's clock stops, deadlines move, history kept.

Deadlines are worked out by hand (Berlin, Mon–Fri 09:00–17:00); the clock is
pinned with SOPGEN_NOW (Monday 23 Nov 2026 10:00 unless a test says otherwise).
"""

from __future__ import annotations

import json
from typing import Any

import icalendar

from casekit import Project, project_fixture  # noqa: F401 - the `project` fixture

CASE = "C-1"
NOW_TEXT = "2026-11-23T10:00"


def show(project: Project, now: str | None = None) -> dict[str, Any]:
    result = project.run("show", CASE, "--format", "json", now=now)
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def due(project: Project, step: str, now: str | None = None) -> str:
    return next(s["due"] for s in show(project, now)["steps"] if s["step"] == step)


def open_friday_evening(project: Project) -> None:
    result = project.run("open", CASE, "--sop", "SOP-CS-001", "--received", "2026-11-20T18:05")
    assert result.exit_code == 0, result.output
    # 5 business days from Friday 18:05: day 0 is Monday the 23rd, due Monday the 30th
    assert due(project, "resolution.investigate") == "2026-11-30T17:00:00+01:00"


def test_hold_stops_the_clock_and_resume_moves_open_deadlines(project: Project) -> None:
    open_friday_evening(project)
    result = project.run("hold", CASE, "--at", "2026-11-23 09:00", "--reason", "waiting for photos")
    assert result.exit_code == 0, result.output
    assert "on hold: C-1 since" in result.stdout and "(waiting for photos)" in result.stdout
    data = show(project)
    assert data["on_hold"] is True
    assert data["holds"] == [
        {"from": "2026-11-23T09:00:00+01:00", "until": None, "reason": "waiting for photos"}
    ]
    # while the hold runs, the clock stays stopped: at 12:00 three business hours are added
    assert due(project, "resolution.investigate", now="2026-11-23T12:00") == (
        "2026-12-01T12:00:00+01:00"
    )
    # a step due before the hold began (24 hours from Friday 18:05) does not move
    assert due(project, "intake.acknowledge", now="2026-11-23T12:00") == (
        "2026-11-21T18:05:00+01:00"
    )
    text = project.run("show", CASE, now="2026-11-23T12:00").stdout
    assert "on hold from" in text and "(on hold now)" in text
    listed = project.run("list", "--format", "json", now="2026-11-23T12:00")
    assert json.loads(listed.stdout)[0]["on_hold"] is True

    result = project.run("resume", CASE, "--at", "2026-11-24 09:00", now="2026-11-24T10:00")
    assert result.exit_code == 0, result.output
    assert "resumed: C-1" in result.stdout
    assert "deadline moved: resolution.investigate" in result.stdout
    # one whole business day (Mon 09–17) on hold: due a business day later
    assert due(project, "resolution.investigate", now="2026-11-30T10:00") == (
        "2026-12-01T17:00:00+01:00"
    )
    data = show(project, now="2026-11-30T10:00")
    assert data["on_hold"] is False
    assert data["holds"][0]["until"] == "2026-11-24T09:00:00+01:00"
    # the calendar file follows: the event of investigate ends at the new deadline
    ics = (project.folder(CASE) / "deadlines.ics").read_text()
    assert "DTEND:20261201T160000Z" in ics


def test_a_step_done_during_the_hold_keeps_its_deadline(project: Project) -> None:
    open_friday_evening(project)
    assert project.run("hold", CASE, "--at", "2026-11-23 09:00").exit_code == 0
    done = project.run(
        "done", CASE, "investigate", "--at", "2026-11-23T11:00", now="2026-11-23T11:00"
    )
    assert done.exit_code == 0, done.output
    # two business hours on hold when it was done: due Tue 1 Dec 11:00, and it stays so
    assert due(project, "resolution.investigate", now="2026-11-23T11:00") == (
        "2026-12-01T11:00:00+01:00"
    )
    resumed = project.run("resume", CASE, now="2026-11-25T10:00")
    assert resumed.exit_code == 0, resumed.output
    assert due(project, "resolution.investigate", now="2026-11-25T10:00") == (
        "2026-12-01T11:00:00+01:00"
    )


def test_bad_holds_are_refused_and_change_nothing(project: Project) -> None:
    open_friday_evening(project)
    before = project.state()
    cases = [
        (("resume", CASE), "is not on hold"),
        (("hold", CASE, "--at", "2026-11-20T18:00"), "before it was received"),
        (("hold", CASE, "--at", "2026-11-24T10:00"), "lies in the future"),
        (("hold", CASE, "--at", "yesterday"), ""),
        (("hold", "C-404"), "no case 'C-404'"),
        (("hold", CASE, "--reason", "bad\x07bell"), "control characters"),
    ]
    for args, message in cases:
        result = project.run(*args)
        assert result.exit_code == 1, (args, result.output)
        assert message in result.output
        assert "Traceback" not in result.output
        assert project.state() == before, args

    assert project.run("hold", CASE, "--at", "2026-11-23T09:00").exit_code == 0
    before = project.state()
    for args, message in [
        (("hold", CASE), "already on hold since"),
        (("resume", CASE, "--at", "2026-11-23T08:00"), "before its hold began"),
    ]:
        result = project.run(*args)
        assert result.exit_code == 1 and message in result.output, result.output
        assert project.state() == before
    assert project.run("resume", CASE, "--at", "2026-11-23T09:30").exit_code == 0
    overlap = project.run("hold", CASE, "--at", "2026-11-23T09:15")
    assert overlap.exit_code == 1 and "overlap the previous hold" in overlap.output


def test_hold_and_resume_at_the_same_instant_moves_nothing(project: Project) -> None:
    open_friday_evening(project)
    before = show(project)["steps"]
    assert project.run("hold", CASE, "--at", "2026-11-23T09:30").exit_code == 0
    # while it ran (until now, 10:00) the deadlines moved on; resumed at the instant it
    # began, every deadline is back where it was
    result = project.run("resume", CASE, "--at", "2026-11-23T09:30")
    assert result.exit_code == 0, result.output
    assert "deadline moved" not in result.stdout  # the events changed (held, then not), no deadline
    assert show(project)["steps"] == before


def test_resume_names_only_the_deadlines_that_moved_with_where_they_were(
    project: Project,
) -> None:
    """A new user's report: resume printed every open step as moved, even those due before
    the hold began, which a hold never moves."""
    open_friday_evening(project)
    before = {s["step"]: s["due"] for s in show(project)["steps"]}
    assert project.run("hold", CASE, "--at", "2026-11-23T09:30").exit_code == 0
    result = project.run("resume", CASE, "--at", "2026-11-23T11:30", now="2026-11-23T11:30")
    assert result.exit_code == 0, result.output
    after = {s["step"]: s["due"] for s in show(project, now="2026-11-23T11:30")["steps"]}
    moved = sorted(step for step in after if after[step] != before[step])
    assert "resolution.investigate" in moved and "intake.acknowledge" not in moved
    lines = [line for line in result.stdout.splitlines() if "deadline moved" in line]
    assert sorted(line.split()[2] for line in lines) == moved
    # two business hours on hold: investigate goes from Mon 30 Nov 17:00 to Tue 1 Dec 11:00
    assert (
        "  deadline moved: resolution.investigate now due Tue 01 Dec 2026 11:00 CET "
        "(was Mon 30 Nov 2026 17:00 CET)"
    ) in lines


def test_checklists_show_the_hold_history(project: Project) -> None:
    open_friday_evening(project)
    reason = "waiting for <b>photos</b> | from the customer"
    assert project.run("hold", CASE, "--at", "2026-11-23T09:00", "--reason", reason).exit_code == 0
    html = (project.folder(CASE) / "checklist.html").read_text()
    md = (project.folder(CASE) / "checklist.md").read_text()
    assert "On hold (" in html  # the case's state
    assert "since Mon 23 Nov 2026 09:00" in html
    assert "&lt;b&gt;photos&lt;/b&gt;" in html and "<b>photos" not in html
    assert "| On hold | since Mon 23 Nov 2026 09:00" in md
    assert "\\| from the customer" in md  # a pipe cannot break the Markdown table
    assert project.run("resume", CASE, "--at", "2026-11-23T09:45").exit_code == 0
    html = (project.folder(CASE) / "checklist.html").read_text()
    assert "Mon 23 Nov 2026 09:00 CET – Mon 23 Nov 2026 09:45 CET" in html
    assert "Open (" in html


def test_due_soon_at_a_share_of_the_window_in_show_checklists_and_calendars(
    project: Project,
) -> None:
    open_friday_evening(project)
    # investigate: 48 business hours from Mon 23rd 09:00; 75 % = 36 h: Fri 27th 13:00
    md = (project.folder(CASE) / "checklist.md").read_text()
    assert "Due soon from: Fri 27 Nov 2026 13:00 CET" in md
    html = (project.folder(CASE) / "checklist.html").read_text()
    assert "due soon from Fri 27 Nov 2026 13:00 CET" in html
    ics = (project.folder(CASE) / "deadlines.ics").read_bytes().decode().replace("\r\n ", "")
    assert "Due soon from: Fri 27 Nov 2026 13:00 CET" in ics
    steps = {s["step"]: s for s in show(project, now="2026-11-27T12:59")["steps"]}
    assert steps["resolution.investigate"]["status"] == "open"
    steps = {s["step"]: s for s in show(project, now="2026-11-27T13:00")["steps"]}
    assert steps["resolution.investigate"]["status"] == "due-soon"


def test_a_fixed_due_soon_duration_in_the_config_still_applies(project: Project) -> None:
    config = project.root / "sopgen.yaml"
    config.write_text(config.read_text().replace("calendar:\n", "calendar:\n  due_soon: 2 days\n"))
    open_friday_evening(project)
    # investigate is due Mon 30th 17:00: due-soon from Sat 28th 17:00
    steps = {s["step"]: s for s in show(project, now="2026-11-28T16:00")["steps"]}
    assert steps["resolution.investigate"]["status"] == "open"
    steps = {s["step"]: s for s in show(project, now="2026-11-28T17:00")["steps"]}
    assert steps["resolution.investigate"]["status"] == "due-soon"


def listed(project: Project, *args: str, now: str | None = None) -> list[dict[str, Any]]:
    result = project.run("list", "--format", "json", *args, now=now)
    assert result.exit_code == 0, result.output
    rows: list[dict[str, Any]] = json.loads(result.stdout)
    return rows


def open_events(project: Project, case: str) -> dict[str, icalendar.Event]:
    """The events of the steps not done in a case's deadlines.ics, by step key."""
    calendar = icalendar.Calendar.from_ical((project.folder(case) / "deadlines.ics").read_bytes())
    return {
        str(e["UID"]).split("@")[0].removeprefix(f"{case}."): e
        for e in calendar.walk("VEVENT")
        if not str(e["SUMMARY"]).startswith("✔")
    }


def test_a_case_on_hold_is_on_hold_in_lists_show_and_calendar(project: Project) -> None:
    # C-1 (Friday evening) has steps overdue by Monday 10:00 (acknowledge: Sat 18:05),
    # so without the hold it would come first in the list and match --overdue
    open_friday_evening(project)
    late = project.run("open", "C-2", "--sop", "SOP-CS-001", "--received", "2026-11-23T09:59")
    assert late.exit_code == 0, late.output
    assert [r["case"] for r in listed(project)] == ["C-1", "C-2"]
    before = open_events(project, CASE)
    put = project.run("hold", CASE, "--at", "2026-11-23 09:00", "--reason", "photos")
    assert put.exit_code == 0, put.output

    rows = listed(project)
    assert [r["case"] for r in rows] == ["C-2", "C-1"]  # its clock is stopped: it comes last
    held = rows[1]
    assert held["status"] == "on-hold" and held["on_hold"] is True
    assert held["overdue_steps"] == 0
    assert [r["case"] for r in listed(project, "--overdue")] == ["C-2"]
    assert [r["case"] for r in listed(project, "--overdue", "--due-within", "30d")] == ["C-2"]
    text = project.run("list", now=NOW_TEXT).stdout
    assert "on-hold" in text or "on hold" in text
    statuses = {s["step"]: s["status"] for s in show(project)["steps"]}
    assert set(statuses.values()) == {"on-hold"}  # none is due soon or overdue while held

    # the calendar keeps each event where the hold stopped it, marked, free, silent
    events = open_events(project, CASE)
    for key, event in events.items():
        assert str(event["SUMMARY"]).startswith("⏸ On hold: "), key
        assert str(event["DESCRIPTION"]).startswith("On hold since Mon 23 Nov 2026 09:00")
        assert str(event["STATUS"]) == "TENTATIVE" and str(event["TRANSP"]) == "TRANSPARENT"
        assert not event.walk("VALARM")
        assert event["DTEND"].dt == before[key]["DTEND"].dt  # a hold begun now moved nothing
        assert event["SEQUENCE"] > before[key]["SEQUENCE"]  # clients must update the event

    # resumed: the case is back in the deadline filters; acknowledge was late before the hold
    resumed = project.run("resume", CASE, "--at", "2026-11-23 10:30", now="2026-11-23T10:30")
    assert resumed.exit_code == 0, resumed.output
    assert [r["case"] for r in listed(project, "--overdue", now="2026-11-23T10:30")] == [
        "C-1",
        "C-2",
    ]
    statuses = {s["step"]: s["status"] for s in show(project, "2026-11-23T10:30")["steps"]}
    assert statuses["intake.acknowledge"] == "overdue"
    events = open_events(project, CASE)
    assert not any(str(e["SUMMARY"]).startswith("⏸") for e in events.values())
    assert str(events["resolution.investigate"]["STATUS"]) == "CONFIRMED"
    # 1.5 business hours on hold: investigate moved from Mon 30th 17:00 to Tue 1st 10:30
    assert events["resolution.investigate"]["DTEND"].dt.isoformat() == "2026-12-01T09:30:00+00:00"


def test_a_held_case_left_with_a_next_deadline_by_an_older_sopgen_is_not_overdue(
    project: Project,
) -> None:
    open_friday_evening(project)
    assert project.run("hold", CASE, "--at", "2026-11-23 09:00").exit_code == 0
    # sopgen 0.1's wave-2 builds kept the deadline of the moment the hold began
    stale = "2026-11-21 17:05:00" + (".000000" if project.kind == "sqlite" else "+00")
    project.execute(f"UPDATE cases SET next_due = '{stale}'")
    assert listed(project, "--overdue") == []
    assert listed(project)[0]["status"] == "on-hold"


def test_pages_run_through_the_running_cases_then_the_held_ones(project: Project) -> None:
    for case, received in (
        ("H-1", "2026-11-20T08:00"),  # the earliest deadlines: first but for the hold
        ("R-1", "2026-11-20T09:00"),
        ("H-2", "2026-11-20T10:00"),
        ("R-2", "2026-11-20T11:00"),
        ("R-3", "2026-11-20T12:00"),
    ):
        opened = project.run("open", case, "--sop", "SOP-CS-001", "--received", received)
        assert opened.exit_code == 0, opened.output
    for case in ("H-2", "H-1"):
        assert project.run("hold", case, "--at", "2026-11-23T09:00").exit_code == 0
    pages = [
        [r["case"] for r in listed(project, "--limit", "2", "--page", str(n))] for n in (1, 2, 3, 4)
    ]
    assert pages == [["R-1", "R-2"], ["R-3", "H-1"], ["H-2"], []]
    assert [r["case"] for r in listed(project)] == ["R-1", "R-2", "R-3", "H-1", "H-2"]


def test_a_back_dated_hold_cannot_turn_a_late_step_on_time(project: Project) -> None:
    # issue #11: done ~30 h late, then a hold dated back over its deadline erased the lateness
    open_friday_evening(project)
    sunday = "2026-11-22T01:21"
    done = project.run("done", CASE, "record", now=sunday)
    assert done.exit_code == 0, done.output
    record = next(s for s in show(project, sunday)["steps"] if s["step"] == "intake.record")
    assert record["due"] == "2026-11-20T19:05:00+01:00" and record["status"] == "done-late"
    before = project.state()
    for args in [
        ("hold", CASE, "--at", "2026-11-20T18:10", "--reason", "x"),
        ("priority", CASE, "high", "--at", "2026-11-20T18:10"),
    ]:
        result = project.run(*args, now=sunday)
        assert result.exit_code == 1, (args, result.output)
        assert "before step intake.record was done (Sun 22 Nov 2026 01:21 CET)" in result.output
        assert "hint: give an --at time from Sun 22 Nov 2026 01:21 CET on" in result.output
        assert "Traceback" not in result.output
        assert project.state() == before, args
    # from the completion on, a hold is fine, and the done step stays late
    held = project.run("hold", CASE, "--at", "2026-11-22T01:21", now=sunday)
    assert held.exit_code == 0, held.output
    assert project.run("resume", CASE, now="2026-11-23T10:00").exit_code == 0
    record = next(s for s in show(project)["steps"] if s["step"] == "intake.record")
    assert record["due"] == "2026-11-20T19:05:00+01:00" and record["status"] == "done-late"


def test_a_resume_cannot_be_dated_before_a_step_done_during_the_hold(project: Project) -> None:
    open_friday_evening(project)
    assert project.run("hold", CASE, "--at", "2026-11-23 09:00").exit_code == 0
    done = project.run(
        "done", CASE, "investigate", "--at", "2026-11-23T11:00", now="2026-11-23T11:00"
    )
    assert done.exit_code == 0, done.output
    before = project.state()
    # resuming at 10:00 would shrink the hold the done step counted (09:00-11:00)
    early = project.run("resume", CASE, "--at", "2026-11-23T10:00", now="2026-11-23T12:00")
    assert early.exit_code == 1, early.output
    assert "cannot resume at Mon 23 Nov 2026 10:00 CET, before step resolution.investigate" in (
        early.output
    )
    assert project.state() == before
    assert (
        project.run("resume", CASE, "--at", "2026-11-23T11:00", now="2026-11-23T12:00").exit_code
        == 0
    )
    assert due(project, "resolution.investigate") == "2026-12-01T11:00:00+01:00"


def test_done_at_a_time_inside_a_past_hold_counts_the_hold_up_to_then(project: Project) -> None:
    open_friday_evening(project)
    assert project.run("hold", CASE, "--at", "2026-11-23 09:00").exit_code == 0
    assert (
        project.run("resume", CASE, "--at", "2026-11-23T13:00", now="2026-11-23T13:00").exit_code
        == 0
    )
    # done at 11:00 (inside the hold): two business hours on hold by then, as if ticked then
    done = project.run(
        "done", CASE, "investigate", "--at", "2026-11-23T11:00", now="2026-11-23T14:00"
    )
    assert done.exit_code == 0, done.output
    assert due(project, "resolution.investigate", now="2026-11-23T14:00") == (
        "2026-12-01T11:00:00+01:00"
    )
    # reopened, the step is open again and sees the whole hold (four business hours)
    assert project.run("reopen", CASE, "investigate", now="2026-11-23T14:00").exit_code == 0
    assert due(project, "resolution.investigate", now="2026-11-23T14:00") == (
        "2026-12-01T13:00:00+01:00"
    )
