"""Priorities: `within:` per priority, `case open --priority`, `case priority` (hand-checked).

The example SOP-CS-001 is given per-priority targets for its investigate step:
critical 2 business hours, high 2 business days, normal 5 business days (low
is not listed: it falls back to normal). Berlin, Mon–Fri 09:00–17:00; the
clock is pinned at Monday 23 Nov 2026 10:00.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from casekit import Project, project_fixture  # noqa: F401 - the `project` fixture

TARGETS = "within: {critical: 2 business hours, high: 2 business days, normal: 5 business days}"


@pytest.fixture(name="prio")
def prio_fixture(project: Project) -> Project:
    sop = project.root / "sops" / "sop-cs-001.yaml"
    text = sop.read_text()
    assert "        within: Within 5 business days\n" in text
    sop.write_text(text.replace("        within: Within 5 business days\n", f"        {TARGETS}\n"))
    return project


def show(project: Project, case: str) -> dict[str, Any]:
    result = project.run("show", case, "--format", "json")
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def step(project: Project, case: str, key: str = "resolution.investigate") -> dict[str, Any]:
    return next(s for s in show(project, case)["steps"] if s["step"] == key)


def open_case(project: Project, case: str, *extra: str) -> None:
    args = ("open", case, "--sop", "SOP-CS-001", "--received", "2026-11-20T18:05", *extra)
    result = project.run(*args)
    assert result.exit_code == 0, result.output


def test_open_with_a_priority_uses_its_timeframe(prio: Project) -> None:
    open_case(prio, "P-1", "--priority", "critical")
    investigate = step(prio, "P-1")
    # 2 business hours from Friday 18:05: Monday 09:00-11:00
    assert investigate["due"] == "2026-11-23T11:00:00+01:00"
    assert investigate["within"] == "2 business hours"
    data = show(prio, "P-1")
    assert data["priority"] == "critical"
    assert data["priorities"] == [{"from": "2026-11-20T18:05:00+01:00", "priority": "critical"}]
    open_case(prio, "P-2")
    assert show(prio, "P-2")["priority"] == "normal"
    assert step(prio, "P-2")["due"] == "2026-11-30T17:00:00+01:00"
    # low is not listed for the step: it falls back to normal
    open_case(prio, "P-3", "--priority", "low")
    assert step(prio, "P-3")["due"] == "2026-11-30T17:00:00+01:00"
    listed = json.loads(prio.run("list", "--format", "json").stdout)
    assert {r["case"]: r["priority"] for r in listed} == {
        "P-1": "critical",
        "P-2": "normal",
        "P-3": "low",
    }


def test_raising_the_priority_mid_case_replans_open_steps_from_the_received_time(
    prio: Project,
) -> None:
    """docs/deadlines.md's worked example ("Priorities"), on its SOP snippet (TARGETS)."""
    page = (Path(__file__).parents[1] / "docs" / "deadlines.md").read_text()
    assert f"        {TARGETS}\n" in page and "Wednesday\n25th 17:00" in page
    open_case(prio, "P-1")
    result = prio.run("priority", "P-1", "high", "--at", "2026-11-23T09:30")
    assert result.exit_code == 0, result.output
    assert "deadline moved: resolution.investigate" in result.stdout
    # 2 business days from Friday 18:05: day 0 is Monday, due Wednesday 17:00
    assert step(prio, "P-1")["due"] == "2026-11-25T17:00:00+01:00"
    data = show(prio, "P-1")
    assert data["priority"] == "high"
    # the history starts with the priority the case was opened with (issue #11)
    assert data["priorities"] == [
        {"from": "2026-11-20T18:05:00+01:00", "priority": "normal"},
        {"from": "2026-11-23T09:30:00+01:00", "priority": "high"},
    ]
    text = prio.run("show", "P-1").stdout
    assert (
        "priority high (normal from Fri 20 Nov 2026 18:05 CET, high from Mon 23 Nov 2026 09:30 CET)"
        in text
    )
    assert "sets no targets per priority" not in result.stdout
    # steps without per-priority targets do not move
    assert step(prio, "P-1", "resolution.plan")["due"] == "2026-12-02T17:00:00+01:00"


def test_a_done_step_keeps_the_deadline_of_the_priority_it_was_done_under(prio: Project) -> None:
    open_case(prio, "P-1")
    done = prio.run("done", "P-1", "investigate", "--at", "2026-11-23T09:45")
    assert done.exit_code == 0, done.output
    assert prio.run("priority", "P-1", "critical").exit_code == 0
    investigate = step(prio, "P-1")
    assert investigate["due"] == "2026-11-30T17:00:00+01:00"
    assert investigate["within"] == "5 business days"
    assert investigate["status"] == "done"


def test_bad_priorities_are_refused_and_change_nothing(prio: Project) -> None:
    bad_open = prio.run("open", "P-9", "--sop", "SOP-CS-001", "--priority", "urgent")
    assert bad_open.exit_code == 1
    assert "unknown priority 'urgent'" in bad_open.output
    assert "sopgen.yaml sets no priorities, so the defaults apply: critical, high, normal, low" in (
        bad_open.output
    )
    open_case(prio, "P-1")
    before = prio.state()
    for args, message in [
        (("priority", "P-1", "urgent"), "so the defaults apply: critical, high, normal, low;"),
        (
            ("priority", "P-1", "normal"),
            "hint: to change it, name another priority: critical, high, low",
        ),
        (("priority", "P-1", "high", "--at", "2026-11-20T18:00"), "cannot change at"),
        (("priority", "P-1", "high", "--at", "2026-11-24T10:00"), "lies in the future"),
        (("priority", "P-404", "high"), "no case 'P-404'"),
    ]:
        result = prio.run(*args)
        assert result.exit_code == 1, (args, result.output)
        assert message in result.output
        assert "Traceback" not in result.output
        assert prio.state() == before


def test_a_priority_is_named_in_any_case_and_kept_in_sopgen_yamls_spelling(
    prio: Project,
) -> None:
    """`High` is `high` wherever a user types a priority, as `case import` always took it."""
    result = prio.run(
        "open", "P-1", "--sop", "SOP-CS-001", "--received", "2026-11-20T18:05", "--priority", "High"
    )
    assert result.exit_code == 0, result.output
    assert ", priority high" in result.stdout
    assert show(prio, "P-1")["priority"] == "high"
    assert step(prio, "P-1")["due"] == "2026-11-25T17:00:00+01:00"  # high: 2 business days
    result = prio.run("priority", "P-1", " CRITICAL ", "--at", "2026-11-23T09:30")
    assert result.exit_code == 0, result.output
    assert "priority: P-1 is critical from Mon 23 Nov 2026 09:30 CET" in result.stdout
    assert [p["priority"] for p in show(prio, "P-1")["priorities"]] == ["high", "critical"]
    again = prio.run("priority", "P-1", "Critical")
    assert again.exit_code == 1
    assert "case P-1 already has priority critical" in again.output


def test_the_checklist_shows_the_priority_and_whose_target_a_step_has(prio: Project) -> None:
    """A printed checklist of a critical case must not look like a normal one (issue #11)."""
    open_case(prio, "P-1", "--priority", "high")
    assert prio.run("priority", "P-1", "critical", "--at", "2026-11-23T09:30").exit_code == 0
    md = (prio.root / "output" / "cases" / "P-1" / "checklist.md").read_text()
    assert (
        "| Priority | **critical** (high from Fri 20 Nov 2026 18:05 CET, "
        "critical from Mon 23 Nov 2026 09:30 CET) |"
    ) in md
    assert "  - Timeframe: 2 business hours (critical)\n" in md
    assert "  - Timeframe: Within 1 hour\n" in md  # no target per priority: nothing added
    html = (prio.root / "output" / "cases" / "P-1" / "checklist.html").read_text()
    assert (
        '<th scope="row">Priority</th><td colspan="3" class="priority">'
        '<strong class="urgent">critical</strong>'
    ) in html
    assert '<td>2 business hours <span class="for-priority">(critical)</span></td>' in html
    assert "<td>Within 1 hour</td>" in html
    assert "2 business hours (critical)" in prio.run("show", "P-1").stdout  # and in the terminal
    # a done step keeps the target it was done under, and says whose it was
    open_case(prio, "P-2", "--priority", "high")
    assert prio.run("done", "P-2", "investigate", "--at", "2026-11-23T09:45").exit_code == 0
    assert prio.run("priority", "P-2", "low").exit_code == 0
    md = (prio.root / "output" / "cases" / "P-2" / "checklist.md").read_text()
    assert "| Priority | low (high from Fri 20 Nov 2026 18:05 CET, low from" in md
    assert "  - Timeframe: 2 business days (high)\n" in md
    # a case opened without a priority: normal, not marked
    open_case(prio, "P-3")
    md = (prio.root / "output" / "cases" / "P-3" / "checklist.md").read_text()
    assert "| Priority | normal |" in md
    assert "  - Timeframe: 5 business days (normal)\n" in md


def test_a_checklist_under_an_sop_without_targets_names_the_priority_only(
    project: Project,
) -> None:
    open_case(project, "P-1", "--priority", "low")
    md = (project.root / "output" / "cases" / "P-1" / "checklist.md").read_text()
    assert "| Priority | low |" in md
    assert "  - Timeframe: Within 5 business days\n" in md and "(low)" not in md


def test_calendar_events_carry_the_priority(prio: Project, tmp_path: Path) -> None:
    """A critical case's events read as such in Outlook or Google (issue #11): the
    SUMMARY of an open step is marked, DESCRIPTION names the priority and whose target
    a timeframe is; a priority change raises the SEQUENCE of the open steps' events."""
    from icalendar import Calendar

    from icscheck import bytes_errors, require

    def events(case: str) -> dict[str, Any]:
        raw = (prio.root / "output" / "cases" / case / "deadlines.ics").read_bytes()
        return {str(e["UID"]).split("@")[0]: e for e in Calendar.from_ical(raw).walk("VEVENT")}

    open_case(prio, "P-1", "--priority", "high")
    assert prio.run("done", "P-1", "receive", "--at", "2026-11-23T09:00").exit_code == 0
    before = events("P-1")
    investigate = before["P-1.resolution.investigate"]
    assert str(investigate["SUMMARY"]).startswith("❗ High: [P-1] Investigate the complaint")
    description = str(investigate["DESCRIPTION"])
    assert description.startswith("Case: P-1\nPriority: high\nSOP: SOP-CS-001")
    assert "\nTimeframe: 2 business days (high)\n" in description
    [alarm] = investigate.walk("VALARM")
    assert "❗ High: [P-1]" in str(alarm["DESCRIPTION"])
    done = before["P-1.intake.receive"]
    assert str(done["SUMMARY"]).startswith("✔ Done: [P-1]")  # finished: no longer urgent
    assert "Priority: high" in str(done["DESCRIPTION"])
    assert prio.run("priority", "P-1", "low", "--at", "2026-11-23T09:30").exit_code == 0
    after = events("P-1")
    for uid, event in after.items():
        if uid == "P-1.intake.receive":
            assert event["SEQUENCE"] == before[uid]["SEQUENCE"]
            continue
        assert event["SEQUENCE"] == before[uid]["SEQUENCE"] + 1, uid  # its text changed
        assert str(event["SUMMARY"]).startswith("[P-1] ")  # low is not marked
        assert "\nPriority: low\n" in str(event["DESCRIPTION"])
    require()
    raw = (prio.root / "output" / "cases" / "P-1" / "deadlines.ics").read_bytes()
    assert bytes_errors(raw, tmp_path) == []
    open_case(prio, "P-2", "--priority", "critical")
    raw = (prio.root / "output" / "cases" / "P-2" / "deadlines.ics").read_bytes()
    assert "SUMMARY:❗ Critical: [P-2]" in raw.decode()
    assert bytes_errors(raw, tmp_path) == []


def test_the_document_shows_the_targets_per_priority(prio: Project) -> None:
    from sopgen.cli import cli

    result = prio.runner.invoke(cli, ["--root", str(prio.root), "build", "--html", "SOP-CS-001"])
    assert result.exit_code == 0, result.output
    html = (prio.root / "output" / "html" / "SOP-CS-001.html").read_text()
    assert "Targets by priority" in html
    table = html[html.index('<table class="targets">') :]
    table = table[: table.index("</table>")]
    head = [cell.split("</th>")[0] for cell in table.split('<th scope="col">')[1:]]
    assert head == ["Step", "critical", "high", "normal", "low"]
    cells = [cell.split("</td>")[0] for cell in table.split("<td>")[1:]]
    # low is not listed for the step: the document says it takes normal's timeframe
    assert cells == ["2 business hours", "2 business days", "5 business days", "5 business days"]
    assert "critical: 2 business hours; high: 2 business days; normal: 5 business days" in html


def test_import_reads_a_priority_column_in_english_or_german(prio: Project) -> None:
    english = prio.root / "en.csv"
    english.write_text(
        "case id,received,assignee,priority\n"
        "I-1,2026-11-20T18:05,ann,critical\n"
        "I-2,2026-11-20T18:05,ann,High\n"  # any case
        "I-3,2026-11-20T18:05,ann,\n",  # empty: normal
        encoding="utf-8",
    )
    result = prio.run("import", str(english), "--sop", "SOP-CS-001")
    assert result.exit_code == 0, result.output
    german = prio.root / "de.csv"
    german.write_text(
        "Fall-Nr.;Eingang;Priorität\nI-4;2026-11-20 18:05;kritisch\nI-5;2026-11-20 18:05;low\n",
        encoding="utf-8",
    )
    result = prio.run("import", str(german), "--sop", "SOP-CS-001")
    assert result.exit_code == 1  # 'kritisch' is no priority of sopgen.yaml
    assert f"{german}:2:3: error: unknown priority 'kritisch'" in result.stderr
    assert "write one of critical, high, normal, low" in result.stderr
    # the case is planned with its priority's timeframe, as `open --priority` plans it
    assert step(prio, "I-1")["due"] == "2026-11-23T11:00:00+01:00"  # 2 business hours
    assert step(prio, "I-2")["due"] == "2026-11-25T17:00:00+01:00"  # 2 business days
    assert step(prio, "I-3")["due"] == "2026-11-30T17:00:00+01:00"  # 5 business days
    assert show(prio, "I-1")["priorities"] == [
        {"from": "2026-11-20T18:05:00+01:00", "priority": "critical"}
    ]
    assert show(prio, "I-2")["priority"] == "high"
    assert show(prio, "I-3")["priority"] == "normal"
    assert show(prio, "I-5")["priority"] == "low"  # the good row of the file went in


def test_import_maps_a_priority_column_by_columns_and_position(prio: Project) -> None:
    named = prio.root / "named.csv"
    named.write_text("Ticket;Opened;Dringend\nJ-1;2026-11-20 18:05;critical\n", encoding="utf-8")
    result = prio.run(
        "import", str(named), "--sop", "SOP-CS-001",
        "--columns", "case=Ticket,received=Opened,priority=Dringend",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert show(prio, "J-1")["priority"] == "critical"
    bare = prio.root / "bare.csv"  # no header: case, received, assignee, summary, priority
    bare.write_text("J-2,2026-11-20T18:05,,Kettle,high\nJ-3,2026-11-20T18:05,,,urgent\n")
    result = prio.run("import", str(bare), "--sop", "SOP-CS-001", "--all-or-nothing")
    assert result.exit_code == 1
    assert f"{bare}:2:5: error: unknown priority 'urgent'" in result.stderr
    assert "write one of critical, high, normal, low, or leave the cell empty" in result.stderr
    assert prio.run("show", "J-2").exit_code != 0  # all or nothing: J-2 stayed out too
    result = prio.run("import", str(bare), "--sop", "SOP-CS-001", "--columns", "priority=5")
    assert show(prio, "J-2")["priority"] == "high"


def test_a_priority_change_on_an_sop_without_targets_says_no_deadline_moves(
    project: Project,
) -> None:
    open_case(project, "P-1")  # the shipped SOP-CS-001: one timeframe per step
    before = {s["step"]: s["due"] for s in show(project, "P-1")["steps"]}
    result = project.run("priority", "P-1", "critical")
    assert result.exit_code == 0, result.output
    assert "SOP-CS-001 sets no targets per priority; deadlines unchanged" in result.stdout
    assert "deadline moved" not in result.stdout
    assert {s["step"]: s["due"] for s in show(project, "P-1")["steps"]} == before
