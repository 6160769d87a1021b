"""`sopgen diff`: a redline of SOP-CS-001 between two versions, read back from HTML and PDF."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pypdf
import pytest
from click.testing import CliRunner

from sopgen.cli import cli

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")

REPO = Path(__file__).resolve().parent.parent

ACKNOWLEDGE = """\
      - id: acknowledge
        do: Confirm to the customer that the complaint has been received.
        responsible: cs-rep
        accountable: complaint-clerk
        within: Within 24 hours
        notes: Follow the Communication Protocol (SOP-CS-002) for channel, tone and language.
"""


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout


def commit(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=QA", "-c", "user.email=qa@example.org", "commit", "-qm", message)


def release_1_3(path: Path) -> None:
    """Version 1.3 of SOP-CS-001: reworded, acknowledgement moved first and re-timed."""
    text = path.read_text()
    assert ACKNOWLEDGE in text and "      - id: record\n" in text
    text = text.replace(ACKNOWLEDGE, "", 1)
    moved = ACKNOWLEDGE.replace("Within 24 hours", "Within 1 business day")
    text = text.replace("      - id: record\n", moved + "      - id: record\n", 1)
    text = text.replace(
        "do: Enter the details of the complaint in the CRM system.",
        "do: Enter every detail of the complaint in the CRM system.",
    )
    text = text.replace('version: "1.2"\n', 'version: "1.3"\n', 1)
    text = text.replace("status: effective\n", "status: in-review\n", 1)
    text += (
        '  - version: "1.3"\n    date: 2026-11-25\n'
        "    description: Acknowledge before recording.\n    author: Miriam Hoffmann\n"
    )
    path.write_text(text)


@pytest.fixture(scope="module")
def redline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("diff")
    shutil.copy(REPO / "sopgen.yaml", root / "sopgen.yaml")
    shutil.copytree(REPO / "sops", root / "sops")
    git(root, "init", "-q")
    commit(root, "version 1.2")
    release_1_3(root / "sops" / "sop-cs-001.yaml")
    commit(root, "version 1.3")
    (root / "sops" / "sop-cs-002.yaml").write_text(
        (root / "sops" / "sop-cs-002.yaml").read_text() + "\n# a comment only\n"
    )
    result = CliRunner().invoke(cli, ["--root", str(root), "diff"])
    assert result.exit_code == 0, result.output
    assert "SOP-CS-001: version 1.2 → 1.3" in result.stderr
    assert "1 redline written" in result.stderr
    return root


def pdf_words(path: Path) -> str:
    reader = pypdf.PdfReader(path)
    return re.sub(r"\s+", " ", " ".join(p.extract_text() for p in reader.pages))


def test_only_changed_sops_get_a_redline(redline: Path) -> None:
    assert sorted(p.name for p in (redline / "output" / "diff").iterdir()) == [
        "SOP-CS-001.html",
        "SOP-CS-001.pdf",
    ]


def test_words_inserted_and_deleted(redline: Path) -> None:
    page = (redline / "output" / "diff" / "SOP-CS-001.html").read_text()
    assert "Enter <del>the details</del> <ins>every detail</ins> of the complaint" in page
    text = pdf_words(redline / "output" / "diff" / "SOP-CS-001.pdf")
    assert "Enter the details every detail of the complaint" in text


def test_moved_step_and_changed_timeframe(redline: Path) -> None:
    text = pdf_words(redline / "output" / "diff" / "SOP-CS-001.pdf")
    row = re.search(r"A2 MOVED FROM A3 Confirm to the customer.*?business day", text)
    assert row, text[:3000]
    assert "Within 24 hours Within 1 business day" in row.group(0)
    assert "1 step moved; 1 timeframe changed; 1 step reworded" in text
    page = (redline / "output" / "diff" / "SOP-CS-001.html").read_text()
    assert "<del>Within 24 hours</del> <ins>Within 1 business day</ins>" in page


def test_metadata_changes_listed_on_top(redline: Path) -> None:
    text = pdf_words(redline / "output" / "diff" / "SOP-CS-001.pdf")
    summary = text[: text.index("I. Introduction")]
    assert "Version 1.2 1.3" in summary
    assert "Status Effective In review" in summary
    assert "Version 1.2 (2026-10-19) → 1.3 (2026-11-25)" in summary


def test_explicit_rev_and_unchanged_sop(redline: Path) -> None:
    result = CliRunner().invoke(cli, ["--root", str(redline), "diff", "HEAD", "SOP-CS-002"])
    assert result.exit_code == 0, result.output
    assert "SOP-CS-002: unchanged since HEAD" in result.stderr  # a comment is no change


def test_unknown_rev_is_a_clear_error(redline: Path) -> None:
    result = CliRunner().invoke(cli, ["--root", str(redline), "diff", "v9.9", "SOP-CS-001"])
    assert result.exit_code == 2
    assert "revision 'v9.9' is not in this clone" in result.stderr


@pytest.mark.parametrize("args", [["SOP-CS-001"], ["HEAD", "SOP-CS-001"], []])
def test_an_sop_with_a_yaml_error_is_named_with_its_file_and_first_error(
    tmp_path: Path, args: list[str]
) -> None:
    shutil.copy(REPO / "sopgen.yaml", tmp_path / "sopgen.yaml")
    shutil.copytree(REPO / "sops", tmp_path / "sops")
    git(tmp_path, "init", "-q")
    commit(tmp_path, "library")
    path = tmp_path / "sops" / "sop-cs-001.yaml"
    path.write_text(path.read_text().replace("title: ", 'title: "', 1))  # an unclosed quote
    checked = CliRunner().invoke(cli, ["--root", str(tmp_path), "validate", str(path)])
    first_error = next(line for line in checked.stderr.splitlines() if ": error: " in line)
    assert first_error.startswith("sops/sop-cs-001.yaml:") and "YAML syntax error" in first_error
    result = CliRunner().invoke(cli, ["--root", str(tmp_path), "diff", *args])
    assert result.exit_code == 1, result.output
    assert "unknown SOP id" not in result.stderr
    assert first_error in result.stderr.splitlines()
    assert "SOP-CS-001: skipped, sops/sop-cs-001.yaml cannot be read (the error above)" in (
        result.stderr
    )
