"""The version of an SOP in force on a day, read from git history (issue 20, item 3's core)."""

from __future__ import annotations

import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest

from sopgen.gitrev import GitError, Repo
from sopgen.inforce import in_force_on, released_versions, sop_of

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")

REPO = Path(__file__).resolve().parent.parent
FILE = "sops/sop-cs-001.yaml"


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def commit(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=QA", "-c", "user.email=qa@example.org", "commit", "-qm", message)


def version(text: str, number: str, status: str, effective: str, reword: str) -> str:
    text = text.replace('version: "1.2"', f'version: "{number}"', 1)
    text = text.replace("status: effective", f"status: {status}", 1)
    text = text.replace("effective: 2026-11-01", f"effective: {effective}", 1)
    text = text.replace("Enter the details", reword, 1)
    return text + (
        f'  - version: "{number}"\n    date: 2026-11-25\n'
        "    description: Reworded.\n    author: Miriam Hoffmann\n"
    )


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1.2 effective 1 Nov; 1.3 drafted, then approved to take effect 7 Dec; 1.4 a draft."""
    root = tmp_path_factory.mktemp("inforce")
    (root / "sops").mkdir()
    original = (REPO / FILE).read_text()
    path = root / FILE
    git(root, "init", "-q")
    path.write_text(original)
    commit(root, "1.2")
    path.write_text(version(original, "1.3", "draft", "2026-12-07", "Enter every detail"))
    commit(root, "1.3 drafted")
    path.write_text(version(original, "1.3", "approved", "2026-12-07", "Enter every detail"))
    commit(root, "1.3 approved")
    path.write_text(version(original, "1.4", "draft", "2027-01-04", "Enter all details"))
    commit(root, "1.4 drafted")
    return root


def test_each_released_version_once_by_effective_date(history: Path) -> None:
    released = released_versions(Repo(history), FILE)
    assert [(r.version, r.effective) for r in released] == [
        ("1.2", date(2026, 11, 1)),
        ("1.3", date(2026, 12, 7)),
    ]  # 1.4 is a draft: never released


def test_the_version_in_force_on_a_day(history: Path) -> None:
    released = released_versions(Repo(history), FILE)
    friday = in_force_on(released, date(2026, 11, 20))
    assert friday is not None and friday.version == "1.2"
    sop = sop_of(friday, FILE)
    assert sop.version == "1.2" and sop.step("record") is not None
    step = sop.step("record")
    assert step is not None and step.do.startswith("Enter the details")
    later = in_force_on(released, date(2026, 12, 7))
    assert later is not None and sop_of(later, FILE).step("record").do.startswith(  # type: ignore[union-attr]
        "Enter every detail"
    )
    assert in_force_on(released, date(2026, 10, 31)) is None  # before any version


def test_outside_a_repository_is_a_git_error(tmp_path: Path) -> None:
    with pytest.raises(GitError):
        released_versions(Repo(tmp_path), FILE)
