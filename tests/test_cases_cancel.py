"""`sopgen case cancel`: a withdrawn complaint leaves the open lists, its events become
cancelled without reminders, and it stays in the history."""

from __future__ import annotations

import json

from icalendar import Calendar

from casekit import CASE, SOP, Project, project_fixture  # noqa: F401 - the `project` fixture

RECEIVED = ("--received", "2026-11-20T18:05")


def events(project: Project, case: str = CASE) -> dict[str, dict]:
    raw = (project.folder(case) / "deadlines.ics").read_bytes()
    return {
        str(e["UID"]): {
            "sequence": int(e["SEQUENCE"]),
            "status": str(e["STATUS"]),
            "summary": str(e["SUMMARY"]),
            "alarms": len(e.walk("VALARM")),
        }
        for e in Calendar.from_ical(raw).walk("VEVENT")
    }


def open_two_and_cancel_one(project: Project) -> None:
    for case in (CASE, "C-KEEP"):
        assert project.run("open", case, "--sop", SOP, *RECEIVED).exit_code == 0
    assert project.run("done", CASE, "receive", "--at", "2026-11-23T09:00").exit_code == 0


def test_cancel_turns_open_steps_into_cancelled_events_without_reminders(project: Project):
    open_two_and_cancel_one(project)
    before = events(project)
    assert any(e["alarms"] for e in before.values())  # reminders were there
    result = project.run("cancel", CASE, "--reason", "customer withdrew the complaint")
    assert result.exit_code == 0, result.output
    assert f"cancelled case {CASE}: 11 open steps cancelled" in result.output
    after = events(project)
    done_uid = project.uid(CASE, "intake.receive")
    for uid, event in after.items():
        if uid == done_uid:  # done work stays done
            assert event == before[uid] and event["status"] == "CONFIRMED"
            continue
        assert event["status"] == "CANCELLED", uid
        assert event["sequence"] == before[uid]["sequence"] + 1
        assert event["summary"].startswith("✖ Cancelled: ")
        assert event["alarms"] == 0
    md = (project.folder() / "checklist.md").read_text()
    assert "| Status | Cancelled Mon 23 Nov 2026 10:00 CET: customer withdrew the complaint" in md


def test_a_cancelled_case_leaves_the_open_lists_and_stays_in_the_history(project: Project):
    open_two_and_cancel_one(project)
    assert project.run("cancel", CASE, "--reason", "withdrawn").exit_code == 0
    listed = json.loads(project.run("list", "--format", "json").stdout)
    assert [c["case"] for c in listed] == ["C-KEEP"]
    assert json.loads(project.run("list", "--overdue", "--format", "json").stdout)[0]["case"] == (
        "C-KEEP"
    )
    cancelled = json.loads(project.run("list", "--cancelled", "--format", "json").stdout)
    assert [(c["case"], c["cancel_reason"]) for c in cancelled] == [(CASE, "withdrawn")]
    assert cancelled[0]["cancelled"] == "2026-11-23T10:00:00+01:00"
    text = project.run("list", "--cancelled").stdout
    assert f"{CASE} (SOP-CS-001): cancelled Mon 23 Nov 2026 10:00 CET" in text
    assert "reason: withdrawn" in text
    shown = json.loads(project.run("show", CASE, "--format", "json").stdout)
    assert shown["cancelled"] == "2026-11-23T10:00:00+01:00"
    assert shown["cancel_reason"] == "withdrawn"
    statuses = [s["status"] for s in shown["steps"]]
    assert statuses[0] == "done" and set(statuses[1:]) == {"cancelled"}
    assert "CANCELLED Mon 23 Nov 2026 10:00 CET: withdrawn" in project.run("show", CASE).stdout
    # refresh works on open cases only
    assert "refreshed 1 open case" in project.run("refresh").stdout


def test_a_cancelled_case_can_no_longer_change(project: Project):
    open_two_and_cancel_one(project)
    assert project.run("cancel", CASE, "--reason", "withdrawn").exit_code == 0
    state = project.state()
    for args in (
        ["done", CASE, "record"],
        ["reopen", CASE, "receive"],
        ["cancel", CASE, "--reason", "again"],
    ):
        result = project.run(*args)
        assert result.exit_code == 1, args
        assert f"case {CASE} was cancelled (withdrawn); it can no longer change" in result.stderr
        assert project.state() == state
    assert project.run("open", CASE, "--sop", SOP).exit_code == 1  # the id stays taken


def test_cancel_refuses_a_missing_reason_an_unknown_case_and_a_complete_case(project: Project):
    assert project.run("open", CASE, "--sop", SOP, *RECEIVED).exit_code == 0
    state = project.state()
    assert project.run("cancel", CASE).exit_code == 2  # --reason is required
    empty = project.run("cancel", CASE, "--reason", "  ")
    assert empty.exit_code == 1 and "the reason is empty" in empty.stderr
    unknown = project.run("cancel", "C-NOPE", "--reason", "x")
    assert unknown.exit_code == 1 and "no case 'C-NOPE'" in unknown.stderr
    assert project.state() == state
    steps = json.loads(project.run("show", CASE, "--format", "json").stdout)["steps"]
    for step in steps:
        assert project.run("done", CASE, step["step"]).exit_code == 0
    complete = project.run("cancel", CASE, "--reason", "x")
    assert complete.exit_code == 1 and "is complete" in complete.stderr
