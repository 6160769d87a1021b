"""`sopgen case import FILE.csv --sop SOP-ID`: many cases at once, bad rows by line."""

from __future__ import annotations

import json
from pathlib import Path
from zoneinfo import ZoneInfo

from casekit import SOP, Project, project_fixture  # noqa: F401 - the `project` fixture
from sopgen.cases.csvrows import parse_csv

BERLIN = ZoneInfo("Europe/Berlin")

GOOD = """case id,received,assignee,summary
C-1,2026-11-20T18:05,alice,Kettle broken
C-2,2026-11-20 09:00,bob,
C-3,2026-11-20T08:00Z,alice,"Refund, please"
"""


def write(project: Project, text: str, name: str = "cases.csv", encoding: str = "utf-8") -> Path:
    path = project.root / name
    path.write_bytes(text.encode(encoding))
    return path


def listed(project: Project) -> list[str]:
    return sorted(r["case"] for r in json.loads(project.run("list", "--format", "json").stdout))


def test_import_opens_every_case_and_writes_files(project: Project):
    result = project.run("import", str(write(project, GOOD)), "--sop", SOP)
    assert result.exit_code == 0, result.output
    assert "imported 3 cases under SOP-CS-001" in result.stdout
    assert listed(project) == ["C-1", "C-2", "C-3"]
    for case_id in ("C-1", "C-2", "C-3"):
        names = {p.name for p in project.folder(case_id).iterdir()}
        assert names == {"checklist.html", "checklist.md", "deadlines.ics"}
    shown = json.loads(project.run("show", "C-3", "--format", "json").stdout)
    assert shown["received"] == "2026-11-20T09:00:00+01:00"
    assert shown["summary"] == "Refund, please"
    assert json.loads(project.run("show", "C-2", "--format", "json").stdout)["summary"] is None


def test_bad_rows_are_reported_by_line_and_good_rows_go_in(project: Project):
    text = (
        "C-1,2026-11-20T18:05,alice\n"
        "\n"
        "../evil,2026-11-20T18:05,bob\n"
        "C-2,yesterday,bob\n"
        "C-3,2026-11-20T18:05,carol,summary\n"
        "C-1,2026-11-20T18:06,dave\n"
        "C-4\n"
    )
    path = write(project, text)
    result = project.run("import", str(path), "--sop", SOP)
    assert result.exit_code == 1
    err = result.stderr
    assert f"{path}:3:1: error: '../evil' is not a valid case id" in err
    assert f"{path}:4:2: error: 'yesterday' is not a received time" in err  # its cell
    assert f"{path}:6:1: error: case id 'C-1' appears twice in the file (first on line 1)" in err
    assert f"{path}:7:1: error: the row has 1 column" in err
    assert "imported 2 cases under SOP-CS-001; 4 bad rows skipped" in result.stdout
    assert listed(project) == ["C-1", "C-3"]
    assert not (project.root / "output" / "cases" / "C-2").exists()


def test_all_or_nothing_imports_nothing_when_a_row_is_bad(project: Project):
    path = write(project, GOOD + "C-9,2026-13-01T10:00,x\n")
    result = project.run("import", str(path), "--sop", SOP, "--all-or-nothing")
    assert result.exit_code == 1
    assert f"{path}:5:2: error:" in result.stderr  # the received cell
    assert "imported no cases" in result.stderr
    assert not (project.root / "output").exists()
    assert listed(project) == []


def test_ids_already_in_the_store_are_bad_rows(project: Project):
    result = project.run("open", "C-2", "--sop", SOP, "--received", "2026-11-20T10:00")
    assert result.exit_code == 0
    before = project.state()
    path = write(project, GOOD)
    result = project.run("import", str(path), "--sop", SOP, "--all-or-nothing")
    assert result.exit_code == 1
    assert f"{path}:3:1: error: case id 'C-2' is already used" in result.stderr
    assert project.state() == before
    result = project.run("import", str(path), "--sop", SOP)
    assert result.exit_code == 1
    assert listed(project) == ["C-1", "C-2", "C-3"]


def test_semicolons_bom_and_no_header(project: Project):
    path = write(project, "\ufeffK-1;2026-11-20 18:05;Jörg Müller;Wasserkocher defekt\n")
    result = project.run("import", str(path), "--sop", SOP)
    assert result.exit_code == 0, result.output
    shown = json.loads(project.run("show", "K-1", "--format", "json").stdout)
    assert shown["assignee"] == "Jörg Müller"


def test_header_columns_in_any_order():
    rows = parse_csv("assignee,received,case\nann,2026-11-20T18:05,A-1\n", "f.csv", BERLIN)
    assert not rows.problems
    assert [(r.case_id, r.assignee, r.line) for r in rows.rows] == [("A-1", "ann", 2)]
    assert rows.rows[0].received.isoformat() == "2026-11-20T18:05:00+01:00"


def test_multiline_quoted_row_keeps_its_first_line():
    text = 'A-1,2026-11-20T18:05,ann,"two\nlines"\nbad id,2026-11-20T18:05,bob\n'
    rows = parse_csv(text, "f.csv", BERLIN)
    assert [r.line for r in rows.rows] == [1]
    assert [p.line for p in rows.problems] == [3]


def test_unreadable_files(project: Project):
    result = project.run("import", str(project.root / "nope.csv"), "--sop", SOP)
    assert result.exit_code == 1 and "nope.csv:1:1: error: no such file" in result.stderr
    latin = write(project, "C-1,2026-11-20T18:05,J\xf6rg\n", "latin.csv", "latin-1")
    result = project.run("import", str(latin), "--sop", SOP)
    assert result.exit_code == 1 and "not UTF-8" in result.stderr
    empty = write(project, "case,received,assignee\n", "empty.csv")
    result = project.run("import", str(empty), "--sop", SOP)
    assert result.exit_code == 1 and "holds no cases" in result.stderr
    result = project.run("import", str(write(project, GOOD)), "--sop", "SOP-NOPE")
    assert result.exit_code == 1 and "unknown SOP 'SOP-NOPE'" in result.stderr
    assert not (project.root / ".sopgen").exists()


def test_hundreds_of_cases(project: Project):
    lines = [
        f"BULK-{i:04d},2026-11-{1 + i % 20:02d}T{8 + i % 10:02d}:15,rep{i % 7}" for i in range(300)
    ]
    result = project.run("import", str(write(project, "\n".join(lines) + "\n")), "--sop", SOP)
    assert result.exit_code == 0, result.output
    assert "imported 300 cases" in result.stdout
    rep3 = json.loads(project.run("list", "--assignee", "rep3", "--format", "json").stdout)
    assert len(rep3) == len([i for i in range(300) if i % 7 == 3])
    dues = [r["next_due"] for r in rep3]
    assert dues == sorted(dues)


def test_a_quoted_comma_does_not_hide_the_semicolons(project: Project):
    """A German CRM export: semicolons, German headers and dates, a quoted comma."""
    path = write(
        project,
        "Fall-Nr.;Eingangsdatum;Betreff\n"
        "Y-1;2026-11-20 09:30;ok\n"
        'Y-2;20.11.2026 09:40;Lieferung fehlt, "dringend"\n',
    )
    result = project.run("import", str(path), "--sop", SOP)
    assert result.exit_code == 0, result.output
    shown = json.loads(project.run("show", "Y-2", "--format", "json").stdout)
    assert shown["received"] == "2026-11-20T09:40:00+01:00"
    assert listed(project) == ["Y-1", "Y-2"]


def test_a_bad_cell_is_reported_at_its_column(project: Project):
    from sopgen.cli import cli

    added = project.runner.invoke(
        cli,
        ["--root", str(project.root), "user", "add", "alice", "--name", "Alice", "--role", "rep"],
        input="correct horse battery\n",
    )
    assert added.exit_code == 0, added.output
    text = (
        "case id,received,assignee,summary\n"
        "C-1,2026-11-20T18:05,alice,fine\n"
        "C-2,2026-13-45T10:00,alice,a bad date\n"  # column 2
        "C-3,2026-11-20T18:05,zed,nobody\n"  # column 3
        "C-4,2030-01-01T10:00,alice,in the future\n"  # column 2, found by the service
        "C-5,2026-11-20T18:05,alice,\x07bell\n"  # column 4
    )
    path = write(project, text)
    err = project.run("import", str(path), "--sop", SOP).stderr
    assert f"{path}:3:2: error: '2026-13-45T10:00' is not a real date" in err
    assert f"{path}:4:3: error: 'zed' is not a user of the desk" in err
    assert f"{path}:5:2: error:" in err
    assert f"{path}:6:4: error: the summary contains control characters" in err
    moved = "received,assignee,case id\n2026-11-20T18:05,zed,C-9\n"  # the header decides
    path = write(project, moved, "moved.csv")
    assert f"{path}:2:2: error: 'zed' is not a user of the desk" in (
        project.run("import", str(path), "--sop", SOP).stderr
    )
