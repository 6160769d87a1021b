"""What a new QA author hit (issue 8, points 11–13): the config file named on the command
line, running from inside sops/, messages that point at the real mistake, and mistakes
that used to be accepted."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from test_validate import CONFIG, OTHER, edit, only_error, sop_text, validate

CONFIG_LINE = 'business_hours: {days: [mon, tue, wed, thu, fri], start: "09:00", end: "17:00"}'


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """test_validate's small valid repository: a config and two SOPs."""
    (tmp_path / "sopgen.yaml").write_text(CONFIG)
    (tmp_path / "sops").mkdir()
    (tmp_path / "sops" / "sop-t-001.yaml").write_text(sop_text())
    (tmp_path / "sops" / "sop-t-002.yaml").write_text(OTHER)
    return tmp_path


def run_in(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`sopgen` run from `folder`, without --root (as a user would)."""
    return subprocess.run(
        [sys.executable, "-m", "sopgen", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        check=False,
    )


# --------------------------------------------------------------------------- 8.11


def test_the_config_file_named_on_the_command_line_is_checked_as_config(repo: Path) -> None:
    result = run_in(repo, "validate", "sopgen.yaml")
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "ok: sopgen.yaml is valid"
    config = repo / "sopgen.yaml"
    config.write_text(config.read_text().replace("timezone: Europe/Berlin", "timezone: Mars"))
    result = run_in(repo, "validate", "sopgen.yaml")
    assert result.returncode == 1
    assert "sopgen.yaml:2:11: error: unknown time zone 'Mars'" in result.stderr
    assert result.stderr.count(": error: ") == 1  # not SOP errors about the config


def test_running_from_inside_sops_finds_the_root(repo: Path) -> None:
    sops = repo / "sops"
    everything = run_in(sops, "validate")
    assert everything.returncode == 0, everything.stderr
    assert "2 SOP files checked" in everything.stderr  # warnings only
    one = run_in(sops, "validate", "sop-t-001.yaml")  # its reference to SOP-T-002 resolves
    assert one.returncode == 0, one.stderr
    config = run_in(sops, "validate", "../sopgen.yaml")
    assert config.returncode == 0 and "ok: sopgen.yaml is valid" in config.stderr


def test_one_valid_sop_file_and_the_config_are_valid(repo: Path) -> None:
    result = run_in(repo, "validate", "sops/sop-t-002.yaml")
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "ok: sopgen.yaml and 1 SOP file are valid"


def test_outside_any_repository_says_so(tmp_path: Path) -> None:
    result = run_in(tmp_path, "validate")
    assert result.returncode == 1
    assert "no sopgen.yaml in" in result.stderr and "or pass --root DIR" in result.stderr


# --------------------------------------------------------------------------- 8.12


def test_a_reference_in_the_wrong_id_form_says_so(repo: Path) -> None:
    edit(repo, "  - sop: SOP-T-002", "  - sop: sop-t-002")
    result = validate(repo)
    assert "references[0].sop: 'sop-t-002' is not an SOP id" in only_error(result)
    assert "write SOP-T-002" in result.stderr
    assert "unknown field" not in result.stderr


def test_an_unquoted_one_digit_time_says_write_it_in_quotes(repo: Path) -> None:
    config = repo / "sopgen.yaml"
    config.write_text(
        config.read_text().replace(CONFIG_LINE, CONFIG_LINE.replace('"09:00"', "9:00"))
    )
    result = validate(repo)
    assert result.code == 1
    assert "'9:00' is not a time of day in the form HH:MM" in only_error(result)
    assert 'write "09:00"' in result.stderr
    assert "540" not in result.stderr


def test_an_unquoted_two_digit_time_is_simply_a_time(repo: Path) -> None:
    config = repo / "sopgen.yaml"
    config.write_text(config.read_text().replace('"17:00"', "17:00"))  # YAML 1.1: 1020
    assert validate(repo).code == 0


def test_a_missing_id_is_not_answered_with_the_files_own_id(repo: Path) -> None:
    edit(repo, "id: SOP-T-002\n", "", name="sop-t-002.yaml")
    edit(repo, "title: Escalation", "title: Escalation", name="sop-t-002.yaml")
    result = validate(repo)
    lines = [ln for ln in result.stderr.splitlines() if "SOP-T-001" in ln]
    assert not any("did you mean SOP-T-001" in ln for ln in lines), result.stderr
    assert "sops/sop-t-002.yaml has no 'id:'" in result.stderr


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        ("5 bussiness days", "5 business days"),
        ("2 hrs", "2 hours"),
        ("30 min", "30 minutes"),
        ("1 hr", "1 hour"),
        ("2 bussiness days after investigate", "2 business days after investigate"),
    ],
)
def test_timeframe_words_get_a_did_you_mean(repo: Path, written: str, meant: str) -> None:
    edit(repo, "within: 5 business days", f"within: {written}")
    result = validate(repo)
    assert f"'{written}' is not a timeframe sopgen understands" in only_error(result)
    assert f"hint: did you mean '{meant}'?" in result.stderr


# --------------------------------------------------------------------------- 8.13


def test_an_unknown_placeholder_is_an_error(repo: Path) -> None:
    edit(repo, "within {company}.", "within {compnay}.")
    result = validate(repo)
    assert "sops/sop-t-001.yaml:11:15: error: unknown placeholder '{compnay}'" in (
        only_error(result)
    )
    assert "did you mean '{company}'?" in result.stderr


def test_an_approval_in_the_future_is_an_error(repo: Path) -> None:
    text = (repo / "sops" / "sop-t-001.yaml").read_text()
    approval = next(ln for ln in text.splitlines() if "name: Dana Reyes" in ln)
    edit(repo, approval, approval.split("date:")[0] + "date: 2099-01-01}")
    result = validate(repo)
    assert "approval by Dana Reyes is dated 2099-01-01, in the future" in only_error(result)


def test_an_approval_after_the_effective_date_is_an_error(repo: Path) -> None:
    edit(repo, "effective: ", "effective: 2026-01-01\nx-old-effective: ")
    text = (repo / "sops" / "sop-t-001.yaml").read_text()
    text = "\n".join(ln for ln in text.splitlines() if not ln.startswith("x-old-effective"))
    (repo / "sops" / "sop-t-001.yaml").write_text(text + "\n")
    result = validate(repo, "--format", "json")
    codes = {p["code"] for p in result.problems()}
    assert "approval-after-effective" in codes
    assert result.code == 1


def test_a_review_signature_after_the_effective_date_is_fine(repo: Path) -> None:
    text = (repo / "sops" / "sop-t-001.yaml").read_text()
    approval = next(ln for ln in text.splitlines() if "name: Dana Reyes" in ln)
    review = approval.replace("Dana Reyes", "Kim Park").replace("}", ", meaning: review}")
    edit(repo, approval, approval + "\n" + review)
    assert validate(repo).code == 0


def test_effective_status_before_the_effective_date_is_an_error(repo: Path) -> None:
    env_now = "2026-01-01"
    text = (repo / "sops" / "sop-t-001.yaml").read_text()
    effective = next(ln for ln in text.splitlines() if ln.startswith("effective: "))
    edit(repo, effective, "effective: 2026-03-01")
    text = (repo / "sops" / "sop-t-001.yaml").read_text()
    approval = next(ln for ln in text.splitlines() if "name: Dana Reyes" in ln)
    edit(repo, approval, approval.split("date:")[0] + "date: 2025-12-20}")
    result = subprocess.run(
        [sys.executable, "-m", "sopgen", "--root", str(repo), "validate"],
        capture_output=True,
        text=True,
        env={**os.environ, "SOPGEN_NOW": env_now},
        check=False,
    )
    assert result.returncode == 1
    error = only_error_text(result.stderr)
    assert "status is 'effective' but the SOP takes effect on 2026-03-01" in error
    assert "set status: approved; it reads 'approved, effective from 2026-03-01'" in (result.stderr)


def only_error_text(stderr: str) -> str:
    errors = [ln for ln in stderr.splitlines() if ": error: " in ln]
    assert len(errors) == 1, stderr
    return errors[0]


def test_a_responsible_role_without_responsibilities_is_a_warning(repo: Path) -> None:
    edit(repo, "  relevant-dept: Investigation and plan.\n", "")
    result = validate(repo)
    assert result.code == 0
    assert (
        "warning: 'relevant-dept' is responsible for step resolution.investigate but has no "
        "entry under 'responsibilities'"
    ) in result.stderr


# --------------------------------------------------------------------------- periods


def test_a_retention_without_a_unit_suggests_one(repo: Path) -> None:
    edit(repo, "documentation: ", "retention: 5\ndocumentation: ")
    result = validate(repo)
    assert "retention must be text, not a number" in only_error(result)
    assert "hint: add the unit (days, weeks, months or years), e.g. '5 years'" in result.stderr
    assert "put the value in quotes" not in result.stderr  # "5" is not a period either


@pytest.mark.parametrize(
    ("field", "written", "hint"),
    [
        ("retention", "5 yaers", "did you mean '5 years'?"),
        ("retention", "1 yr", "did you mean '1 year'?"),
        ("retention", '"5"', "add the unit (days, weeks, months or years), e.g. '5 years'"),
        ("review_every", "12 mnths", "did you mean '12 months'?"),
        ("review_every", "12", "add the unit (days, weeks, months or years), e.g. '12 months'"),
    ],
)
def test_a_misspelt_period_gets_a_did_you_mean(
    repo: Path, field: str, written: str, hint: str
) -> None:
    edit(repo, "review_every: 12 months\n", "")
    edit(repo, "documentation: ", f"{field}: {written}\ndocumentation: ")
    result = validate(repo)
    assert field in only_error(result)
    assert f"hint: {hint}" in result.stderr


def test_a_duration_in_the_config_without_a_unit_suggests_one(repo: Path) -> None:
    config = repo / "sopgen.yaml"
    config.write_text(config.read_text() + "calendar:\n  lead: 30\n")
    result = validate(repo)
    assert "calendar.lead must be text, not a number" in only_error(result)
    assert "hint: add the unit (minutes, hours or days), e.g. '30 minutes'" in result.stderr


def test_an_unknown_responsible_role_is_one_error_without_a_follow_on_warning(
    repo: Path,
) -> None:
    edit(
        repo,
        "        responsible: relevant-dept\n        accountable",
        "        responsible: qa-manager\n        accountable",
    )
    result = validate(repo)
    assert "error: unknown role 'qa-manager'" in only_error(result)
    assert result.stderr.count("'qa-manager'") == 1, result.stderr
    assert "warning: 'qa-manager'" not in result.stderr


@pytest.mark.parametrize(
    ("written", "hint"),
    [
        ("2026-02-30", "Feb 2026 has 28 days; write YYYY-MM-DD"),
        ("2028-02-30", "Feb 2028 has 29 days; write YYYY-MM-DD"),
        ("2026-13-01", "months run from 01 to 12; write YYYY-MM-DD"),
    ],
)
def test_an_impossible_date_says_why_as_the_case_commands_do(
    repo: Path, written: str, hint: str
) -> None:
    text = (repo / "sops" / "sop-t-001.yaml").read_text()
    effective = next(ln for ln in text.splitlines() if ln.startswith("effective: "))
    edit(repo, effective, f"effective: {written}")
    result = validate(repo)
    assert f"'{written}' is not a real date" in only_error(result)
    assert f"hint: {hint}\n" in result.stderr


# --------------------------------------------------------------------------- YAML syntax


@pytest.mark.parametrize(
    ("old", "new", "where", "message", "hint"),
    [
        (  # a key indented less than its siblings in a step
            "        responsible: cs-rep\n        within: Immediate",
            "       responsible: cs-rep\n        within: Immediate",
            "24:8",
            "'responsible' is indented 7 spaces, 1 less than 'do' on line 23",
            "keys of one mapping line up: indent 'responsible' 8 spaces, as 'do' "
            "(or indent it 4 spaces, as 'steps' on line 21)",
        ),
        (  # a key indented deeper than the one before, which has its value
            "version: ",
            "  version: ",
            "4:3",
            "'version' is indented 2 spaces, 2 more than 'title' on line 3, whose value is "
            "already given",
            "keys of one mapping line up: start 'version' at the left margin, as 'title'; "
            "if the line continues the text of 'title', put that text in quotes",
        ),
        (  # a list item that lines up with no list
            "      - id: record",
            "    - id: record",
            "26:5",
            "the list item '- id: record' is indented 4 spaces, but the items of 'steps' "
            "(line 21) start at 6 spaces",
            "line its '-' up with the '-' on line 22: indent it 6 spaces",
        ),
        (  # no space after the colon
            "owner: qa-team",
            "owner:qa-team",
            "8:1",
            "no space after ':' in 'owner:qa-team'",
            "YAML needs a space after the colon: write 'owner: qa-team'",
        ),
        (  # ': ' inside an unquoted value
            "do: Record the complaint.",
            "do: Note: record the complaint.",
            "27:17",
            "the value of 'do' contains ': ', which YAML reads as a new key",
            'put the value in quotes: do: "Note: record the complaint."',
        ),
        (  # Markdown emphasis at the start of a value
            "do: Investigate.",
            "do: *Always* investigate.",
            "34:13",
            "the value of 'do' starts with '*', which YAML reads as an alias (*name)",
            'put the value in quotes: do: "*Always* investigate."',
        ),
    ],
)
def test_a_yaml_syntax_error_names_the_key_and_the_likely_cause(
    repo: Path, old: str, new: str, where: str, message: str, hint: str
) -> None:
    edit(repo, old, new)
    result = validate(repo)
    assert f"sops/sop-t-001.yaml:{where}: error: YAML syntax error: {message}" in (
        only_error(result)
    )
    assert f"hint: {hint}\n" in result.stderr
    assert "check indentation, colons and quotes" not in result.stderr
