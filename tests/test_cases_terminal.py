"""`case show` and `case list` in a terminal: every deadline whole, with its time of day,
at 60 and 80 columns (stacked) and on wide terminals (tables)."""

from __future__ import annotations

import json
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from casekit import SOP, Project, project_fixture  # noqa: F401 - the `project` fixture
from sopgen.cases.timestamps import human
from sopgen.cli import cli

BERLIN = ZoneInfo("Europe/Berlin")
CASES = {  # case id, SOP, received, assignee, priority
    "C-2026-0042": ("SOP-CS-001", "2026-11-20T18:05", "alice", "normal"),
    "C-2026-0043-LONG-ID": ("SOP-CS-002", "2026-11-20T12:05", "Bob Longname-Smithers", "critical"),
}


def _human(text: str) -> str:
    return human(datetime.fromisoformat(text), BERLIN)


@pytest.fixture(name="opened")
def opened_fixture(project: Project) -> Project:
    for case_id, (sop, received, assignee, priority) in CASES.items():
        result = project.run(
            "open", case_id, "--sop", sop, "--received", received, "--assignee", assignee,
            "--priority", priority,
        )  # fmt: skip
        assert result.exit_code == 0, result.output
    assert project.run("done", "C-2026-0042", "intake.receive").exit_code == 0
    return project


def run_at(project: Project, width: int, *args: str) -> list[str]:
    result = project.runner.invoke(
        cli,
        ["--root", str(project.root), "case", *args],
        env={"COLUMNS": str(width)},
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines, "no output"
    too_long = [line for line in lines if len(line) > width]
    assert not too_long, f"lines wider than {width} columns: {too_long}"
    assert not any("…" in line for line in lines), "\n".join(lines)
    padded = [line for line in lines if line != line.rstrip()]
    assert not padded, f"lines ending in spaces: {padded}"
    return lines


def whole_on_a_line(lines: list[str], moment: str) -> bool:
    return any(moment in line for line in lines)


@pytest.mark.parametrize("width", [60, 80, 160])
def test_show_has_every_deadline_and_done_time_whole(opened: Project, width: int):
    for case_id in CASES:
        plan = json.loads(opened.run("show", case_id, "--format", "json").stdout)
        lines = run_at(opened, width, "show", case_id)
        assert whole_on_a_line(lines, _human(plan["received"]))
        for step in plan["steps"]:
            due = _human(step["due"])
            assert whole_on_a_line(lines, due), f"{step['step']} due {due} at {width} columns"
            assert any(step["step"] in line for line in lines)
            if step["done"]:
                assert whole_on_a_line(lines, _human(step["done"]))


@pytest.mark.parametrize("width", [60, 80, 160])
def test_list_has_every_next_deadline_whole(opened: Project, width: int):
    rows = json.loads(opened.run("list", "--format", "json").stdout)
    assert len(rows) == 2
    lines = run_at(opened, width, "list")
    for row in rows:
        assert any(row["case"] in line for line in lines)
        assert any(row["next_step"] in line for line in lines)
        assert whole_on_a_line(lines, _human(row["next_due"]))
        assert any(row["status"] in line for line in lines)
    # a priority other than normal stands next to the case id, in either layout
    assert any("C-2026-0043-LONG-ID (critical)" in line for line in lines)
    assert not any("(normal)" in line for line in lines)


def test_narrow_show_is_stacked_and_wide_show_is_a_table(opened: Project):
    narrow = run_at(opened, 80, "show", "C-2026-0042")
    assert "A. Complaint Intake" in narrow
    done = narrow.index(next(line for line in narrow if "A1 intake.receive" in line))
    # received Friday evening, due Monday 09:00, done at 10:00
    assert narrow[done].startswith("☑ A1 intake.receive") and narrow[done].endswith("done-late")
    assert "done late Mon 23 Nov 2026 10:00 CET" in [line.strip() for line in narrow]
    assert "due  Mon 23 Nov 2026 09:00 CET" in [line.strip() for line in narrow]
    wide = run_at(opened, 160, "show", "C-2026-0042")
    assert any(line.startswith("┃") and "Due" in line for line in wide)


@pytest.mark.parametrize("width", [60, 80, 100, 160])
@pytest.mark.parametrize("color", [False, True])
def test_no_line_ends_in_spaces(opened: Project, width: int, color: bool):
    """Rich pads a stacked layout's lines to the width; copied into a mail or a diff, the
    padding showed. In colour, the codes that end a style stay where they were.

    The terminal type is set here, not inherited: rich prints no colour when TERM is
    `dumb` (CI containers, `docker exec` without -t), and the assertions depend on it."""
    env = {
        "COLUMNS": str(width),
        "FORCE_COLOR": "1" if color else None,
        "NO_COLOR": None,
        "TERM": "xterm-256color",
        "COLORTERM": None,
    }
    for args in (["list"], ["list", "--status", "all"], *(["show", c] for c in CASES)):
        result = opened.runner.invoke(cli, ["--root", str(opened.root), "case", *args], env=env)
        assert result.exit_code == 0, result.output
        out = result.stdout
        assert ("\x1b[" in out) is color
        plain = re.sub(r"\x1b\[[0-9;]*m", "", out).splitlines()
        assert plain and not [line for line in plain if line != line.rstrip()], args
        if color:  # every style that was opened is closed again
            assert out.count("\x1b[0m") >= 1
