"""A step done after its deadline is marked done-late everywhere a rep or a machine looks:
checklist (HTML, Markdown, PDF), `case show` (text and JSON) and the calendar."""

from __future__ import annotations

import json

from icalendar import Calendar
from pypdf import PdfReader

from casekit import CASE, SOP, Project, project_fixture  # noqa: F401 - the `project` fixture

# received Fri 20 Nov 18:05: intake.receive (Immediate) is due Mon 23 Nov 09:00,
# resolution.investigate (5 business days) Mon 30 Nov 17:00
ON_TIME, LATE = "intake.receive", "resolution.investigate"


def setup_case(project: Project) -> None:
    opened = project.run(
        "open", CASE, "--sop", SOP, "--received", "2026-11-20T18:05", "--pdf",
        now="2026-12-01T10:00",
    )  # fmt: skip
    assert opened.exit_code == 0, opened.output
    for step, at in ((ON_TIME, "2026-11-23T09:00"), (LATE, "2026-12-01T09:30")):
        result = project.run("done", CASE, step, "--at", at, now="2026-12-01T10:00")
        assert result.exit_code == 0, result.output


def test_json_and_text_show_done_late(project: Project):
    setup_case(project)
    shown = project.run("show", CASE, "--format", "json", now="2026-12-01T10:00")
    status = {s["step"]: s["status"] for s in json.loads(shown.stdout)["steps"]}
    assert status[ON_TIME] == "done"  # exactly at the deadline is on time
    assert status[LATE] == "done-late"
    assert list(status.values()).count("done-late") == 1
    text = project.run("show", CASE, now="2026-12-01T10:00").stdout
    assert "done late Tue 01 Dec 2026 09:30" in " ".join(text.split())
    assert "done Mon 23 Nov 2026 09:00" in " ".join(text.split())


def test_checklists_mark_the_late_step(project: Project):
    setup_case(project)
    folder = project.folder()
    html = (folder / "checklist.html").read_text()
    assert html.count("Done late <time") == 1
    assert 'class="done late" id="step-resolution.investigate"' in html
    assert 'class="done" id="step-intake.receive"' in html
    md = (folder / "checklist.md").read_text()
    assert md.count("  - Done late: ") == 1
    assert "  - Done late: Tue 01 Dec 2026 09:30 CET, after the deadline" in md
    assert "  - Done: Mon 23 Nov 2026 09:00 CET" in md
    pdf = " ".join(
        "".join(page.extract_text() for page in PdfReader(folder / "checklist.pdf").pages).split()
    )
    assert pdf.count("Done late") == 1 and "after the deadline" in pdf


def test_calendar_marks_the_late_step(project: Project):
    setup_case(project)
    raw = (project.folder() / "deadlines.ics").read_bytes()
    events = {str(e["UID"]): e for e in Calendar.from_ical(raw).walk("VEVENT")}
    late, on_time = events[project.uid(CASE, LATE)], events[project.uid(CASE, ON_TIME)]
    assert str(late["SUMMARY"]).startswith("✔ Done late: ")
    assert str(late["DESCRIPTION"]).startswith("Done late, at Tue 01 Dec 2026 09:30")
    assert str(on_time["SUMMARY"]).startswith("✔ Done: ")
    assert sum(str(e["SUMMARY"]).startswith("✔ Done late") for e in events.values()) == 1
