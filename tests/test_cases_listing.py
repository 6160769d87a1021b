"""`case list` at scale: pages, closed cases, and stores from before next_due was kept."""

from __future__ import annotations

import json

from casekit import SOP, Project, project_fixture  # noqa: F401 - the `project` fixture


def import_cases(project: Project, count: int) -> list[str]:
    """`count` cases received an hour apart (so their next deadlines are ordered)."""
    lines = [
        f"P-{i:03d},2026-11-{2 + i // 8:02d}T{9 + i % 8:02d}:00,rep{i % 3}" for i in range(count)
    ]
    path = project.root / "cases.csv"
    path.write_text("\n".join(lines) + "\n")
    result = project.run("import", str(path), "--sop", SOP)
    assert result.exit_code == 0, result.output
    return [f"P-{i:03d}" for i in range(count)]


def listed(project: Project, *args: str) -> list[dict]:
    result = project.run("list", "--format", "json", *args)
    assert result.exit_code == 0, result.output
    rows: list[dict] = json.loads(result.stdout)
    return rows


def close(project: Project, case_id: str) -> None:
    shown = json.loads(project.run("show", case_id, "--format", "json").stdout)
    for step in shown["steps"]:
        assert project.run("done", case_id, step["step"]).exit_code == 0


def test_pages_follow_the_soonest_deadline_order(project: Project):
    ids = import_cases(project, 7)
    everything = listed(project)
    assert [r["case"] for r in everything] == ids  # received an hour apart, due in that order
    assert [r["case"] for r in listed(project, "--limit", "3")] == ids[:3]
    assert [r["case"] for r in listed(project, "--limit", "3", "--page", "3")] == ids[6:]
    assert listed(project, "--limit", "3", "--page", "4") == []
    text = project.run("list", "--limit", "3", "--page", "2").stdout
    assert "Open cases (7)" in text
    assert "open cases 4–6 of 7; next page: --page 3" in text
    assert "P-003" in text and "P-002" not in text and "P-006" not in text


def test_the_terminal_shows_a_page_by_default(project: Project):
    import_cases(project, 55)
    text = project.run("list").stdout
    assert "Open cases (55)" in text
    assert "open cases 1–50 of 55; next page: --page 2" in text
    assert "P-049" in text and "P-050" not in text
    assert len(listed(project)) == 55  # JSON: all, unless --limit


def test_closed_cases_are_listed_with_status_closed_or_all(project: Project):
    ids = import_cases(project, 3)
    close(project, ids[1])
    assert [r["case"] for r in listed(project)] == [ids[0], ids[2]]
    closed = listed(project, "--status", "closed")
    assert [(r["case"], r["status"], r["next_step"]) for r in closed] == [(ids[1], "closed", None)]
    assert closed[0]["closed"] == "2026-11-23T10:00:00+01:00"  # the last step's completion
    every = listed(project, "--status", "all")
    assert [r["case"] for r in every] == [ids[0], ids[2], ids[1]]  # open first, then closed
    assert [
        r["case"] for r in listed(project, "--status", "all", "--limit", "2", "--page", "2")
    ] == [ids[1]]
    text = project.run("list", "--status", "closed").stdout
    assert "Closed cases (1)" in text and ids[1] in text and "Mon 23 Nov 2026 10:00 CET" in text
    assert project.run("list", "--status", "closed", "--overdue").exit_code == 2
    assert project.run("list", "--status", "nope").exit_code == 2


def test_a_store_from_before_next_due_lists_in_the_right_order(project: Project):
    ids = import_cases(project, 5)
    project.execute("UPDATE cases SET next_due = NULL")  # as revision 0004 leaves them
    assert [r["case"] for r in listed(project, "--limit", "2")] == ids[:2]
    assert project.sql("SELECT count(*) FROM cases WHERE next_due IS NULL") == [(0,)]


def test_overdue_and_due_within_filter_in_the_database(project: Project):
    ids = import_cases(project, 4)
    assert project.run("done", ids[0], "A1").exit_code == 0
    assert project.run("done", ids[0], "A2").exit_code == 0
    overdue = {r["case"] for r in listed(project, "--overdue")}
    assert overdue == {r["case"] for r in listed(project) if r["overdue_steps"]}
    soon = listed(project, "--due-within", "1h")
    assert all(r["status"] in ("overdue", "due-soon") for r in soon)


def test_the_status_filter_agrees_with_each_cases_status_and_pages(project: Project):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from sopgen.cases.service.caseservice import CaseService
    from sopgen.cases.store.tables import Store
    from sopgen.library import load_library

    import_cases(project, 12)
    now = datetime(2026, 11, 3, 12, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    store = Store(project.url)
    try:
        service = CaseService(store, load_library(project.root))
        everything = service.list_open(now)
        for status in ("open", "due-soon", "overdue"):
            expected = [r.case.id for r in everything if r.status == status]
            assert [r.case.id for r in service.list_open(now, status=status)] == expected
            assert service.count_open(now, status=status) == len(expected)
            page = service.list_open(now, status=status, limit=2, offset=1)
            assert [r.case.id for r in page] == expected[1:3]
        assert len({r.status for r in everything}) >= 2  # the filter had something to do
    finally:
        store.close()


def test_the_priority_filter_takes_each_cases_priority_now(project: Project):
    lines = [  # case, received, assignee, summary, priority (empty: normal)
        "Q-1,2026-11-02T09:00,,,critical",
        "Q-2,2026-11-02T10:00,,,",
        "Q-3,2026-11-02T11:00,,,Low",
        "Q-4,2026-11-02T12:00,,,critical",
        "Q-5,2026-11-02T13:00,,,high",
        "Q-6,2026-11-02T14:00,,,",
    ]
    path = project.root / "prio.csv"
    path.write_text("\n".join(lines) + "\n")
    assert project.run("import", str(path), "--sop", SOP).exit_code == 0
    assert project.run("priority", "Q-1", "normal").exit_code == 0  # the latest one counts
    close(project, "Q-4")
    assert [r["case"] for r in listed(project, "--priority", "critical")] == []
    assert [r["case"] for r in listed(project, "--priority", "Normal")] == ["Q-1", "Q-2", "Q-6"]
    assert [
        r["case"] for r in listed(project, "--priority", "normal", "--limit", "1", "--page", "2")
    ] == ["Q-2"]
    assert [r["case"] for r in listed(project, "--priority", "low")] == ["Q-3"]
    every = listed(project, "--status", "all", "--priority", "CRITICAL")
    assert [(r["case"], r["status"], r["priority"]) for r in every] == [
        ("Q-4", "closed", "critical")
    ]
    text = project.run("list", "--priority", "critical")
    assert text.exit_code == 0 and text.stdout == "no open cases match\n"
    bad = project.run("list", "--priority", "urgent")
    assert bad.exit_code == 1 and bad.stdout == ""
    assert "unknown priority 'urgent'" in bad.stderr and "critical, high, normal, low" in bad.stderr
