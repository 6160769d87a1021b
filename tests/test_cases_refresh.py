"""`sopgen case refresh`: a config change reaches the case files, and only moved events
raise their SEQUENCE."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime

from icalendar import Calendar

from casekit import CASE, SOP, Project, project_fixture  # noqa: F401 - the `project` fixture

CLOSURE = "    - 2026-12-31\n"
"""In sopgen.yaml's closure days: a new one goes right after it."""


def events(project: Project, case: str = CASE) -> dict[str, tuple[int, datetime]]:
    """UID → (SEQUENCE, DTEND) of the case's deadlines.ics."""
    raw = (project.folder(case) / "deadlines.ics").read_bytes()
    return {
        str(e["UID"]): (int(e["SEQUENCE"]), e.decoded("DTEND"))
        for e in Calendar.from_ical(raw).walk("VEVENT")
    }


def files(project: Project, case: str = CASE) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in project.folder(case).iterdir()}


def add_closure_day(project: Project, day: str) -> None:
    config = project.root / "sopgen.yaml"
    text = config.read_text()
    assert CLOSURE in text
    config.write_text(text.replace(CLOSURE, f"{CLOSURE}    - {day}\n"))


def shown_dues(project: Project, case: str = CASE) -> dict[str, datetime]:
    plan = json.loads(project.run("show", case, "--format", "json").stdout)
    return {s["step"]: datetime.fromisoformat(s["due"]) for s in plan["steps"]}


def test_a_new_closure_day_moves_the_affected_deadlines_and_only_their_sequence(
    project: Project,
):
    # received Fri 20 Nov: 5, 7, 10 business days end on or before Mon 7 Dec;
    # 14, 15, 20 business days end after Tue 8 Dec, which becomes a closure day
    opened = project.run("open", CASE, "--sop", SOP, "--received", "2026-11-20T18:05")
    assert opened.exit_code == 0, opened.output
    assert project.run("done", CASE, "receive", "--at", "2026-11-23T09:10").exit_code == 0
    before, before_files = events(project), files(project)
    add_closure_day(project, "2026-12-08")
    moved_in_show = {
        step for step, due in shown_dues(project).items() if due > datetime(2026, 12, 8, tzinfo=UTC)
    }
    assert (project.folder() / "deadlines.ics").read_bytes() == before_files["deadlines.ics"]

    result = project.run("refresh", now="2026-11-24T08:00")
    assert result.exit_code == 0, result.output
    after = events(project)
    assert after.keys() == before.keys()
    moved = {uid for uid in after if after[uid][1] != before[uid][1]}
    assert moved == {project.uid(CASE, step) for step in moved_in_show}
    assert 0 < len(moved) < len(after)
    for uid, (sequence, due) in after.items():
        assert sequence == before[uid][0] + (uid in moved), uid
        if uid in moved:
            assert due > before[uid][1]  # a closure day only ever pushes deadlines out
    # the files show what `case show` shows
    dues = shown_dues(project)
    assert {uid: due for uid, (_, due) in after.items()} == {
        project.uid(CASE, step): due for step, due in dues.items()
    }
    markdown = (project.folder() / "checklist.md").read_text()
    assert b"Deadline: Mon 21 Dec 2026 17:00" in before_files["checklist.md"]  # 20 business days
    assert "Deadline: Tue 22 Dec 2026 17:00" in markdown
    assert "Mon 21 Dec 2026" not in markdown
    assert f"{CASE}: rewrote checklist.html, checklist.md, deadlines.ics" in result.output
    assert "deadline moved: " in result.output
    assert f"refreshed 1 open case: 1 with changed files, {len(moved)} deadlines moved" in (
        result.output
    )


def test_refresh_without_a_change_rewrites_nothing(project: Project):
    assert project.run("open", CASE, "--sop", SOP, "--received", "2026-11-20T18:05").exit_code == 0
    state = project.state()
    result = project.run("refresh", CASE, now="2026-11-24T08:00")
    assert result.exit_code == 0, result.output
    assert project.state() == state  # neither a file nor a row changed
    assert "refreshed 1 case: 0 with changed files, 0 deadlines moved" in result.output


def test_refresh_takes_open_cases_by_default_and_named_cases_only_when_named(project: Project):
    for case in ("A-1", "A-2"):
        assert (
            project.run("open", case, "--sop", SOP, "--received", "2026-11-20T18:05").exit_code == 0
        )
    add_closure_day(project, "2026-12-08")
    named = project.run("refresh", "A-2")
    assert named.exit_code == 0, named.output
    assert "A-2: rewrote" in named.output and "A-1" not in named.output
    everything = project.run("refresh")
    assert "A-1: rewrote" in everything.output and "A-2" not in everything.output.split("\n")[0]
    assert "refreshed 2 open cases: 1 with changed files" in everything.output


def test_unknown_case_is_refused_before_anything_changes(project: Project):
    assert project.run("open", CASE, "--sop", SOP, "--received", "2026-11-20T18:05").exit_code == 0
    add_closure_day(project, "2026-12-08")
    state = project.state()
    result = project.run("refresh", CASE, "C-NOPE")
    assert result.exit_code == 1
    assert "no case 'C-NOPE'" in result.stderr
    assert project.state() == state


def test_refresh_writes_the_files_of_cases_a_crash_left_without_them(project: Project):
    # docs/desk.md: killed between an import's commit and moving its folders into place, the
    # cases are in the store without files; `case refresh` writes them as they were
    csv = project.root / "cases.csv"
    csv.write_text("K-1,2026-11-20T09:05\nK-2,2026-11-20T10:05\n")
    assert project.run("import", str(csv), "--sop", SOP).exit_code == 0
    published = files(project, "K-2")
    shutil.rmtree(project.folder("K-2"))
    result = project.run("refresh")
    assert result.exit_code == 0, result.output
    assert files(project, "K-2") == published
    assert {seq for seq, _ in events(project, "K-2").values()} == {0}
