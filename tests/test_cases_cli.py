"""`sopgen case …` end to end, as a new user runs it, against a copy of the example library."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from casekit import CASE, SOP, Project, project_fixture  # noqa: F401 - the `project` fixture
from sopgen.library import load_library

JSON_KEYS = ["case", "sop", "sop_version", "received", "assignee"]
STEP_KEYS = ["step", "text", "responsible", "within", "due", "done", "status"]

FRIDAY_EVENING = {  # received Fri 20 Nov 2026 18:05 in Berlin
    "intake.receive": "2026-11-23T09:00:00+01:00",  # Immediate: next opening, Monday 09:00
    "intake.record": "2026-11-20T19:05:00+01:00",  # 1 hour of elapsed time
    "intake.acknowledge": "2026-11-21T18:05:00+01:00",  # 24 hours
    "assessment.categorize": "2026-11-21T18:05:00+01:00",
    "assessment.assign": "2026-11-22T18:05:00+01:00",
    "assessment.notify": "2026-11-22T18:05:00+01:00",
    "resolution.investigate": "2026-11-30T17:00:00+01:00",  # 5 business days from Monday
    "resolution.plan": "2026-12-02T17:00:00+01:00",
    "resolution.implement": "2026-12-07T17:00:00+01:00",
    "follow-up.request-feedback": "2026-12-11T17:00:00+01:00",
    "follow-up.review-feedback": "2026-12-14T17:00:00+01:00",
    "follow-up.document-findings": "2026-12-21T17:00:00+01:00",
}


def step_text(project: Project, key: str) -> str:
    """A step's text as the library copy holds it ({company} filled)."""
    library = load_library(project.root)
    step = library.sops[SOP].step(key)
    assert step is not None and library.config is not None
    return library.config.fill(step.do).strip()


def show(project: Project, case_id: str = CASE, now: str | None = None) -> dict:
    result = project.run("show", case_id, "--format", "json", now=now)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def open_case(project: Project, case_id: str = CASE, *args: str) -> None:
    result = project.run(
        "open",
        case_id,
        "--sop",
        SOP,
        "--received",
        "2026-11-20T18:05",
        "--assignee",
        "alice",
        *args,
    )
    assert result.exit_code == 0, result.output


# --------------------------------------------------------------------------- the user story


def test_open_show_done_rewrites_files_with_same_uids_and_higher_sequence(project: Project):
    result = project.run(
        "open", CASE, "--sop", SOP, "--received", "2026-11-20T18:05", "--assignee", "alice",
        "--summary", "Kettle arrived broken",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "opened case C-2026-0042 under SOP-CS-001 version 1.2" in result.stdout
    assert "Mon 23 Nov 2026 09:00 CET" in result.stdout  # the checklist, in the terminal

    data = show(project)
    assert list(data)[:5] == JSON_KEYS
    assert data["received"] == "2026-11-20T18:05:00+01:00"
    assert data["assignee"] == "alice"
    assert data["sop_version"] == "1.2"
    assert {s["step"]: s["due"] for s in data["steps"]} == FRIDAY_EVENING
    for step in data["steps"]:
        assert list(step)[:7] == STEP_KEYS
        assert step["done"] is None
    first = data["steps"][0]
    assert first == {
        "step": "intake.receive",
        "text": step_text(project, "intake.receive"),
        "responsible": "cs-rep",
        "within": "Immediate",
        "due": "2026-11-23T09:00:00+01:00",
        "done": None,
        "status": "overdue",  # now is Monday 10:00
    }
    statuses = {s["step"]: s["status"] for s in data["steps"]}
    assert statuses["resolution.investigate"] == "open"
    assert show(project, now="2026-11-29T18:00")["steps"][6]["status"] == "due-soon"

    folder = project.folder()
    assert {p.name for p in folder.iterdir()} == {"checklist.html", "checklist.md", "deadlines.ics"}
    html = (folder / "checklist.html").read_text()
    assert "Case C-2026-0042" in html and "Mon 30 Nov 2026 17:00 CET" in html
    before = (folder / "deadlines.ics").read_bytes()

    assert project.run("done", CASE, "intake.receive", "--at", "2026-11-23T09:20").exit_code == 0
    result = project.run("done", CASE, "record")  # bare step id; --at defaults to now
    assert result.exit_code == 0, result.output
    assert "done: C-2026-0042 A2 intake.record at Mon 23 Nov 2026 10:00 CET" in result.stdout

    data = show(project)
    done = {s["step"]: s["done"] for s in data["steps"]}
    assert done["intake.receive"] == "2026-11-23T09:20:00+01:00"
    assert done["intake.record"] == "2026-11-23T10:00:00+01:00"
    # receive was due Mon 09:00, record Fri 19:05 (1 hour after receipt): both done late
    assert [s["status"] for s in data["steps"][:2]] == ["done-late", "done-late"]

    from icalendar import Calendar

    def events(raw: bytes) -> dict[str, tuple[int, str]]:
        cal = Calendar.from_ical(raw)
        return {str(e["UID"]): (int(e["SEQUENCE"]), str(e["SUMMARY"])) for e in cal.walk("VEVENT")}

    old, new = events(before), events((folder / "deadlines.ics").read_bytes())
    assert old.keys() == new.keys() and len(new) == 12
    for uid, (sequence, summary) in new.items():
        if uid in (project.uid(CASE, "intake.receive"), project.uid(CASE, "intake.record")):
            assert sequence > old[uid][0]
            assert summary.startswith("✔ Done late: ")
        else:
            assert (sequence, summary) == old[uid]
    md = (folder / "checklist.md").read_text()
    assert "- [x] **A1** " + step_text(project, "intake.receive") in md
    assert "- [ ] **A3** " + step_text(project, "intake.acknowledge") in md


def test_christmas_closures_are_not_business_days(project: Project):
    result = project.run("open", "XMAS-1", "--sop", SOP, "--received", "2026-12-23 18:05",
                         now="2026-12-23T18:10")  # fmt: skip
    assert result.exit_code == 0, result.output
    due = {s["step"]: s["due"] for s in show(project, "XMAS-1", now="2026-12-23T18:10")["steps"]}
    # 24 Dec closed, 25/26 Dec holidays + weekend, 31 Dec closed, 1 Jan holiday
    assert due["intake.receive"] == "2026-12-28T09:00:00+01:00"
    assert due["resolution.investigate"] == "2027-01-06T17:00:00+01:00"
    assert due["follow-up.document-findings"] == "2027-01-27T17:00:00+01:00"


def test_received_with_offset_or_z_and_default_now(project: Project):
    assert (
        project.run("open", "Z-1", "--sop", SOP, "--received", "2026-11-20T17:05Z").exit_code == 0
    )
    assert show(project, "Z-1")["received"] == "2026-11-20T18:05:00+01:00"
    assert (
        project.run("open", "O-1", "--sop", SOP, "--received", "2026-11-20T12:05-05:00").exit_code
        == 0
    )
    assert show(project, "O-1")["received"] == "2026-11-20T18:05:00+01:00"
    assert project.run("open", "NOW-1", "--sop", SOP).exit_code == 0
    assert show(project, "NOW-1")["received"] == "2026-11-23T10:00:00+01:00"


def test_done_moves_dependent_deadlines_and_reopen_undoes(project: Project):
    args = ("open", "COM-1", "--sop", "SOP-CS-002", "--received", "2026-11-20T18:05")
    assert project.run(*args).exit_code == 0
    due = {s["step"]: s["due"] for s in show(project, "COM-1")["steps"]}
    assert due["first-contact.confirm-understanding"] == "2026-11-24T17:00:00+01:00"
    result = project.run("done", "COM-1", "acknowledge", "--at", "2026-11-23T09:30")
    assert result.exit_code == 0, result.output
    assert "deadline moved: first-contact.confirm-understanding" not in result.stdout  # same day
    result = project.run("reopen", "COM-1", "acknowledge")
    assert result.exit_code == 0
    result = project.run("done", "COM-1", "acknowledge", "--at", "2026-11-20T18:30")
    # done before opening: the day-0 rule moves nothing; later completion moves things
    result = project.run("reopen", "COM-1", "acknowledge")
    result = project.run(
        "done", "COM-1", "acknowledge", "--at", "2026-11-23T17:30", now="2026-11-23T18:00"
    )
    assert result.exit_code == 0, result.output
    assert "deadline moved: first-contact.confirm-understanding" in result.stdout
    data = show(project, "COM-1", now="2026-11-23T18:00")
    due = {s["step"]: s["due"] for s in data["steps"]}
    assert due["first-contact.confirm-understanding"] == "2026-11-25T17:00:00+01:00"
    assert (
        project.run(
            "reopen", "COM-1", "first-contact.acknowledge", now="2026-11-23T18:00"
        ).exit_code
        == 0
    )
    data = show(project, "COM-1")
    assert data["steps"][1]["done"] is None
    assert data["steps"][2]["due"] == "2026-11-24T17:00:00+01:00"


def test_sop_revised_later_does_not_change_an_open_case(project: Project):
    open_case(project)
    old_text = step_text(project, "intake.record")
    sop_file = project.root / "sops" / "sop-cs-001.yaml"
    data = yaml.safe_load(sop_file.read_text())
    data["version"] = "1.3"
    data["revisions"].append(
        {"version": "1.3", "date": "2026-11-22", "description": "Faster", "author": "QA"}
    )
    for section in data["procedure"]:
        for step in section["steps"]:
            if step["id"] == "investigate":
                step["within"] = "Within 2 business days"
            if step["id"] == "record":
                step["do"] = "Log it."
    sop_file.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    assert (
        project.run("open", "NEW-1", "--sop", SOP, "--received", "2026-11-20T18:05").exit_code == 0
    )
    new = show(project, "NEW-1")
    assert new["sop_version"] == "1.3"
    assert new["steps"][1]["text"] == "Log it."
    assert new["steps"][6]["due"] == "2026-11-25T17:00:00+01:00"

    old = show(project)
    assert old["sop_version"] == "1.2"
    assert old["steps"][1]["text"] == old_text
    assert {s["step"]: s["due"] for s in old["steps"]} == FRIDAY_EVENING
    assert project.run("done", CASE, "investigate").exit_code == 0  # still planned from 1.1
    html = (project.folder() / "checklist.html").read_text()
    assert "version 1.2" in html and "Log it." not in html


def test_list_filters_and_sorts_by_next_deadline(project: Project):
    rows = [
        ("A-1", "2026-11-20T18:05", "alice"),  # record overdue since Friday
        ("B-1", "2026-11-23T09:10", "bob"),  # record due 10:10: 50 of 60 minutes gone, due-soon
        ("C-1", "2026-11-23T09:55", "Alice"),
    ]
    for case_id, received, who in rows:
        assert project.run("open", case_id, "--sop", SOP, "--received", received,
                           "--assignee", who).exit_code == 0  # fmt: skip
    for step in ("receive", "record", "acknowledge", "categorize", "assign", "notify"):
        assert project.run("done", "C-1", step).exit_code == 0
    assert project.run("done", "B-1", "receive").exit_code == 0

    listed = json.loads(project.run("list", "--format", "json").stdout)
    assert [r["case"] for r in listed] == ["A-1", "B-1", "C-1"]
    assert listed[0]["next_step"] == "intake.record"
    assert listed[0]["next_due"] == "2026-11-20T19:05:00+01:00"
    assert [r["status"] for r in listed] == ["overdue", "due-soon", "open"]
    assert listed[2]["next_step"] == "resolution.investigate"

    overdue = json.loads(project.run("list", "--overdue", "--format", "json").stdout)
    assert [r["case"] for r in overdue] == ["A-1"]
    within = json.loads(project.run("list", "--due-within", "2d", "--format", "json").stdout)
    assert [r["case"] for r in within] == ["B-1"]  # overdue is not "due within"
    both = project.run("list", "--overdue", "--due-within", "2d", "--format", "json").stdout
    assert [r["case"] for r in json.loads(both)] == ["A-1", "B-1"]
    wide = json.loads(project.run("list", "--due-within", "8 days", "--format", "json").stdout)
    assert [r["case"] for r in wide] == ["B-1", "C-1"]
    alice = json.loads(project.run("list", "--assignee", "alice", "--format", "json").stdout)
    assert [r["case"] for r in alice] == ["A-1", "C-1"]

    text = project.run("list").stdout
    assert "A-1" in text and "overdue" in text
    titles = {  # each list's title names its filter
        ("--due-within", "2d"): "Open cases due within 2 days (1), as of",
        ("--overdue",): "Overdue cases (1), as of",
        ("--overdue", "--due-within", "4h"): "Open cases overdue or due within 4 hours (2), as",
        ("--assignee", "alice", "--priority", "high"): "Open cases assigned to alice of priority",
        (): "Open cases (3), as of",
    }
    for args, title in titles.items():
        shown = project.run("list", *args).stdout
        assert title in shown or shown.startswith("no open cases match"), (args, shown)
    assert project.run("list", "--assignee", "nobody").stdout.startswith("no open cases match")
    assert project.run("list", "--due-within", "soon").exit_code == 2  # usage error


def test_closed_cases_leave_the_list(project: Project):
    open_case(project)
    for planned in show(project)["steps"]:
        result = project.run("done", CASE, planned["step"])
        assert result.exit_code == 0
    assert "case C-2026-0042 is complete: every step is done" in result.stdout
    assert json.loads(project.run("list", "--format", "json").stdout) == []
    result = project.run("reopen", CASE, "receive")
    assert "1 step open; next: intake.receive" in result.stdout
    assert [r["case"] for r in json.loads(project.run("list", "--format", "json").stdout)] == [CASE]


def test_pdf_checklist(project: Project):
    open_case(project, CASE, "--pdf")
    pdf = project.folder() / "checklist.pdf"
    assert pdf.read_bytes().startswith(b"%PDF")
    from pypdf import PdfReader

    text = "".join(page.extract_text() for page in PdfReader(pdf).pages)
    assert "C-2026-0042" in text and "Signed:" in text
    from pdfkit import ua_problems

    assert ua_problems(pdf) == []  # PDF/UA-1 in the XMP metadata, tagged (issue #18, item 23)
    before = pdf.read_bytes()
    assert project.run("done", CASE, "receive").exit_code == 0  # an existing PDF is kept current
    assert pdf.read_bytes() != before


def test_show_text_table(project: Project):
    open_case(project)
    result = project.run("show", CASE)
    assert result.exit_code == 0
    assert "intake.receive" in result.stdout and "Customer Service Representative" in result.stdout


# --------------------------------------------------------------------------- bad input


def _unchanged(project: Project, args: list[str], message: str, now: str | None = None) -> None:
    before = project.state()
    result = project.run(*args, now=now)
    assert result.exit_code == 1, (result.output, result.exception)
    assert message in result.stderr, result.stderr
    assert "Traceback" not in result.output
    assert project.state() == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["open", "X-1", "--sop", "SOP-NOPE"], "sopgen: error: unknown SOP 'SOP-NOPE'"),
        (["open", "../../etc", "--sop", SOP], "'../../etc' is not a valid case id"),
        (["open", "a..b", "--sop", SOP], "contains '..'"),
        (["open", "CON", "--sop", SOP], "reserved device name"),
        (["open", "x" * 65, "--sop", SOP], "longer than 64 characters"),
        (["open", "X-1", "--sop", SOP, "--received", "last friday"], "is not a received time"),
        (["open", "X-1", "--sop", SOP, "--received", "2026-11-20"], "has a date but no time"),
        (["open", "X-1", "--sop", SOP, "--received", "2026-02-30T10:00"], "is not a real date"),
        (["open", "X-1", "--sop", SOP, "--received", "2026-03-29T02:30"], "does not exist"),
        (["open", "X-1", "--sop", SOP, "--received", "2026-12-01T10:00"], "lies in the future"),
        (["open", "X-1", "--sop", SOP, "--assignee", "a\x07b"], "control characters"),
    ],
)
def test_bad_open_changes_nothing(project: Project, args: list[str], message: str):
    _unchanged(project, args, message)
    assert not project.db.exists()  # checked before the store is even created


def test_bad_input_on_an_existing_case_changes_nothing(project: Project):
    open_case(project)
    assert project.run("done", CASE, "receive", "--at", "2026-11-23T09:10").exit_code == 0
    _unchanged(project, ["open", CASE, "--sop", SOP], "case id 'C-2026-0042' is already used")
    _unchanged(project, ["open", "c-2026-0042", "--sop", SOP], "is already used")  # same folder
    _unchanged(project, ["done", CASE, "nope"], "has no step 'nope'")
    _unchanged(project, ["done", "C-NOPE", "receive"], "no case 'C-NOPE'")
    _unchanged(project, ["done", CASE, "receive"], "is already done")
    _unchanged(project, ["done", CASE, "record", "--at", "2026-11-20T18:00"], "before case")
    _unchanged(project, ["done", CASE, "record", "--at", "2027-01-01T10:00"], "in the future")
    _unchanged(project, ["done", CASE, "record", "--at", "tomorrow"], "is not a completion time")
    _unchanged(project, ["reopen", CASE, "record"], "is not done")
    _unchanged(project, ["show", "C-NOPE"], "no case 'C-NOPE'")


def test_invalid_sop_is_reported_with_its_position(project: Project):
    sop_file = project.root / "sops" / "sop-cs-001.yaml"
    sop_file.write_text(sop_file.read_text().replace("within: Within 1 hour", "within: soonish"))
    before = project.state()
    result = project.run("open", CASE, "--sop", SOP)
    assert result.exit_code == 1
    assert "sops/sop-cs-001.yaml:" in result.stderr and "error" in result.stderr
    assert project.state() == before


def test_usage_errors_exit_2(project: Project):
    assert project.run("open", CASE).exit_code == 2  # --sop missing
    assert project.run("done", CASE).exit_code == 2
    assert project.run("show", CASE, "--format", "xml").exit_code == 2


def test_hostile_strings_are_escaped(project: Project):
    result = project.run("open", "H-1", "--sop", SOP, "--received", "2026-11-20T18:05",
                         "--assignee", "<script>alert(1)</script>",
                         "--summary", "a;b,c\\d\nDTSTART:19700101T000000Z")  # fmt: skip
    assert result.exit_code == 0, result.output
    listed = project.run("list", "--assignee", "<script>alert(1)</script>")
    assert "<script>alert(1)</script>" in listed.stdout
    assert project.run("open", "H-2", "--sop", SOP, "--assignee", "[/x] [red]bob").exit_code == 0
    listed = project.run("list")
    assert listed.exit_code == 0 and "[/x] [red]bob" in listed.stdout
    folder = project.folder("H-1")
    html = (folder / "checklist.html").read_text()
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    md = (folder / "checklist.md").read_text()
    assert "<script>" not in md and "\\<script\\>" in md
    ics = (folder / "deadlines.ics").read_bytes()
    assert b"\r\nDTSTART:19700101" not in ics
    from icalendar import Calendar

    event = Calendar.from_ical(ics).walk("VEVENT")[0]
    assert "Summary: a;b,c\\d\nDTSTART:19700101T000000Z" in str(event["DESCRIPTION"])


def test_invalid_config_is_reported(project: Project):
    (project.root / "sopgen.yaml").write_text("company: X\n")
    result = project.run("list")
    assert result.exit_code == 1
    assert "sopgen.yaml:" in result.stderr


def test_newer_schema_is_refused(project: Project):
    open_case(project)
    project.execute("UPDATE alembic_version SET version_num = 'f00dfeed'")
    result = project.run("list")
    assert result.exit_code == 1
    assert "has schema revision f00dfeed" in result.stderr and "upgrade sopgen" in result.stderr


def test_database_url_from_config_and_env(project: Project, tmp_path: Path, monkeypatch):
    monkeypatch.delenv("SOPGEN_DATABASE_URL", raising=False)  # this test picks its own
    config = project.root / "sopgen.yaml"
    config.write_text(config.read_text() + "database: sqlite:///cases/team.db\n")
    open_case(project)
    assert (project.root / "cases" / "team.db").exists()
    assert not project.db.exists()
    env_db = tmp_path / "env.db"
    monkeypatch.setenv("SOPGEN_DATABASE_URL", f"sqlite:///{env_db}")
    assert project.run("list", "--format", "json").stdout.strip() == "[]"  # env wins
    open_case(project)
    assert env_db.exists()


def test_as_a_new_user_runs_it(project: Project):
    """The real entry point in a subprocess: exit codes and messages, no traceback."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "SOPGEN_NOW": "2026-11-23T10:00"}
    env.pop("SOPGEN_DATABASE_URL", None)

    def sopgen(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "sopgen", "--root", str(project.root), "case", *args],
            capture_output=True,
            text=True,
            env=env,
        )

    opened = sopgen("open", CASE, "--sop", SOP, "--received", "2026-11-20 18:05")
    assert opened.returncode == 0, opened.stderr
    ics = project.folder() / "deadlines.ics"
    before = ics.read_bytes()
    assert sopgen("done", CASE, "intake.receive").returncode == 0
    assert sopgen("done", CASE, "record", "--at", "2026-11-23T09:58").returncode == 0
    after = ics.read_bytes()
    assert before.count(b"UID:") == after.count(b"UID:") == 12
    assert after.count(b"SEQUENCE:1") == 2 and before.count(b"SEQUENCE:1") == 0
    twice = sopgen("done", CASE, "record")
    assert twice.returncode == 1
    assert twice.stderr.startswith("sopgen: error: step intake.record of case C-2026-0042 is")
    assert "Traceback" not in twice.stderr
    assert sopgen("open").returncode == 2


def test_a_case_is_found_by_its_id_in_any_case(project: Project):
    assert project.run("open", CASE, "--sop", SOP, "--received", "2026-11-20T18:05").exit_code == 0
    shown = project.run("show", CASE.lower(), "--format", "json")
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["case"] == CASE
    done = project.run("done", CASE.lower(), "A1", "--at", "2026-11-23T09:10")
    assert done.exit_code == 0, done.output
    steps = json.loads(project.run("show", CASE, "--format", "json").stdout)["steps"]
    assert steps[0]["done"] == "2026-11-23T09:10:00+01:00"
