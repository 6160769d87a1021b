"""How long `sopgen report` takes over a history of 5,000 cases (run: python bench/bench_report.py).

Makes a temporary copy of the example library, imports 5,000 cases under the
example SOPs (received over two months), marks steps done (some late), puts
a fifth of the cases on hold and resumes them, gives a third a priority,
then times `sopgen report` over the whole period in JSON, CSV and HTML
(charts included) as a user runs it: a fresh `python -m sopgen` process each
time, wall time including interpreter start-up and imports. Target: under 2 s
each. Each figure is printed with the load average, as the machine may be busy.

    python bench/bench_report.py [--keep DIR] [--runs N]

`--keep DIR` writes the history into DIR (reused when it is already there), so
that a profiler can be pointed at the same command.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time as clock
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

REPO = Path(__file__).resolve().parent.parent
NOW = "2027-01-31T12:00"
CASES = 5_000


def make_history(root: Path) -> int:
    from sopgen.cases.model import ImportRow
    from sopgen.cases.service.caseservice import CaseService
    from sopgen.cases.store.tables import CaseHold, CasePriority, Completion, Store
    from sopgen.library import load_library

    library = load_library(root, None)
    assert library.config is not None
    zone = library.config.zone
    now = datetime.fromisoformat(NOW).replace(tzinfo=zone)
    store = Store.for_project(root, None, {})
    service = CaseService(store, library)
    rng = random.Random(20261128)
    sops = sorted(library.sops)
    start = datetime(2026, 11, 2, 8, tzinfo=zone)
    done_rows, hold_rows, priority_rows = [], [], []
    for s, sop_id in enumerate(sops):
        count = CASES // len(sops) + (s < CASES % len(sops))
        rows = []
        for i in range(count):
            received = start + timedelta(minutes=rng.randrange(0, 60 * 24 * 60))
            case_id = f"B-{s}-{i:05d}"
            rows.append(ImportRow(i + 1, case_id, received, rng.choice("abcdefgh"), None))
            steps = [st.key for st in library.sops[sop_id].steps()]
            for step in rng.sample(steps, rng.randrange(1, len(steps) + 1)):
                at = received + timedelta(minutes=rng.randrange(0, 20 * 24 * 60))
                done_rows.append(
                    {"case_id": case_id, "step": step, "done_at": min(at, now), "recorded_at": now}
                )
            if rng.random() < 0.2:
                held = received + timedelta(minutes=rng.randrange(0, 3 * 24 * 60))
                resumed = held + timedelta(minutes=rng.randrange(0, 3 * 24 * 60))
                hold_rows.append(
                    {"case_id": case_id, "held_at": held, "resumed_at": resumed,
                     "reason": "waiting", "recorded_at": now}
                )  # fmt: skip
            if rng.random() < 0.33:
                priority_rows.append(
                    {"case_id": case_id, "priority": rng.choice(["critical", "high", "low"]),
                     "since": received, "recorded_at": now}
                )  # fmt: skip
        result = service.import_rows(rows, sop_id, now, "bench.csv", allow_draft=True)
        assert not result.problems, result.problems[:3]
    with store.write() as session:
        for table, rows_ in (
            (Completion, done_rows),
            (CaseHold, hold_rows),
            (CasePriority, priority_rows),
        ):
            if rows_:
                session.execute(insert(table), rows_)
    store.close()
    return len(done_rows)


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.2f} (1 min) {five:.2f} (5 min)"


def run(root: Path, fmt: str) -> tuple[float, float]:
    """Wall and CPU time of one `sopgen report` in a new process, as a user runs it
    (CPU time is less disturbed by a busy machine than wall time)."""
    args = [sys.executable, "-m", "sopgen", "--root", str(root), "report",
            "--since", "2026-11-01", "--until", "2027-01-31", "--format", fmt]  # fmt: skip
    env = {**os.environ, "SOPGEN_NOW": NOW}
    cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = clock.perf_counter()
    result = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    elapsed = clock.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert result.returncode == 0, result.stderr
    return elapsed, after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime


def prepare(root: Path) -> None:
    if (root / "sopgen.yaml").exists():
        print(f"reusing the history in {root}")
        return
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "sopgen.yaml", root / "sopgen.yaml")
    shutil.copytree(REPO / "sops", root / "sops")
    began = clock.perf_counter()
    completions = make_history(root)
    made = clock.perf_counter() - began
    print(f"{CASES:,} cases, {completions:,} completions ({made:.1f} s)")


def measure(root: Path, runs: int) -> None:
    print(f"python {sys.version.split()[0]}; {os.cpu_count()} CPUs; target: under 2 s each")
    for fmt in ("json", "csv", "html"):
        times = sorted(run(root, fmt) for _ in range(runs))
        print(f"sopgen report --format {fmt:<4}: wall {times[0][0]:.2f} s best of {runs}, "
              f"{times[-1][0]:.2f} s worst; CPU {times[0][1]:.2f} s  [{load()}]")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--keep", type=Path, help="write (or reuse) the history here")
    parser.add_argument("--runs", type=int, default=3, help="runs per format (default 3)")
    options = parser.parse_args()
    if options.keep:
        prepare(options.keep.resolve())
        measure(options.keep.resolve(), options.runs)
        return 0
    with tempfile.TemporaryDirectory() as folder:
        prepare(Path(folder) / "repo")
        measure(Path(folder) / "repo", options.runs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
