"""`sopgen check --since REV`: the release gate, in a temporary git repository.

Each test commits a small valid library, changes one SOP as an author would
(with or without a release), and checks what the gate says and where.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from sopgen.cli import cli

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")

CONFIG = """\
company: Testfirma GmbH
timezone: Europe/Berlin
business_hours: {days: [mon, tue, wed, thu, fri], start: "09:00", end: "17:00"}
holidays: {country: DE, subdivision: BE}
roles:
  cs-rep: Customer Service Representative
  manager: Manager
  qa-team: Quality Assurance Team
"""

# Line numbers in the comments are what the tests assert.
SOP = """\
# yaml-language-server: $schema=../schema/sop.schema.json
id: SOP-T-001
title: Test Procedure
version: "1.1"
status: effective
effective: 2026-02-15
owner: qa-team
approvals:
  - {name: Dana Reyes, role: manager, date: 2026-02-12, meaning: approval}
introduction: Handles complaints within {company}.
purpose: Consistent handling.
scope: All complaints.
responsibilities:
  cs-rep: Intake.
procedure:
  - id: intake
    title: Complaint Intake
    steps:
      - id: receive
        do: Receive the complaint.
        responsible: cs-rep
        within: Immediate
      - id: record
        do: Record the complaint.     # line 24
        responsible: cs-rep
        within: Within 1 hour
documentation: Everything goes in the CRM.
revisions:
  - version: "1.0"                    # line 29
    date: 2026-01-05
    description: Initial
    author: Jane Doe
  - version: "1.1"                    # line 33
    date: 2026-02-10
    description: Record step
    author: Jane Doe
"""

RELEASE_1_2 = """\
  - version: "1.2"
    date: 2026-03-01
    description: Record the channel too
    author: Jane Doe
"""


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout


def commit(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=QA", "-c", "user.email=qa@example.org", "commit", "-qm", message)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "sopgen.yaml").write_text(CONFIG)
    (tmp_path / "sops").mkdir()
    (tmp_path / "sops" / "sop-t-001.yaml").write_text(SOP)
    git(tmp_path, "init", "-q")
    commit(tmp_path, "library")
    return tmp_path


def edit(repo: Path, old: str, new: str) -> None:
    path = repo / "sops" / "sop-t-001.yaml"
    text = path.read_text()
    assert old in text, f"fixture does not contain {old!r}"
    path.write_text(text.replace(old, new, 1))


def release(repo: Path, version: str = "1.2") -> None:
    """Release the working tree's change as `version`, approved on the revision's date."""
    edit(repo, 'version: "1.1"\n', f'version: "{version}"\n')
    path = repo / "sops" / "sop-t-001.yaml"
    path.write_text(path.read_text() + RELEASE_1_2.replace("1.2", version))
    edit(repo, "date: 2026-02-12, meaning", "date: 2026-03-02, meaning")
    edit(repo, "effective: 2026-02-15", "effective: 2026-03-02")  # takes effect once approved


def check(repo: Path, since: str = "HEAD") -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--root", str(repo), "check", "--since", since])
    crashed = result.exception is not None and not isinstance(result.exception, SystemExit)
    assert not crashed, f"crashed: {result.exception!r}"
    return result.exit_code, result.stderr


def errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ": error: " in line]


def test_unchanged_library_passes(repo: Path) -> None:
    code, err = check(repo)
    assert code == 0, err
    assert "ok: 1 SOP file checked since HEAD" in err


def test_edited_step_without_version_bump_fails_at_version_line(repo: Path) -> None:
    edit(repo, "Record the complaint.", "Record the complaint and its channel.")
    code, err = check(repo)
    assert code == 1
    [line] = errors(err)
    assert line.startswith("sops/sop-t-001.yaml:4:10: error: content changed since HEAD")
    assert 'version is still "1.1"' in line
    assert "add a revision entry" in err


def test_bump_with_revision_entry_passes(repo: Path) -> None:
    edit(repo, "Record the complaint.", "Record the complaint and its channel.")
    release(repo)
    code, err = check(repo)
    assert code == 0, err
    assert "1 changed, all released" in err


def test_bump_without_revision_entry_fails(repo: Path) -> None:
    edit(repo, "Record the complaint.", "Record the complaint and its channel.")
    edit(repo, 'version: "1.1"\n', 'version: "1.2"\n')
    code, err = check(repo)
    assert code == 1
    [line] = errors(err)  # validate's "not the newest revision" would say less at the same spot
    assert line == (
        "sops/sop-t-001.yaml:4:10: error: content changed since HEAD (procedure) and version "
        'went from "1.1" (at HEAD) to "1.2", but revisions has no new entry for "1.2"'
    )
    assert "still" not in err
    assert """add a revision entry for "1.2" at the end of 'revisions'""" in err


def test_a_version_raised_without_a_revision_entry_fails_even_without_a_change(
    repo: Path,
) -> None:
    edit(repo, 'version: "1.1"\n', 'version: "1.2"\n')
    code, err = check(repo)
    assert code == 1, err
    assert "all released" not in err
    assert errors(err) == [
        'sops/sop-t-001.yaml:4:10: error: version "1.2" is not the newest revision ("1.1")'
    ]


def test_an_sop_that_validate_rejects_fails_the_gate(repo: Path) -> None:
    edit(repo, "Record the complaint.", "Record the complaint and its channel.")
    release(repo)
    edit(repo, "responsible: cs-rep\n        within: Within 1 hour", "responsible: clerk\n"
         "        within: Within 1 hour")  # fmt: skip
    code, err = check(repo)
    assert code == 1, err
    assert "all released" not in err
    [line] = errors(err)
    assert line.startswith("sops/sop-t-001.yaml:25:22: error: ") and "'clerk'" in line


def test_lowering_the_version_fails(repo: Path) -> None:
    release(repo, "2.0")
    commit(repo, "release 2.0")
    text = (repo / "sops" / "sop-t-001.yaml").read_text()
    text = text.replace('version: "2.0"\n', 'version: "1.9"\n')
    (repo / "sops" / "sop-t-001.yaml").write_text(
        text.replace('- version: "2.0"', '- version: "1.9"')
    )
    code, err = check(repo)
    assert code == 1
    down = [line for line in errors(err) if "went down" in line]
    assert down and down[0].startswith("sops/sop-t-001.yaml:4:10:"), err
    assert 'from "2.0" (at HEAD) to "1.9"' in down[0]


def test_lowering_only_the_version_is_one_error(repo: Path) -> None:
    edit(repo, 'version: "1.1"\n', 'version: "1.0"\n')
    code, err = check(repo)
    assert code == 1
    assert len(errors(err)) == 1, err
    assert "went down" in errors(err)[0]


def test_editing_an_old_revision_fails_at_that_revision(repo: Path) -> None:
    edit(repo, "description: Initial", "description: Initial version")
    code, err = check(repo)
    assert code == 1
    [line] = errors(err)
    assert line.startswith("sops/sop-t-001.yaml:31:18: error: revision 1.0 was edited")
    assert "description changed" in line


def test_removing_an_old_revision_fails(repo: Path) -> None:
    edit(
        repo,
        '  - version: "1.0"                    # line 29\n'
        "    date: 2026-01-05\n    description: Initial\n    author: Jane Doe\n",
        "",
    )
    code, err = check(repo)
    assert code == 1
    assert any("revision 1.0 (at HEAD) was removed" in line for line in errors(err)), err


def test_comment_whitespace_and_key_order_are_not_content(repo: Path) -> None:
    edit(repo, "# line 24", "# a comment changed")
    edit(repo, "title: Test Procedure\n", "title:   'Test Procedure'   # quoted now\n\n")
    edit(
        repo,
        "        responsible: cs-rep\n        within: Within 1 hour\n",
        "        within: Within 1 hour\n        responsible: cs-rep\n",
    )
    edit(repo, "purpose: Consistent handling.", "purpose: >\n  Consistent\n  handling.")
    code, err = check(repo)
    assert code == 0, err
    assert "0 changed" in err


def test_effective_needs_an_approval_of_the_newest_revision(repo: Path) -> None:
    edit(repo, "Record the complaint.", "Record the complaint and its channel.")
    release(repo)
    edit(repo, "date: 2026-03-02, meaning", "date: 2026-02-20, meaning")
    code, err = check(repo)
    assert code == 1
    [line] = errors(err)
    assert line.startswith("sops/sop-t-001.yaml:5:9: error: status is 'effective' but")
    assert "(1.2 of 2026-03-01)" in line
    edit(repo, "status: effective", "status: in-review")
    assert check(repo)[0] == 0


def test_missing_revision_is_a_clear_usage_error(repo: Path) -> None:
    code, err = check(repo, "no-such-branch")
    assert code == 2
    assert "revision 'no-such-branch' is not in this clone" in err
    assert "git fetch" in err
    assert "Traceback" not in err


def test_not_a_git_repository(tmp_path: Path) -> None:
    (tmp_path / "sopgen.yaml").write_text(CONFIG)
    code, err = check(tmp_path)
    assert code == 2
    assert "is not in a git repository" in err


def test_shallow_clone_works_when_rev_is_fetched(repo: Path, tmp_path: Path) -> None:
    base = git(repo, "rev-parse", "HEAD").strip()
    edit(repo, "Record the complaint.", "Record the complaint and its channel.")
    commit(repo, "unreleased edit")
    clone = tmp_path / "clone"
    subprocess.run(
        ["git", "clone", "-q", "--depth=1", f"file://{repo}", str(clone)],
        check=True,
        capture_output=True,
    )
    code, err = check(clone, base)
    assert code == 2
    assert "shallow clone" in err
    git(clone, "fetch", "-q", "--depth=1", "origin", base)
    code, err = check(clone, base)
    assert code == 1
    assert errors(err)[0].startswith("sops/sop-t-001.yaml:4:10: error: content changed")


def test_new_sop_needs_no_earlier_version(repo: Path) -> None:
    text = (repo / "sops" / "sop-t-001.yaml").read_text().replace("SOP-T-001", "SOP-T-002")
    (repo / "sops" / "sop-t-002.yaml").write_text(text)
    code, err = check(repo)
    assert code == 0, err
    assert "2 SOP files checked" in err
