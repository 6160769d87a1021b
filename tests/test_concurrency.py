"""Many sopgens on one database at once, and one killed mid-write: nothing lost, no traceback.

Each test runs on SQLite and on PostgreSQL. The workers are forked processes
that run the real `sopgen` command line (`sopgen.cli.main`) the moment a
barrier lets them go, with stdout and stderr in files.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from casekit import NOW, SOP, Project, project_fixture  # noqa: F401 - `project`
from sopgen.cases.service import importing as service

WORKERS = 8
CASE = "C-SHARED"
STEPS = [  # eight different steps of one case
    "intake.receive",
    "intake.record",
    "intake.acknowledge",
    "assessment.categorize",
    "assessment.assign",
    "assessment.notify",
    "resolution.investigate",
    "resolution.plan",
]


def _sopgen_at_barrier(
    root: str, commands: list[list[str]], barrier: object, out: str, codes: object
) -> None:
    """Child: for each command, wait at the barrier, run `sopgen`, record the exit code."""
    from sopgen.cli import main

    results = []
    for i, command in enumerate(commands):
        with open(f"{out}.{i}.err", "w") as err, open(f"{out}.{i}.out", "w") as std:
            os.dup2(err.fileno(), 2)
            os.dup2(std.fileno(), 1)
            sys.stdout, sys.stderr = std, err  # pytest's capture replaced them in the parent
            sys.argv = ["sopgen", "--root", root, *command]
            barrier.wait(timeout=120)  # type: ignore[attr-defined]
            try:
                main()
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            except BaseException as exc:  # a traceback escaping main() is a failure
                print(f"ESCAPED {type(exc).__name__}: {exc}", file=sys.stderr)
                code = 99
            sys.stdout.flush()
            sys.stderr.flush()
        results.append(code)
    codes.put((out, results))  # type: ignore[attr-defined]


def run_at_once(project: Project, per_worker: list[list[list[str]]]) -> dict[int, list[tuple]]:
    """Run worker w's commands in step with the others; {w: [(code, stdout, stderr)]}."""
    context = multiprocessing.get_context("fork")
    rounds = len(per_worker[0])
    barrier, codes = context.Barrier(len(per_worker)), context.Queue()
    logs = project.root.parent / "logs"
    logs.mkdir(exist_ok=True)
    processes = [
        context.Process(
            target=_sopgen_at_barrier,
            args=(str(project.root), commands, barrier, str(logs / f"w{w}"), codes),
        )
        for w, commands in enumerate(per_worker)
    ]
    for process in processes:
        process.start()
    reported = dict(codes.get(timeout=300) for _ in processes)
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    results: dict[int, list[tuple]] = {}
    for w in range(len(per_worker)):
        out = str(logs / f"w{w}")
        results[w] = [
            (
                reported[out][i],
                Path(f"{out}.{i}.out").read_text(),
                Path(f"{out}.{i}.err").read_text(),
            )
            for i in range(rounds)
        ]
    return results


def test_eight_sopgens_tick_steps_and_open_colliding_cases_at_once(project: Project):
    assert project.run("open", CASE, "--sop", SOP, "--received", "2026-11-20T18:05").exit_code == 0
    per_worker = [
        [
            ["case", "done", CASE, STEPS[w], "--at", NOW],
            # workers 2k and 2k+1 both open DUP-k
            ["case", "open", f"DUP-{w // 2}", "--sop", SOP, "--assignee", f"w{w}"],
        ]
        for w in range(WORKERS)
    ]
    results = run_at_once(project, per_worker)

    for w, ((done_code, _, done_err), _) in results.items():
        assert done_code == 0, f"worker {w}: {done_err}"
    for w, (_, (_, _, err)) in results.items():
        assert "Traceback" not in err and "ESCAPED" not in err, f"worker {w}: {err}"
    done = project.sql("SELECT step FROM completions WHERE case_id = :c", {"c": CASE})
    assert sorted(s for (s,) in done) == sorted(STEPS)  # every completion recorded
    shown = json.loads(project.run("show", CASE, "--format", "json").stdout)
    assert [s["step"] for s in shown["steps"] if s["status"] in ("done", "done-late")] == STEPS

    for k in range(WORKERS // 2):
        pair = [results[2 * k][1], results[2 * k + 1][1]]
        codes = sorted(code for code, _, _ in pair)
        assert codes == [0, 1], f"DUP-{k}: {pair}"
        loser = next(err for code, _, err in pair if code == 1)
        assert f"case id 'DUP-{k}' is already used" in loser
        winner = next(w for w in (2 * k, 2 * k + 1) if results[w][1][0] == 0)
        [(assignee,)] = project.sql("SELECT assignee FROM cases WHERE id = :c", {"c": f"DUP-{k}"})
        assert assignee == f"w{winner}"  # the store holds the winner's case
    rows = project.sql(
        "SELECT case_id, count(*) FROM calendar_events WHERE case_id LIKE 'DUP-%' "
        "GROUP BY case_id ORDER BY case_id"
    )
    assert rows == [(f"DUP-{k}", 12) for k in range(WORKERS // 2)]


ROWS = 1100
"""More than two batches of the import (IMPORT_BATCH): killed in the first, more to come."""


def test_a_writer_killed_mid_import_leaves_nothing_and_a_rerun_imports_every_row_once(
    project: Project,
):
    # an import is one transaction (docs/desk.md: an interrupted import leaves no case), its files
    # staged aside until the commit: killed while it stages the first batch, it leaves no
    # case, no event and no case folder, and the same import run again opens every row once
    csv = project.root / "many.csv"
    csv.write_text(
        "".join(f"K-{i:04d},2026-11-20T{8 + i % 9:02d}:05,rep{i % 5}\n" for i in range(ROWS))
    )
    command = [sys.executable, "-m", "sopgen", "--root", str(project.root)]
    command += ["case", "import", str(csv), "--sop", SOP]
    env = {**os.environ, "SOPGEN_NOW": NOW}
    cases = project.root / "output" / "cases"
    writer = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    staged = published = 0
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and writer.poll() is None:
            staged = len(list(cases.glob(".staging-*/*")))  # case folders written aside
            if staged >= 20:
                published = len([p for p in cases.iterdir() if not p.name.startswith(".")])
                break
            time.sleep(0.01)
        assert writer.poll() is None, "the import ended before it could be killed"
        # mid-import for sure: rows still to read and stage after this batch, none published
        assert 20 <= staged < ROWS - service.IMPORT_BATCH and published == 0, (staged, published)
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=30)
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait(timeout=30)
    assert writer.returncode == -signal.SIGKILL

    assert project.sql("SELECT count(*) FROM cases") == [(0,)]
    assert project.sql("SELECT count(*) FROM calendar_events") == [(0,)]
    assert [p.name for p in cases.iterdir() if not p.name.startswith(".")] == []

    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    assert f"imported {ROWS} cases under {SOP}" in again.stdout
    assert "Traceback" not in again.stderr
    ids = {f"K-{i:04d}" for i in range(ROWS)}
    stored = project.sql("SELECT id FROM cases")
    assert len(stored) == ROWS and {i for (i,) in stored} == ids  # every row, none twice
    assert project.sql("SELECT count(*) FROM calendar_events") == [(ROWS * 12,)]
    assert {p.name for p in cases.iterdir()} == ids  # the dead writer's staging is swept
