"""The checklist files: what a rep sees in checklist.html and checklist.md."""

from __future__ import annotations

import re

from casekit import CASE, SOP, Project, project_fixture  # noqa: F401 - the `project` fixture


def open_case(project: Project, *extra: str) -> None:
    result = project.run(
        "open", CASE, "--sop", SOP, "--received", "2026-11-20T18:05", "--assignee", "alice",
        "--summary", "Kettle arrived broken", *extra,
    )  # fmt: skip
    assert result.exit_code == 0, result.output


def test_html_checklist_shows_header_and_every_step(project: Project):
    open_case(project)
    assert project.run("done", CASE, "receive", "--at", "2026-11-23T09:20").exit_code == 0
    html = (project.folder() / "checklist.html").read_text()
    assert html.startswith("<!DOCTYPE html>")
    for part in (
        "Case C-2026-0042",
        "SOP-CS-001",
        "Customer Complaint Handling",
        'Version <span class="doc-version">1.2</span>',
        "Fri 20 Nov 2026 18:05 CET",
        "alice",
        "Kettle arrived broken",
        "A. Complaint Intake",
        "Customer Service Representative",
        "Within 5 business days",
        "Mon 30 Nov 2026 17:00 CET",
        # receive was due Mon 23 Nov 09:00
        'Done late <time datetime="2026-11-23T09:20:00+01:00">Mon 23 Nov 2026 09:20 CET</time>',
        "after the deadline",
        "Signed: ________ Date: ________",
        "--primary:",  # the SOP documents' stylesheet
    ):
        assert part in html, part
    assert html.count("☑") == 1
    assert html.count("☐") == 11
    assert html.count("Signed: ________ Date: ________") == 12
    assert re.search(r"<title>Case C-2026-0042", html)


def test_markdown_checklist(project: Project):
    open_case(project)
    assert project.run("done", CASE, "record", "--at", "2026-11-23T09:20").exit_code == 0
    md = (project.folder() / "checklist.md").read_text()
    assert md.startswith("# Case C-2026-0042: SOP-CS-001 Customer Complaint Handling")
    assert "| Received | Fri 20 Nov 2026 18:05 CET |" in md
    assert "| Assignee | alice |" in md
    assert "## C. Resolution Process" in md or "## C. " in md
    assert md.count("- [ ] **") == 11 and md.count("- [x] **A2**") == 1
    assert "  - Deadline: Mon 30 Nov 2026 17:00 CET" in md
    # record was due Fri 20 Nov 19:05 (1 hour after receipt)
    assert "  - Done late: Mon 23 Nov 2026 09:20 CET, after the deadline" in md
    assert md.count("  - Signed: ________ Date: ________") == 12


def test_same_state_same_files(project: Project):
    open_case(project)
    folder = project.folder()
    first = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert project.run("done", CASE, "receive", "--at", "2026-11-23T09:20").exit_code == 0
    assert project.run("reopen", CASE, "receive").exit_code == 0
    again = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert again["checklist.md"] == first["checklist.md"]
    assert again["checklist.html"] == first["checklist.html"]
