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


ROWS = 400


def test_a_writer_killed_mid_import_leaves_whole_cases_and_a_rerun_completes(project: Project):
    csv = project.root / "many.csv"
    csv.write_text(
        "".join(f"K-{i:04d},2026-11-20T{8 + i % 9:02d}:05,rep{i % 5}\n" for i in range(ROWS))
    )
    command = [sys.executable, "-m", "sopgen", "--root", str(project.root)]
    command += ["case", "import", str(csv), "--sop", SOP]
    env = {**os.environ, "SOPGEN_NOW": NOW}
    writer = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    cases = project.root / "output" / "cases"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and writer.poll() is None:  # its rows are in, files going
        if cases.exists() and sum(1 for _ in cases.iterdir()) >= 5:
            break
        time.sleep(0.02)
    assert writer.poll() is None, "the import ended before it could be killed"
    writer.send_signal(signal.SIGKILL)
    writer.wait(timeout=30)
    assert writer.returncode == -signal.SIGKILL

    # each row all or nothing: whole cases from the batches committed before the kill
    [(count,)] = project.sql("SELECT count(*) FROM cases")
    assert 0 <= count <= ROWS  # (files follow the store: the rows may all be in)
    half = project.sql(
        "SELECT c.id FROM cases c LEFT JOIN calendar_events e ON e.case_id = c.id "
        "GROUP BY c.id HAVING count(e.step) <> 12"
    )
    assert half == []  # never a case without its plan

    # the rerun opens the rest; the rows already in are reported by line, nothing twice
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    problems = [line for line in again.stderr.splitlines() if ": error: " in line]
    assert len(problems) == count
    assert all("is already used" in line for line in problems)
    assert "Traceback" not in again.stderr
    [(total,)] = project.sql("SELECT count(*) FROM cases")
    [(events,)] = project.sql("SELECT count(*) FROM calendar_events")
    assert (total, events) == (ROWS, ROWS * 12)
