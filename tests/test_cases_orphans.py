"""Files follow the store: an import that fails, is rolled back or is interrupted leaves
no folder of a case the store does not hold, and a leftover folder is replaced."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from casekit import NOW, SOP, Project, project_fixture  # noqa: F401 - the `project` fixture
from dbkit import CaseDb
from sopgen.cases.service import importing as service


def stored_ids(project: Project) -> set[str]:
    if project.kind == "sqlite" and not project.db.exists():
        return set()
    if "cases" not in CaseDb(project.kind, project.url).tables():
        return set()
    return {row[0] for row in project.sql("SELECT id FROM cases")}


def folders(project: Project) -> set[str]:
    cases = project.root / "output" / "cases"
    return {p.name for p in cases.iterdir()} if cases.exists() else set()


def big_csv(project: Project, rows: int, bad_last: bool = False) -> Path:
    lines = ["case id,received,assignee"]
    lines += [
        f"I-{i:05d},2026-11-{2 + i % 19:02d}T{8 + i % 10:02d}:15,rep{i % 7}" for i in range(rows)
    ]
    if bad_last:
        lines.append("I-BAD,not a time,x")
    path = project.root / "big.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_sigint_during_an_import_leaves_no_orphan_folders(project: Project):
    path = big_csv(project, 3000)
    env = {**os.environ, "SOPGEN_NOW": NOW, "PYTHONUNBUFFERED": "1"}
    env.pop("SOPGEN_DATABASE_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "sopgen", "--root", str(project.root), "case", "import",
         str(path), "--sop", SOP],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        # A shell that starts the suite in the background (`nohup ./test.sh &`, cron, some
        # CI runners) hands it SIGINT ignored, and Python keeps an ignored SIGINT ignored:
        # the child gets the default disposition back, as an interactive user's would have.
        preexec_fn=_default_sigint,
    )  # fmt: skip
    cases = project.root / "output" / "cases"
    deadline = time.monotonic() + 120
    staged = 0
    try:
        while time.monotonic() < deadline and process.poll() is None:
            # case folders written so far, staged or not, while the transaction is open
            staged = sum(1 for _ in cases.glob("*/*")) if cases.exists() else 0
            if staged >= 50:
                break
            time.sleep(0.05)
        assert process.poll() is None, "the import ended before it could be interrupted"
        assert staged >= 50, "no case files were written within the time limit"
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode in (1, 130), err.decode()  # click says "Aborted!"
    assert b"Traceback" not in err
    on_disk, in_store = folders(project), stored_ids(project)
    assert on_disk <= in_store, f"{len(on_disk - in_store)} folders of cases not in the store"
    assert in_store == set()  # one transaction: an interrupted import imports nothing
    assert on_disk == set()


def test_all_or_nothing_across_batches_writes_nothing(
    project: Project, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(service, "IMPORT_BATCH", 4)
    path = big_csv(project, 10, bad_last=True)
    result = project.run("import", str(path), "--sop", SOP, "--all-or-nothing")
    assert result.exit_code == 1
    assert f"{path}:12:2: error: 'not a time' is not a received time" in result.stderr
    assert stored_ids(project) == set() and folders(project) == set()
    result = project.run("import", str(path), "--sop", SOP)  # the good rows, in batches of 4
    assert result.exit_code == 1
    assert "imported 10 cases under SOP-CS-001; 1 bad row skipped" in result.stdout
    assert folders(project) == stored_ids(project) == {f"I-{i:05d}" for i in range(10)}


def test_a_leftover_folder_of_a_case_not_in_the_store_is_replaced(project: Project):
    leftover = project.folder("C-1")
    leftover.mkdir(parents=True)
    (leftover / "stale.txt").write_text("from an import that crashed")
    result = project.run("open", "C-1", "--sop", SOP, "--received", "2026-11-20T10:00")
    assert result.exit_code == 0, result.output
    assert {p.name for p in leftover.iterdir()} == {
        "checklist.html",
        "checklist.md",
        "deadlines.ics",
    }


def test_staging_folders_of_dead_processes_are_swept(project: Project):
    dead = next(pid for pid in range(4_000_000, 4_100_000) if not _running(pid))
    stale = project.root / "output" / "cases" / f".staging-{dead}-abcd" / "X-1"
    stale.mkdir(parents=True)
    (stale / "checklist.md").write_text("half an import")
    result = project.run("open", "C-2", "--sop", SOP, "--received", "2026-11-20T10:00")
    assert result.exit_code == 0, result.output
    assert folders(project) == {"C-2"}


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True
