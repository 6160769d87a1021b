"""A full disk: every writer says "the disk is full" and where, exit 1, nothing half-written.

The real command runs in a child whose `os.fsync` reports ENOSPC, as a full disk does
when a file's data reaches it (every file sopgen writes is written through a temporary
file, fsync and rename); the case store's disk filling up is SQLite's own SQLITE_FULL,
made real with `PRAGMA max_page_count`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from casekit import NOW, SOP, make_project

FULL_DISK = """
import errno, os, sys
def fsync(fd):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
os.fsync = fsync
from sopgen.cli import main
sys.argv[0] = "sopgen"
main()
"""

FULL_STORE = """
import sys
from sqlalchemy import event
from sqlalchemy.engine import Engine
@event.listens_for(Engine, "connect")
def no_more_pages(dbapi_connection, _record):
    dbapi_connection.execute("PRAGMA max_page_count = 1")  # clamped to the pages it has
from sopgen.cli import main
sys.argv[0] = "sopgen"
main()
"""


def sopgen(probe: str, root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SOPGEN_NOW": NOW}
    env.pop("SOPGEN_DATABASE_URL", None)
    env.pop("SOPGEN_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-c", probe, "--root", str(root), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


def said_disk_full(proc: subprocess.CompletedProcess[str], where: str) -> None:
    assert proc.returncode == 1, proc.stderr
    assert "internal error" not in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert f"the disk is full: could not write {where}" in proc.stderr, proc.stderr


@pytest.fixture(name="root")
def root_fixture(tmp_path: Path) -> Path:
    return make_project(tmp_path / "repo").root


def test_case_open_on_a_full_disk_changes_nothing(root: Path) -> None:
    proc = sopgen(FULL_DISK, root, "case", "open", "C-1", "--sop", SOP)
    said_disk_full(proc, str(root / "output" / "cases"))  # its staging folder, on that disk
    assert "/C-1/checklist.html" in proc.stderr
    assert "free some space on the disk" in proc.stderr
    listed = sopgen(FULL_DISK, root, "case", "list", "--status", "all", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.strip() == "[]"  # the case's transaction was rolled back
    assert not list((root / "output" / "cases").rglob("*.tmp"))


def test_build_report_and_export_on_a_full_disk(root: Path) -> None:
    build = sopgen(FULL_DISK, root, "build", "--html", "SOP-CS-001")
    assert build.returncode == 1, build.stderr
    assert "internal error" not in build.stderr
    assert "the disk is full: could not write output/html/SOP-CS-001.html" in build.stderr
    assert not (root / "output" / "html" / "SOP-CS-001.html").exists()
    report = sopgen(FULL_DISK, root, "report", "--output", str(root / "out" / "report.html"))
    said_disk_full(report, str(root / "out" / "report.html"))
    export = sopgen(FULL_DISK, root, "db", "export", str(root / "cases.jsonl"))
    assert export.returncode == 1, export.stderr
    assert "internal error" not in export.stderr
    assert f"the disk is full: could not write {root / 'cases.jsonl'}" in export.stderr
    assert not (root / "cases.jsonl").exists()


def test_a_full_case_store_is_named_and_changes_nothing(root: Path) -> None:
    first = sopgen("from sopgen.cli import main; main()", root, "case", "open", "C-1", "--sop", SOP)
    assert first.returncode == 0, first.stderr
    rows = ["case id,received"] + [f"I-{i:04d},2026-11-20T10:00" for i in range(400)]
    (root / "cases.csv").write_text("\n".join(rows) + "\n")
    proc = sopgen(FULL_STORE, root, "case", "import", str(root / "cases.csv"), "--sop", SOP)
    assert proc.returncode == 1, proc.stderr
    assert "internal error" not in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert "the disk is full: could not write the case store sqlite:///" in proc.stderr
    assert "nothing was changed" in proc.stderr
    cases = {p.name for p in (root / "output" / "cases").iterdir()}
    assert cases == {"C-1"}
