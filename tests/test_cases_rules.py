"""What a rep types when naming SOPs, steps and times: cases only under SOPs in force,
the step labels the checklist shows, SOP ids in any case, and messages that say what
is wrong ("not a real date", "now" in the company zone)."""

from __future__ import annotations

import json
import re

import pytest

from casekit import CASE, SOP, Project, project_fixture  # noqa: F401 - the `project` fixture


def show(project: Project, case_id: str = CASE) -> dict:
    result = project.run("show", case_id, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def refused(project: Project, args: list[str], *messages: str) -> None:
    before = project.state()
    result = project.run(*args)
    assert result.exit_code == 1, (result.output, result.exception)
    for message in messages:
        assert message in result.stderr, result.stderr
    assert "Traceback" not in result.output
    assert project.state() == before


# --------------------------------------------------------------------------- SOPs in force


@pytest.mark.parametrize(
    ("sop", "status"),
    [("SOP-CS-008", "status: draft"), ("SOP-CS-007", "status: in-review")],
)
def test_no_case_under_a_draft_or_in_review_sop(project: Project, sop: str, status: str):
    refused(
        project,
        ["open", "T-1", "--sop", sop, "--received", "2026-11-20T10:00"],
        f"error: {sop} version",
        f"({status}), not in force",
        "--allow-draft",
    )
    csv = project.root / "cases.csv"
    csv.write_text("T-2,2026-11-20T10:00,ann\n")
    refused(project, ["import", str(csv), "--sop", sop], "not in force")


def test_allow_draft_opens_a_trial_case(project: Project):
    result = project.run(
        "open", "T-1", "--sop", "SOP-CS-008", "--received", "2026-11-20T10:00", "--allow-draft"
    )
    assert result.exit_code == 0, result.output
    assert show(project, "T-1")["sop"] == "SOP-CS-008"
    csv = project.root / "cases.csv"
    csv.write_text("T-2,2026-11-20T10:00,ann\n")
    result = project.run("import", str(csv), "--sop", "SOP-CS-007", "--allow-draft")
    assert result.exit_code == 0, result.output


def test_no_case_received_before_the_sop_takes_effect(project: Project):
    # SOP-CS-001 1.1 is effective from 2026-11-01 (Berlin)
    refused(
        project,
        ["open", "E-1", "--sop", SOP, "--received", "2026-10-31T23:30"],
        "the received time Sat 31 Oct 2026 23:30 CET lies before SOP-CS-001 version ",
        " takes effect (2026-11-01)",
    )
    # the date counts in the company zone: 23:30 UTC on 31 Oct is 00:30 on 1 Nov in Berlin
    result = project.run("open", "E-2", "--sop", SOP, "--received", "2026-10-31T23:30Z")
    assert result.exit_code == 0, result.output
    csv = project.root / "cases.csv"
    csv.write_text("E-3,2026-10-30T10:00,ann\nE-4,2026-11-02T10:00,bob\n")
    result = project.run("import", str(csv), "--sop", SOP)
    assert result.exit_code == 1
    assert f"{csv}:1:2: error: the received time Fri 30 Oct 2026 10:00 CET lies before" in (
        result.stderr
    )
    assert "imported 1 case under SOP-CS-001; 1 bad row skipped" in result.stdout
    result = project.run(
        "open", "E-5", "--sop", SOP, "--received", "2026-10-30T10:00", "--allow-draft"
    )
    assert result.exit_code == 0, result.output


# --------------------------------------------------------------------------- step labels


def test_done_and_reopen_take_the_labels_the_checklist_shows(project: Project):
    result = project.run("open", CASE, "--sop", SOP, "--received", "2026-11-20T18:05")
    assert result.exit_code == 0, result.output
    result = project.run("done", CASE, "A3")
    assert result.exit_code == 0, result.output
    assert "done: C-2026-0042 A3 intake.acknowledge at Mon 23 Nov 2026 10:00 CET" in (result.stdout)
    assert project.run("done", CASE, "c1").exit_code == 0  # any case, like the case ids
    assert project.run("done", CASE, "intake.receive").exit_code == 0
    assert project.run("done", CASE, "record").exit_code == 0
    done = {s["step"] for s in show(project)["steps"] if s["done"]}
    assert done == {
        "intake.acknowledge",
        "resolution.investigate",
        "intake.receive",
        "intake.record",
    }
    result = project.run("reopen", CASE, "A3")
    assert result.exit_code == 0, result.output
    assert "reopened: C-2026-0042 A3 intake.acknowledge" in result.stdout
    refused(project, ["done", CASE, "E1"], "has no step 'E1'", "A1 intake.receive")
    refused(project, ["done", CASE, "A9"], "has no step 'A9'")


def test_the_step_parser_is_shared_by_every_caller():
    from casekit import REPO
    from sopgen.library import load_library

    sop = load_library(REPO).sops[SOP]
    for ref in ("A3", "a3", " A3 ", "intake.acknowledge", "acknowledge"):
        step = sop.step(ref)
        assert step is not None and step.key == "intake.acknowledge", ref
        assert sop.label(step) == "A3"
    assert [sop.step(r) for r in ("A0", "A4", "Z1", "A", "3", "A3x")] == [None] * 6


# --------------------------------------------------------------------------- messages


def test_an_impossible_received_date_is_not_a_real_date(project: Project):
    refused(
        project,
        ["open", "X-1", "--sop", SOP, "--received", "2026-11-31T10:00"],
        "'2026-11-31T10:00' is not a real date",
    )
    refused(
        project,
        ["open", "X-1", "--sop", SOP, "--received", "2026-02-29 10:00"],
        "'2026-02-29 10:00' is not a real date",
    )


def test_now_is_shown_in_the_company_zone_without_microseconds(
    project: Project, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.delenv("SOPGEN_NOW")  # the system clock, in UTC with microseconds
    result = project.run("open", "X-1", "--sop", SOP, "--received", "2099-01-01T10:00")
    assert result.exit_code == 1
    message = result.stderr
    assert "received time Thu 01 Jan 2099 10:00 CET lies in the future (now is " in message
    now = message.split("(now is ", 1)[1].split(")", 1)[0]
    # Berlin, not UTC; to the minute, as people read times elsewhere (not ISO 8601)
    assert re.fullmatch(r"[A-Z][a-z]{2} \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d CES?T", now), now


def test_a_future_at_reads_like_every_other_time(project: Project):
    """`--at` ahead of the clock: both times as `case show` prints them, not raw ISO 8601."""
    assert project.run("open", "F-1", "--sop", SOP, "--received", "2026-11-20T18:05").exit_code == 0
    result = project.run("done", "F-1", "intake.receive", "--at", "2026-11-24T09:30")
    assert result.exit_code == 1
    assert (
        "the completion time (--at) Tue 24 Nov 2026 09:30 CET lies in the future "
        "(now is Mon 23 Nov 2026 10:00 CET)"
    ) in result.stderr
    assert "+01:00" not in result.stderr


def test_sop_ids_in_any_case(project: Project):
    result = project.run("open", "L-1", "--sop", "sop-cs-001", "--received", "2026-11-20T10:00")
    assert result.exit_code == 0, result.output
    assert show(project, "L-1")["sop"] == "SOP-CS-001"
    csv = project.root / "cases.csv"
    csv.write_text("L-2,2026-11-20T10:00,ann\n")
    result = project.run("import", str(csv), "--sop", "Sop-Cs-001")
    assert result.exit_code == 0, result.output
    assert "imported 1 case under SOP-CS-001" in result.stdout
