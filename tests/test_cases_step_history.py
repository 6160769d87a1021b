"""The step history: every tick and reopen is kept, and a reopen cannot open a door for a
back-dated hold.

Berlin, Mon–Fri 09:00–17:00. The case is received Friday 20 Nov 2026 18:05;
`intake.record` (1 hour) is due Friday 19:05 and is done ~30 hours late on
Sunday 01:21. SQLite and PostgreSQL (the `project` fixture).
"""

from __future__ import annotations

import json
from typing import Any

from casekit import Project, project_fixture  # noqa: F401 - the `project` fixture
from sopgen.cli import cli

CASE = "C-1"
SUNDAY = "2026-11-22T01:21"  # when intake.record is done, late
LATE_DONE = "Sun 22 Nov 2026 01:21 CET"


def show(project: Project, now: str) -> dict[str, Any]:
    result = project.run("show", CASE, "--format", "json", now=now)
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def record_step(project: Project, now: str) -> dict[str, Any]:
    return next(s for s in show(project, now)["steps"] if s["step"] == "intake.record")


def tick_late_and_reopen(project: Project) -> None:
    opened = project.run("open", CASE, "--sop", "SOP-CS-001", "--received", "2026-11-20T18:05")
    assert opened.exit_code == 0, opened.output
    done = project.run("done", CASE, "record", now=SUNDAY)
    assert done.exit_code == 0, done.output
    assert record_step(project, SUNDAY)["status"] == "done-late"
    reopened = project.run("reopen", CASE, "record", now="2026-11-22T01:30")
    assert reopened.exit_code == 0, reopened.output
    assert f"  it was done {LATE_DONE}: the step history keeps that, and no hold" in (
        reopened.stdout
    )


def test_reopening_a_late_step_does_not_let_a_back_dated_hold_through(project: Project) -> None:
    # the dodge: tick late, reopen (its completion is gone), hold from before the
    # deadline, tick again at the first time: the step came out "on time"
    tick_late_and_reopen(project)
    before = project.state()
    for args in [
        ("hold", CASE, "--at", "2026-11-20T18:10", "--reason", "waiting for photos"),
        ("priority", CASE, "high", "--at", "2026-11-20T18:10"),
    ]:
        result = project.run(*args, now="2026-11-22T01:35")
        assert result.exit_code == 1, (args, result.output)
        assert f"before step intake.record was done ({LATE_DONE}; reopened since)" in result.output
        assert f"hint: give an --at time from {LATE_DONE} on:" in result.output
        assert "also after a reopen" in result.output
        assert "Traceback" not in result.output
        assert project.state() == before, args
    # ticked again at the first time, the step is as late as it was
    again = project.run("done", CASE, "record", "--at", SUNDAY, now="2026-11-22T01:40")
    assert again.exit_code == 0, again.output
    step = record_step(project, "2026-11-22T01:40")
    assert step["due"] == "2026-11-20T19:05:00+01:00" and step["status"] == "done-late"
    # a hold from the latest completion on is fine
    held = project.run("hold", CASE, "--at", SUNDAY, now="2026-11-22T01:40")
    assert held.exit_code == 0, held.output


def test_a_reopened_completion_later_than_the_retick_still_bounds_a_hold(
    project: Project,
) -> None:
    # ticked Sunday 01:21, reopened, ticked again as of Saturday: the latest completion
    # ever recorded (Sunday) still bounds the holds, not the current one (Saturday)
    tick_late_and_reopen(project)
    again = project.run("done", CASE, "record", "--at", "2026-11-21T12:00", now="2026-11-22T01:40")
    assert again.exit_code == 0, again.output
    early = project.run("hold", CASE, "--at", "2026-11-21T13:00", now="2026-11-22T01:45")
    assert early.exit_code == 1, early.output
    assert f"before step intake.record was done ({LATE_DONE}; reopened since)" in early.output


def test_case_show_lists_who_ticked_and_reopened_which_step_when(project: Project) -> None:
    tick_late_and_reopen(project)
    again = project.runner.invoke(
        cli,
        ["--root", str(project.root), "case", "done", CASE, "A2", "--at", SUNDAY],
        env={"SOPGEN_NOW": "2026-11-22T01:40", "LOGNAME": "[bold]mallory"},
    )
    assert again.exit_code == 0, again.output
    history = show(project, "2026-11-22T01:40")["history"]
    user = history[0]["by"]
    assert user  # the operating-system user of the CLI
    assert history == [
        {
            "step": "intake.record",
            "action": "done",
            "done": "2026-11-22T01:21:00+01:00",
            "recorded": "2026-11-22T01:21:00+01:00",
            "by": user,
            "via": "cli",
        },
        {
            "step": "intake.record",
            "action": "reopen",
            "done": "2026-11-22T01:21:00+01:00",
            "recorded": "2026-11-22T01:30:00+01:00",
            "by": user,
            "via": "cli",
        },
        {
            "step": "intake.record",
            "action": "done",
            "done": "2026-11-22T01:21:00+01:00",
            "recorded": "2026-11-22T01:40:00+01:00",
            "by": "[bold]mallory",
            "via": "cli",
        },
    ]
    text = project.run("show", CASE, now="2026-11-22T01:40").stdout
    history_text = text.split("Step history (recorded, by whom, what)\n")[1]
    lines = [line.strip() for line in history_text.splitlines()]
    assert lines[:6] == [
        f"Sun 22 Nov 2026 01:21 CET · {user} (cli)",
        "marked done: A2 intake.record",
        f"done at {LATE_DONE}",
        f"Sun 22 Nov 2026 01:30 CET · {user} (cli)",
        "reopened: A2 intake.record",
        f"it was done at {LATE_DONE}",
    ]
    assert "Sun 22 Nov 2026 01:40 CET · [bold]mallory (cli)" in lines  # text, not markup


def test_a_case_without_ticks_has_an_empty_history(project: Project) -> None:
    opened = project.run("open", CASE, "--sop", "SOP-CS-001", "--received", "2026-11-20T18:05")
    assert opened.exit_code == 0, opened.output
    assert show(project, SUNDAY)["history"] == []
    assert "Step history" not in project.run("show", CASE, now=SUNDAY).stdout
