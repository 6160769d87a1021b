"""A build with nothing changed is recognised without parsing, and says what the last one said."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

# Runs `sopgen build`, then reports whether the SOP library code was imported at all.
PROBE = """
import sys
from sopgen.cli import main
try:
    main()
finally:
    print("parsed" if "sopgen.library" in sys.modules else "not parsed", file=sys.stderr)
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    shutil.copy(REPO / "sopgen.yaml", tmp_path)
    shutil.copytree(REPO / "sops", tmp_path / "sops")
    return tmp_path


def build(root: Path, *args: str, epoch: str = "1795478400") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SOURCE_DATE_EPOCH": epoch}  # default: 2026-11-24
    return subprocess.run(
        [sys.executable, "-c", PROBE, "--root", str(root), "build", "--html", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def mtimes(root: Path) -> dict[str, int]:
    out = root / "output"
    return {str(p.relative_to(out)): p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}


def test_unchanged_build_parses_nothing_and_writes_nothing(repo: Path) -> None:
    first = build(repo)
    assert first.returncode == 0, first.stderr
    assert "9 file(s) written" in first.stderr
    before = mtimes(repo)
    again = build(repo)
    assert again.returncode == 0
    assert "0 file(s) written, 9 up to date" in again.stderr
    assert "not parsed" in again.stderr
    assert mtimes(repo) == before


def test_a_changed_sop_takes_the_full_path(repo: Path) -> None:
    build(repo)
    path = repo / "sops" / "sop-cs-003.yaml"
    path.write_text(path.read_text().replace("title: ", "title: Revised ", 1))
    again = build(repo)
    assert again.returncode == 0
    assert again.stderr.splitlines()[-1] == "parsed"
    assert "Revised" in (repo / "output" / "html" / "SOP-CS-003.html").read_text()


def test_a_deleted_output_is_built_again(repo: Path) -> None:
    build(repo)
    (repo / "output" / "html" / "SOP-CS-002.html").unlink()
    again = build(repo)
    assert again.returncode == 0
    assert (repo / "output" / "html" / "SOP-CS-002.html").is_file()


def test_problems_and_exit_code_are_replayed(repo: Path) -> None:
    path = repo / "sops" / "sop-cs-004.yaml"
    path.write_text(path.read_text().replace("status: effective", "status: efective", 1))
    first = build(repo)
    assert first.returncode == 1
    problem = "sops/sop-cs-004.yaml:5:9: error: status: 'efective' is not one of"
    assert problem in first.stderr
    again = build(repo)
    assert again.returncode == 1
    assert problem in again.stderr
    assert "skipped 1 invalid SOP file(s): sops/sop-cs-004.yaml" in again.stderr
    assert "not parsed" in again.stderr


def test_another_day_or_force_takes_the_full_path(repo: Path) -> None:
    build(repo)
    assert build(repo).stderr.splitlines()[-1] == "not parsed"
    next_day = build(repo, epoch="1795564800")  # 2026-11-25: review dates are judged anew
    assert next_day.stderr.splitlines()[-1] == "parsed"
    assert build(repo, epoch="1795564800").stderr.splitlines()[-1] == "not parsed"
    forced = build(repo, "--force", epoch="1795564800")
    assert forced.stderr.splitlines()[-1] == "parsed"


def test_an_input_edited_during_the_build_leaves_no_stamp(repo: Path) -> None:
    from sopgen import buildstamp

    key = {"html": True}
    before = buildstamp.fingerprint(repo, key)
    buildstamp.write(repo, key, before, [], [], [], [], 0)
    assert buildstamp.unchanged(repo, key) is not None
    path = repo / "sops" / "sop-cs-001.yaml"
    path.write_text(path.read_text() + "\n")  # edited while the build was running
    buildstamp.write(repo, key, before, [], [], [], [], 0)
    assert buildstamp.read(repo) is None
