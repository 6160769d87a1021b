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


def build(
    root: Path, *args: str, now: str = "2026-11-24T12:00"
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SOPGEN_NOW": now}
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
    assert "9 files written" in first.stderr
    before = mtimes(repo)
    again = build(repo)
    assert again.returncode == 0
    assert "0 files written, 9 up to date" in again.stderr
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
    first = build(repo, "SOP-CS-003")  # builds: SOP-CS-003 does not need SOP-CS-004
    assert first.returncode == 1
    problem = "sops/sop-cs-004.yaml:5:9: error: status: 'efective' is not one of"
    assert problem in first.stderr
    assert "index.html was left as it was" in first.stderr
    again = build(repo, "SOP-CS-003")
    assert again.returncode == 1
    assert problem in again.stderr
    assert "index.html was left as it was" in again.stderr
    assert "not parsed" in again.stderr


def test_a_refused_build_leaves_no_stamp(repo: Path) -> None:
    build(repo)
    stamp = (repo / "output" / ".build-stamp.json").read_bytes()
    path = repo / "sops" / "sop-cs-004.yaml"
    path.write_text(path.read_text().replace("status: effective", "status: efective", 1))
    for _ in range(2):
        refused = build(repo)
        assert refused.returncode == 1
        assert "nothing built" in refused.stderr
        assert refused.stderr.splitlines()[-1] == "parsed"
    assert (repo / "output" / ".build-stamp.json").read_bytes() == stamp


def test_another_day_or_force_takes_the_full_path(repo: Path) -> None:
    build(repo)
    assert build(repo).stderr.splitlines()[-1] == "not parsed"
    next_day = build(repo, now="2026-11-25T12:00")  # 2026-11-25: review dates are judged anew
    assert next_day.stderr.splitlines()[-1] == "parsed"
    assert build(repo, now="2026-11-25T12:00").stderr.splitlines()[-1] == "not parsed"
    forced = build(repo, "--force", now="2026-11-25T12:00")
    assert forced.stderr.splitlines()[-1] == "parsed"


def test_an_input_edited_during_the_build_leaves_no_stamp(repo: Path) -> None:
    from sopgen import clock
    from sopgen.build import stamp

    key = {"html": True}
    today = clock.today()
    before = stamp.fingerprint(repo, key)
    stamp.write(repo, key, today, None, before, [], [], [], 0, False)
    assert stamp.unchanged(repo, key) is not None
    path = repo / "sops" / "sop-cs-001.yaml"
    path.write_text(path.read_text() + "\n")  # edited while the build was running
    stamp.write(repo, key, today, None, before, [], [], [], 0, False)
    assert stamp.read(repo) is None


# Runs sopgen from a copy of its own source tree, so a test can edit a module.
def build_with_copy(src: Path, root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(src), "SOPGEN_NOW": "2026-11-24T12:00"}
    return subprocess.run(
        [sys.executable, "-m", "sopgen", "--root", str(root), "build", "--html", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def test_a_changed_sopgen_module_rebuilds_every_document(repo: Path, tmp_path: Path) -> None:
    checkout = tmp_path / "checkout"  # src/sopgen, templates/, schema/ as in a clone
    shutil.copytree(REPO / "src" / "sopgen", checkout / "src" / "sopgen")
    shutil.copytree(REPO / "templates", checkout / "templates")
    shutil.copytree(REPO / "schema", checkout / "schema")
    src = checkout / "src"
    pages = len(list((repo / "sops").glob("*.yaml")))
    first = build_with_copy(src, repo)
    assert first.returncode == 0, first.stderr
    assert f"{pages + 1} files written" in first.stderr

    # nothing that shapes the output changes: a module touched, a file outside the package
    module = src / "sopgen" / "model.py"
    os.utime(module)
    (checkout / "NOTES.txt").write_text("not part of sopgen\n")
    assert "0 files written" in build_with_copy(src, repo).stderr

    # a comment in any module: every document is rendered again, without --force
    module.write_text(module.read_text() + "\n# a comment\n")
    again = build_with_copy(src, repo)
    assert again.returncode == 0, again.stderr
    assert f"{pages} files written, 1 up to date" in again.stderr  # the index is unchanged
