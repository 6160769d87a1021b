"""`sopgen validate` on bad input: every error class, its message, line, column and exit code.

Each test starts from a small valid repository (a config and two SOPs whose
line numbers are known), breaks one thing as a QA author would, and checks
what the author is told.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from sopgen.cli import cli

CONFIG = """\
company: Testfirma GmbH
timezone: Europe/Berlin
business_hours: {days: [mon, tue, wed, thu, fri], start: "09:00", end: "17:00"}
holidays:
  country: DE
  subdivision: BE
  closed: [2026-12-24, 2026-12-31]
roles:
  cs-rep: Customer Service Representative
  manager: Manager
  qa-team: Quality Assurance Team
  relevant-dept: Relevant Department
"""

# Line numbers in the comments are what the tests assert.
SOP = """\
# yaml-language-server: $schema=../schema/sop.schema.json
id: SOP-T-001
title: Test Procedure
version: "1.1"
status: effective
effective: {effective}
review_every: 12 months
owner: qa-team
approvals:
  - {{name: Dana Reyes, role: manager, date: {effective}}}
introduction: Handles complaints within {{company}}.
purpose: Consistent handling.
scope: All complaints.
responsibilities:
  cs-rep: Intake.
  manager: Oversight.
  relevant-dept: Investigation and plan.
procedure:
  - id: intake
    title: Complaint Intake
    steps:
      - id: receive
        do: Receive the complaint.
        responsible: cs-rep
        within: Immediate
      - id: record
        do: Record the complaint.
        responsible: cs-rep
        within: Within 1 hour
  - id: resolution
    title: Resolution
    steps:
      - id: investigate
        do: Investigate.
        responsible: relevant-dept
        accountable: manager
        within: 5 business days
      - id: plan
        do: Plan the resolution.
        responsible: relevant-dept
        within: 2 business days after investigate
documentation: Everything goes in the CRM.
references:
  - sop: SOP-T-002
  - title: CRM System User Guide
revisions:
  - {{version: "1.0", date: 2026-01-05, description: Initial, author: Jane Doe}}
  - {{version: "1.1", date: 2026-02-10, description: Plan step, author: Jane Doe}}
"""

OTHER = """\
id: SOP-T-002
title: Escalation
version: "1.0"
status: draft
owner: manager
introduction: Escalation.
purpose: Escalate.
scope: Hard cases.
responsibilities: {manager: Decides.}
procedure:
  - id: escalate
    title: Escalate
    steps:
      - {id: raise, do: Raise it., responsible: manager, accountable: manager, within: 2 hours}
documentation: In the CRM.
revisions:
  - {version: "1.0", date: 2026-01-05, description: Initial, author: Jane Doe}
"""


def sop_text() -> str:
    recent = (date.today() - timedelta(days=30)).isoformat()
    return SOP.format(effective=recent)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "sopgen.yaml").write_text(CONFIG)
    (tmp_path / "sops").mkdir()
    (tmp_path / "sops" / "sop-t-001.yaml").write_text(sop_text())
    (tmp_path / "sops" / "sop-t-002.yaml").write_text(OTHER)
    return tmp_path


class Result:
    def __init__(self, code: int, stdout: str, stderr: str):
        self.code, self.stdout, self.stderr = code, stdout, stderr

    def problems(self) -> list[dict[str, object]]:
        return json.loads(self.stdout)


def validate(repo: Path, *args: str) -> Result:
    result = CliRunner().invoke(cli, ["--root", str(repo), "validate", *args])
    crashed = result.exception is not None and not isinstance(result.exception, SystemExit)
    assert not crashed, f"crashed: {result.exception!r}"
    return Result(result.exit_code, result.stdout, result.stderr)


def edit(repo: Path, old: str, new: str, name: str = "sop-t-001.yaml") -> Path:
    path = repo / "sops" / name
    text = path.read_text()
    assert old in text, f"fixture does not contain {old!r}"
    path.write_text(text.replace(old, new, 1))
    return path


def only_error(result: Result) -> str:
    errors = [ln for ln in result.stderr.splitlines() if ": error: " in ln]
    assert len(errors) == 1, result.stderr
    return errors[0]


# --------------------------------------------------------------------------- the clean case


def test_valid_repository_passes(repo: Path) -> None:
    result = validate(repo)
    assert result.code == 0, result.stderr
    # the fixture's steps A1, A2 and B2 name no Accountable: warnings, which do not fail
    warnings = [ln for ln in result.stderr.splitlines() if ": warning: " in ln]
    assert warnings == [
        "sops/sop-t-001.yaml:22:13: warning: step A1 (receive) has no Accountable role",
        "sops/sop-t-001.yaml:26:13: warning: step A2 (record) has no Accountable role",
        "sops/sop-t-001.yaml:38:13: warning: step B2 (plan) has no Accountable role",
    ]
    assert "3 warnings in 1 file; 2 SOP files checked" in result.stderr
    for step, role in (("receive", "cs-rep"), ("record", "cs-rep"), ("plan", "relevant-dept")):
        edit(
            repo,
            f"id: {step}\n        do:",
            f"id: {step}\n        accountable: {role}\n        do:",
        )
    result = validate(repo)
    assert "ok: sopgen.yaml and 2 SOP files are valid" in result.stderr


def test_example_library_validates_clean() -> None:
    root = Path(__file__).resolve().parent.parent
    result = validate(root, "--format", "json")
    problems = result.problems()
    assert [p for p in problems if p["severity"] == "error"] == []
    assert result.code == 0
    assert {p["code"] for p in problems} <= {"review-overdue"}, problems


# --------------------------------------------------------------------------- YAML level


def test_yaml_syntax_error_points_at_line(repo: Path) -> None:
    edit(repo, "title: Test Procedure\n", 'title: "Test Procedure\n')
    result = validate(repo)
    assert result.code == 1
    line = only_error(result)
    assert line.startswith("sops/sop-t-001.yaml:")
    assert "YAML syntax error" in line
    assert "Traceback" not in result.stderr


def test_tab_indentation_gets_a_hint(repo: Path) -> None:
    edit(repo, "  cs-rep: Intake.", "\tcs-rep: Intake.")
    result = validate(repo)
    assert result.code == 1
    assert "sops/sop-t-001.yaml:15:" in only_error(result)
    assert "indent with spaces" in result.stderr


def test_non_utf8_file(repo: Path) -> None:
    path = repo / "sops" / "sop-t-001.yaml"
    path.write_bytes(sop_text().replace("Test Procedure", "Pr\xfcfung").encode("latin-1"))
    result = validate(repo)
    assert result.code == 1
    assert "sops/sop-t-001.yaml:3:10: error: the file is not valid UTF-8 (byte 0xfc)" in (
        result.stderr
    )
    assert "UTF-8" in result.stderr


@pytest.mark.parametrize("content", ["", "\n\n", "# only a comment\n"])
def test_empty_file(repo: Path, content: str) -> None:
    (repo / "sops" / "sop-t-001.yaml").write_text(content)
    result = validate(repo)
    assert result.code == 1
    assert "sops/sop-t-001.yaml:1:1: error: file is empty" in result.stderr


def test_list_instead_of_mapping(repo: Path) -> None:
    (repo / "sops" / "sop-t-001.yaml").write_text("- id: SOP-T-001\n- title: x\n")
    result = validate(repo)
    assert result.code == 1
    assert "sops/sop-t-001.yaml:1:1: error: the file holds a list, but must be a mapping" in (
        result.stderr
    )


def test_duplicate_key_is_an_error(repo: Path) -> None:
    edit(repo, "scope: All complaints.\n", "scope: All complaints.\nscope: Some complaints.\n")
    result = validate(repo)
    assert result.code == 1
    assert (
        "sops/sop-t-001.yaml:14:1: error: duplicate key 'scope' (first defined at line 13)"
        in result.stderr
    )


def test_duplicate_key_inside_a_step(repo: Path) -> None:
    edit(repo, "        within: Immediate\n", "        within: Immediate\n        within: 1 hour\n")
    result = validate(repo)
    assert "sops/sop-t-001.yaml:26:9: error: duplicate key 'within'" in result.stderr


def test_alias_bomb_is_refused_fast(repo: Path) -> None:
    bomb = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]']
    for i in range(1, 9):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        bomb.append(f"{cur}: &{cur} [{','.join([f'*{prev}'] * 10)}]")
    (repo / "sops" / "sop-t-001.yaml").write_text("\n".join(bomb) + "\n")
    start = time.perf_counter()
    result = validate(repo)
    elapsed = time.perf_counter() - start
    assert result.code == 1
    assert "alias/anchor bomb" in result.stderr
    assert elapsed < 30  # refused, not expanded (expanding takes minutes); generous under load


def test_recursive_alias_is_refused(repo: Path) -> None:
    (repo / "sops" / "sop-t-001.yaml").write_text("a: &a [*a]\n")
    result = validate(repo)
    assert result.code == 1
    assert "sops/sop-t-001.yaml:1:1: error:" in result.stderr


def test_huge_file_is_refused_unread(repo: Path) -> None:
    path = repo / "sops" / "sop-t-001.yaml"
    with path.open("w") as handle:
        handle.write(sop_text())
        handle.write("# " + "x" * (2 * 1024 * 1024) + "\n")
    result = validate(repo)
    assert result.code == 1
    assert "sopgen refuses files over 1,048,576 bytes" in result.stderr


def test_unreadable_entry_in_sops_folder(repo: Path) -> None:
    (repo / "sops" / "folder.yaml").mkdir()
    result = validate(repo)
    assert result.code == 1
    assert (
        "sops/folder.yaml:1:1: error: sops/folder.yaml was skipped: it is a directory, "
        "not a regular file" in result.stderr
    )


def validate_in_a_process(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real command with a time limit: a read that blocks fails the test, not the run."""
    return subprocess.run(
        [sys.executable, "-m", "sopgen", "--root", str(repo), "validate", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_link_to_an_sop_outside_the_repository_is_skipped_and_named(
    repo: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    outside = tmp_path_factory.mktemp("outside")
    (outside / "secret.yaml").write_text("db_password_of_payroll: hunter2\nsalary_table: x\n")
    (outside / "sop-x.yaml").write_text(OTHER.replace("SOP-T-002", "SOP-X-009"))
    (repo / "sops" / "leak.yaml").symlink_to(outside / "secret.yaml")
    (repo / "sops" / "sop-x.yaml").symlink_to(outside / "sop-x.yaml")
    result = validate(repo)
    assert result.code == 1
    for name, target in (("leak.yaml", "secret.yaml"), ("sop-x.yaml", "sop-x.yaml")):
        assert (
            f"sops/{name}:1:1: error: sops/{name} was skipped: it is a symbolic link to "
            f"{(outside / target).resolve()}, outside the repository" in result.stderr
        )
    assert "db_password_of_payroll" not in result.stderr  # no key name of the outside file
    assert "salary_table" not in result.stderr
    assert "SOP-X-009" not in result.stderr
    assert "2 errors and 3 warnings in 3 files; 2 SOP files checked" in result.stderr
    build = CliRunner().invoke(cli, ["--root", str(repo), "build", "--html"])
    assert build.exit_code == 1
    assert not list((repo / "output").rglob("SOP-X-009*"))  # not published


def test_a_link_inside_the_repository_is_read(repo: Path) -> None:
    (repo / "shared").mkdir()
    (repo / "sops" / "sop-t-002.yaml").rename(repo / "shared" / "sop-t-002.yaml")
    (repo / "sops" / "sop-t-002.yaml").symlink_to(Path("..") / "shared" / "sop-t-002.yaml")
    result = validate(repo)
    assert result.code == 0, result.stderr
    assert "2 SOP files checked" in result.stderr


def test_a_link_loop_and_a_dangling_link_are_skipped_and_named(repo: Path) -> None:
    (repo / "sops" / "a.yaml").symlink_to("b.yaml")
    (repo / "sops" / "b.yaml").symlink_to("a.yaml")
    (repo / "sops" / "gone.yaml").symlink_to("nowhere.yaml")
    result = validate(repo)
    assert result.code == 1
    assert "internal error" not in result.stderr
    assert "sops/a.yaml was skipped: it is a symbolic link that loops (b.yaml)" in result.stderr
    assert "sops/b.yaml was skipped: it is a symbolic link that loops (a.yaml)" in result.stderr
    assert (
        "sops/gone.yaml was skipped: it is a symbolic link to nothing (nowhere.yaml)"
        in result.stderr
    )
    named = validate(repo, str(repo / "sops" / "a.yaml"))
    assert named.code == 1
    assert "cannot read the file (Too many levels of symbolic links)" in named.stderr


def test_a_fifo_and_a_device_in_sops_are_skipped_without_reading_them(repo: Path) -> None:
    os.mkfifo(repo / "sops" / "pipe.yaml")
    (repo / "sops" / "zero.yaml").symlink_to("/dev/zero")
    proc = validate_in_a_process(repo)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    assert (
        "sops/pipe.yaml:1:1: error: sops/pipe.yaml was skipped: it is a FIFO (named pipe), "
        "not a regular file" in proc.stderr
    )
    assert (
        "sops/zero.yaml was skipped: it is a symbolic link to /dev/zero, outside the repository"
        in proc.stderr
    )


def test_a_fifo_or_device_named_on_the_command_line_is_refused_unread(repo: Path) -> None:
    os.mkfifo(repo / "pipe.yaml")
    proc = validate_in_a_process(repo, str(repo / "pipe.yaml"), "/dev/zero")
    assert proc.returncode == 1, proc.stderr
    assert "pipe.yaml: is a FIFO (named pipe), not a regular file" in proc.stderr
    assert "/dev/zero: is a device, not a regular file" in proc.stderr
    assert "MemoryError" not in proc.stderr


# --------------------------------------------------------------------------- dates, schema


def test_impossible_date(repo: Path) -> None:
    edit(repo, "date: 2026-02-10", "date: 2026-13-45")
    result = validate(repo)
    assert result.code == 1
    assert "sops/sop-t-001.yaml:48:28: error: '2026-13-45' is not a real date" in only_error(result)
    assert "YYYY-MM-DD" in result.stderr


def test_an_impossible_effective_date_is_one_problem(repo: Path) -> None:
    path = repo / "sops" / "sop-t-001.yaml"
    text = path.read_text()
    start = text.index("effective: ") + len("effective: ")
    path.write_text(text[:start] + "2026-11-31" + text[start + len("2026-11-30") :])
    result = validate(repo)
    assert result.code == 1
    assert "sops/sop-t-001.yaml:6:12: error: '2026-11-31' is not a real date" in result.stderr
    assert "no 'effective:' date" not in result.stderr, result.stderr


def test_date_in_wrong_form(repo: Path) -> None:
    path = repo / "sops" / "sop-t-001.yaml"
    text = path.read_text().replace("effective: ", "effective: 1.12.", 1)
    path.write_text(text)
    result = validate(repo)
    assert result.code == 1
    assert "sops/sop-t-001.yaml:6:12: error: effective:" in result.stderr
    assert "not in the expected form" in result.stderr


def test_missing_required_field(repo: Path) -> None:
    edit(repo, "purpose: Consistent handling.\n", "")
    result = validate(repo)
    assert result.code == 1
    assert "error: missing required field 'purpose'" in only_error(result)
    assert "hint: add 'purpose:'" in result.stderr


def test_missing_field_in_a_step_points_at_the_step(repo: Path) -> None:
    edit(
        repo,
        "        responsible: cs-rep\n        within: Immediate\n",
        "        within: Immediate\n",
    )
    result = validate(repo)
    line = only_error(result)
    assert line == (  # the checklist's label, not procedure[0].steps[0]
        "sops/sop-t-001.yaml:22:9: error: missing required field 'responsible' in step A1"
    )


def test_a_step_and_a_section_are_named_as_the_checklist_names_them(repo: Path) -> None:
    edit(
        repo,
        "        responsible: relevant-dept\n        within: 2 business",
        "        within: 2 business",
    )
    edit(repo, "  - id: resolution\n    title: Resolution\n", "  - id: resolution\n    title: 7\n")
    result = validate(repo)
    errors = [ln for ln in result.stderr.splitlines() if ": error: " in ln]
    assert "sops/sop-t-001.yaml:38:9: error: missing required field 'responsible' in step B2" in (
        errors
    )
    assert "sops/sop-t-001.yaml:31:12: error: section B's title must be text, not a number" in (
        errors
    )
    assert not any("procedure[" in ln for ln in errors), errors


def test_wrong_type_suggests_quotes(repo: Path) -> None:
    edit(repo, 'version: "1.1"', "version: 1.1")
    result = validate(repo)
    assert result.code == 1
    assert "sops/sop-t-001.yaml:4:10: error: version must be text, not a number" in result.stderr
    assert 'put the value in quotes, e.g. "1.1"' in result.stderr


def test_unknown_field_did_you_mean(repo: Path) -> None:
    edit(
        repo,
        "        responsible: cs-rep\n        within: Within 1 hour",
        ("        responsable: cs-rep\n        within: Within 1 hour"),
    )
    result = validate(repo)
    assert result.code == 1
    assert "sops/sop-t-001.yaml:28:9: error: unknown field 'responsable'" in result.stderr
    assert "did you mean 'responsible'?" in result.stderr


def test_bad_enum_value(repo: Path) -> None:
    edit(repo, "status: effective", "status: efective")
    result = validate(repo)
    assert "sops/sop-t-001.yaml:5:9: error: status: 'efective' is not one of" in only_error(result)
    assert "did you mean 'effective'?" in result.stderr


@pytest.mark.parametrize("word", ["in-force", "in force", "active", "Live"])
def test_a_status_meaning_in_force_suggests_effective(repo: Path, word: str) -> None:
    edit(repo, "status: effective", f"status: {word}")
    result = validate(repo)
    assert f"error: status: '{word}' is not one of" in only_error(result)
    assert "hint: did you mean 'effective'?" in result.stderr  # not 'in-review'


# --------------------------------------------------------------------------- semantic


def test_unknown_role_with_suggestion(repo: Path) -> None:
    edit(
        repo,
        "        responsible: relevant-dept\n        accountable: manager",
        ("        responsible: relevant-dep\n        accountable: manager"),
    )
    result = validate(repo)
    assert "sops/sop-t-001.yaml:35:22: error: unknown role 'relevant-dep'" in only_error(result)
    assert "did you mean 'relevant-dept'?" in result.stderr


def test_unknown_role_in_responsibilities_points_at_key(repo: Path) -> None:
    edit(repo, "  manager: Oversight.", "  managr: Oversight.")
    result = validate(repo)
    assert "sops/sop-t-001.yaml:16:3: error: unknown role 'managr'" in only_error(result)


def test_approval_by_unknown_role(repo: Path) -> None:
    edit(repo, "role: manager,", "role: ceo,")
    result = validate(repo)
    line = only_error(result)
    assert line.startswith("sops/sop-t-001.yaml:10:")
    assert "unknown role 'ceo'" in line


def test_duplicate_sop_ids_across_files(repo: Path) -> None:
    (repo / "sops" / "copy.yaml").write_text(sop_text())
    result = validate(repo)
    assert result.code == 1
    assert "sops/sop-t-001.yaml:2:5: error: SOP id SOP-T-001 is already used by sops/copy.yaml" in (
        result.stderr
    )


def test_duplicate_step_ids(repo: Path) -> None:
    edit(repo, "      - id: plan", "      - id: investigate")
    result = validate(repo)
    assert "sops/sop-t-001.yaml:38:13: error: step id 'investigate' is already used" in (
        result.stderr
    )


@pytest.mark.parametrize(
    ("new_id", "expected"),
    [
        ("sop-t-001", "id: 'sop-t-001' is not in the expected form"),
        ("../etc/passwd", "id: '../etc/passwd' is not in the expected form"),
        ("INDEX", "SOP id INDEX cannot be used as an output file name"),
        ("NUL", "SOP id NUL cannot be used as an output file name"),
    ],
)
def test_unsafe_sop_id(repo: Path, new_id: str, expected: str) -> None:
    edit(repo, "id: SOP-T-001", f'id: "{new_id}"')
    result = validate(repo)
    assert result.code == 1
    assert f"sops/sop-t-001.yaml:2:5: error: {expected}" in result.stderr


def test_reference_to_missing_sop(repo: Path) -> None:
    edit(repo, "  - sop: SOP-T-002", "  - sop: SOP-T-020")
    result = validate(repo)
    assert "sops/sop-t-001.yaml:44:10: error: no SOP with id SOP-T-020" in only_error(result)
    assert "did you mean SOP-T-002?" in result.stderr


def test_anchor_naming_no_step(repo: Path) -> None:
    edit(repo, "after investigate", "after investigation")
    result = validate(repo)
    line = only_error(result)
    assert line.startswith("sops/sop-t-001.yaml:41:17: error:")
    assert "anchored on 'investigation', which is no step of this SOP" in line
    assert "did you mean 'investigate'?" in result.stderr


def test_anchor_cycle(repo: Path) -> None:
    edit(repo, "within: 5 business days", "within: 5 business days after plan")
    result = validate(repo)
    assert result.code == 1
    assert "'after' anchors form a cycle" in result.stderr
    assert "resolution.investigate" in result.stderr
    assert "resolution.plan" in result.stderr


def test_every_anchor_cycle_is_reported(repo: Path) -> None:
    edit(repo, "within: 5 business days", "within: 5 business days after plan")
    edit(repo, "within: Immediate", "within: 1 hour after intake.receive")
    result = validate(repo)
    assert result.code == 1
    cycles = [line for line in result.stderr.splitlines() if "anchors form a cycle" in line]
    assert len(cycles) == 2, result.stderr
    assert cycles[0].startswith("sops/sop-t-001.yaml:25:17: error:")
    assert "intake.receive → intake.receive" in cycles[0]
    assert "resolution.investigate → resolution.plan → resolution.investigate" in cycles[1]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("soon", "'soon' is not a timeframe sopgen understands"),
        ("5 business weeks", "'5 business weeks': only hours and days can be business time"),
        ("0 hours", "'0 hours': a timeframe of zero is not a deadline"),
        ("within a week", "'within a week' is not a timeframe"),
    ],
)
def test_timeframe_outside_grammar(repo: Path, text: str, message: str) -> None:
    edit(repo, "within: Within 1 hour", f"within: {text}")
    result = validate(repo)
    assert f"sops/sop-t-001.yaml:29:17: error: {message}" in result.stderr
    assert "    hint: " in result.stderr


def test_version_not_newest_revision(repo: Path) -> None:
    edit(repo, 'version: "1.1"', 'version: "1.2"')
    result = validate(repo)
    assert 'sops/sop-t-001.yaml:4:10: error: version "1.2" is not the newest revision ("1.1")' in (
        result.stderr
    )


def test_revisions_out_of_date_order(repo: Path) -> None:
    edit(repo, "date: 2026-02-10", "date: 2025-02-10")
    result = validate(repo)
    assert (
        "sops/sop-t-001.yaml:48:28: error: revision 1.1 is dated 2025-02-10, before revision 1.0"
        in (only_error(result))
    )


def test_repeated_revision_version(repo: Path) -> None:
    edit(repo, '{version: "1.1", date: 2026-02-10', '{version: "1.0", date: 2026-02-10')
    edit(repo, 'version: "1.1"', 'version: "1.0"')
    result = validate(repo)
    assert "sops/sop-t-001.yaml:48:15: error: revision 1.0 appears twice" in result.stderr


def test_config_problems(repo: Path) -> None:
    text = CONFIG.replace("Europe/Berlin", "Europe/Berlinn").replace('end: "17:00"', 'end: "08:00"')
    text = text.replace("subdivision: BE", "subdivision: XX")
    (repo / "sopgen.yaml").write_text(text)
    result = validate(repo)
    assert result.code == 1
    assert "sopgen.yaml:2:11: error: unknown time zone 'Europe/Berlinn'" in result.stderr
    assert "sopgen.yaml:3:" in result.stderr and "is not after opening time" in result.stderr
    assert "sopgen.yaml:6:16: error: 'XX' is not a subdivision of DE" in result.stderr


def test_missing_config(repo: Path) -> None:
    (repo / "sopgen.yaml").unlink()
    result = validate(repo)
    assert result.code == 1
    assert "sopgen.yaml:1:1: error: no sopgen.yaml in" in result.stderr
    assert "--root" in result.stderr


# --------------------------------------------------------------------------- warnings


def test_review_overdue_is_a_warning(repo: Path) -> None:
    path = repo / "sops" / "sop-t-001.yaml"
    path.write_text(SOP.format(effective="2024-03-01"))
    result = validate(repo)
    assert result.code == 0
    assert (
        "sops/sop-t-001.yaml:7:15: warning: periodic review was due on 2025-03-01 "
        "(12 months after 2024-03-01)" in result.stderr
    )


def test_placeholders_are_warned(repo: Path) -> None:
    edit(
        repo,
        "introduction: Handles complaints within {company}.",
        ("introduction: Handles complaints within [Your Company Name]."),
    )
    edit(repo, "author: Jane Doe}\n", "author: '[Your Name]'}\n")
    result = validate(repo)
    assert result.code == 0
    assert (
        "sops/sop-t-001.yaml:11:15: warning: leftover template placeholder '[Your Company Name]'"
        in result.stderr
    )
    assert "leftover template placeholder '[Your Name]'" in result.stderr


def test_effective_without_approval_is_a_warning(repo: Path) -> None:
    path = repo / "sops" / "sop-t-001.yaml"
    lines = path.read_text().splitlines(keepends=True)
    del lines[8:10]  # approvals
    path.write_text("".join(lines))
    result = validate(repo)
    assert result.code == 0
    assert (
        "sops/sop-t-001.yaml:5:9: warning: status is 'effective' but the SOP has no approval"
        in (result.stderr)
    )


# --------------------------------------------------------------------------- reporting


def test_all_problems_in_one_run(repo: Path) -> None:
    edit(repo, "status: effective", "status: efective")
    edit(repo, "escalate\n    title", "escalate\n    titel", name="sop-t-002.yaml")
    edit(
        repo,
        "responsible: cs-rep\n        within: Immediate",
        "responsible: rep\n        within: Immediate",
    )
    result = validate(repo)
    assert result.code == 1
    assert result.stderr.count(": error: ") >= 3
    assert "sops/sop-t-002.yaml:" in result.stderr
    assert "2 SOP files checked" in result.stderr


def test_schema_errors_do_not_hide_dates_timeframes_and_roles(repo: Path) -> None:
    edit(repo, "status: effective", "status: efective")  # a schema error …
    edit(repo, "date: 2026-02-10", "date: 2026-02-30")  # … and what the schema cannot see
    edit(repo, "within: Within 1 hour", "within: Within one hour")
    edit(
        repo,
        "responsible: relevant-dept\n        accountable",
        "responsible: dept\n        accountable",
    )
    result = validate(repo, "--format", "json")
    found = {(p["line"], p["code"]) for p in result.problems()}
    assert found == {
        (5, "bad-value"),
        (48, "bad-date"),
        (29, "bad-timeframe"),
        (35, "unknown-role"),
    }


def test_json_format(repo: Path) -> None:
    edit(repo, "status: effective", "status: efective")
    result = validate(repo, "--format", "json")
    assert result.code == 1
    problems = result.problems()
    assert problems == [
        {
            "file": "sops/sop-t-001.yaml",
            "line": 5,
            "column": 9,
            "severity": "error",
            "code": "bad-value",
            "message": "status: 'efective' is not one of draft, in-review, approved, effective, "
            "retired",
            "hint": "did you mean 'effective'?",
        }
    ]


def test_named_files_only(repo: Path) -> None:
    edit(repo, "status: draft", "status: drafty", name="sop-t-002.yaml")
    result = validate(repo, str(repo / "sops" / "sop-t-001.yaml"))
    assert result.code == 0, result.stderr
    result = validate(repo, str(repo / "sops" / "sop-t-002.yaml"))
    assert result.code == 1


def test_usage_error_exits_2(repo: Path) -> None:
    result = validate(repo, "--format", "xml")
    assert result.code == 2


def test_no_traceback_from_the_real_command(repo: Path) -> None:
    (repo / "sops" / "sop-t-001.yaml").write_bytes(b"id: [\xff\n")
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    proc = subprocess.run(
        [sys.executable, "-m", "sopgen", "--root", str(repo), "validate"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert "sops/sop-t-001.yaml:1:6: error: the file is not valid UTF-8 (byte 0xff)" in proc.stderr


@pytest.mark.parametrize("share", ["0%", "150%", "75", "100.5%", "abc"])
def test_due_soon_at_must_be_a_share_from_1_to_100_percent(repo: Path, share: str) -> None:
    (repo / "sopgen.yaml").write_text(CONFIG + f'due_soon_at: "{share}"\n')
    result = validate(repo)
    line = len(CONFIG.splitlines()) + 1
    assert result.code == 1
    assert f"sopgen.yaml:{line}:14: error:" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("share", ["50%", "100%", " 12.5 % "])
def test_due_soon_at_accepts_shares(repo: Path, share: str) -> None:
    (repo / "sopgen.yaml").write_text(CONFIG + f'due_soon_at: "{share}"\n')
    assert validate(repo).code == 0


def line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_within_per_priority_is_checked_with_positions(repo: Path) -> None:
    path = edit(
        repo,
        "        within: 5 business days\n",
        "        within: {critical: 4 business hours, urgent: 1 business day, normal: 5 bizdays}\n",
    )
    line = line_of(path, "urgent")
    result = validate(repo)
    assert result.code == 1
    assert f"sops/sop-t-001.yaml:{line}:46: error: unknown priority 'urgent'" in result.stderr
    assert (
        "hint: sopgen.yaml sets no priorities, so the defaults apply: critical, high, normal, "
        "low; to add one, list every priority under 'priorities:' in sopgen.yaml"
    ) in result.stderr
    assert f"sops/sop-t-001.yaml:{line}:78: error: '5 bizdays' is not a timeframe" in result.stderr


def test_an_unknown_priority_lists_the_ones_sopgen_yaml_sets(repo: Path) -> None:
    config = repo / "sopgen.yaml"
    config.write_text(config.read_text() + "priorities: [urgent, normal]\n")
    edit(
        repo, "        within: 5 business days\n", "        within: {high: 1 day, normal: 5 days}\n"
    )
    result = validate(repo)
    assert "unknown priority 'high'" in result.stderr
    assert "hint: priorities in sopgen.yaml: urgent, normal\n" in result.stderr
    assert "defaults" not in result.stderr


def test_within_per_priority_needs_normal_and_one_anchor(repo: Path) -> None:
    path = edit(
        repo,
        "        within: 2 business days after investigate\n",
        "        within: {critical: 4 business hours, high: 1 business day after investigate}\n",
    )
    line = line_of(path, "critical: 4 business hours")
    result = validate(repo)
    assert result.code == 1
    assert f"sops/sop-t-001.yaml:{line}:9: error: missing required field 'normal'" in result.stderr
    assert "must share one anchor (critical: received, high: investigate)" in result.stderr


def test_within_per_priority_is_valid(repo: Path) -> None:
    edit(
        repo,
        "        within: 5 business days\n",
        "        within: {critical: 4 business hours, normal: 5 business days}\n",
    )
    assert validate(repo).code == 0
