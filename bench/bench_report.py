"""How long `sopgen report` takes over a history of 5,000 cases (run: python bench/bench_report.py).

Makes a temporary copy of the example library, imports 5,000 cases under the
example SOPs (received over two months), marks steps done (some late), puts
a fifth of the cases on hold and resumes them, gives a third a priority,
then times the report over the whole period in JSON, CSV and HTML (charts
included) with the CLI in this process. Target: under 2 s.
"""

from __future__ import annotations

import random
import shutil
import sys
import tempfile
import time as clock
from datetime import datetime, timedelta
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import insert

REPO = Path(__file__).resolve().parent.parent
NOW = "2027-01-31T12:00"
CASES = 5_000


def make_history(root: Path) -> int:
    from sopgen.cases.model import ImportRow
    from sopgen.cases.service import CaseService
    from sopgen.cases.store import CaseHold, CasePriority, Completion, Store
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


def main() -> int:
    from sopgen.cli import cli

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "repo"
        root.mkdir()
        shutil.copy(REPO / "sopgen.yaml", root / "sopgen.yaml")
        shutil.copytree(REPO / "sops", root / "sops")
        began = clock.perf_counter()
        completions = make_history(root)
        made = clock.perf_counter() - began
        version = sys.version.split()[0]
        print(f"python {version}; {CASES:,} cases, {completions:,} completions ({made:.1f} s)")
        runner = CliRunner()
        for fmt in ("json", "csv", "html", "json"):
            args = ["--root", str(root), "report", "--since", "2026-11-01", "--until", "2027-01-31",
                    "--format", fmt]  # fmt: skip
            began = clock.perf_counter()
            result = runner.invoke(cli, args, env={"SOPGEN_NOW": NOW})
            elapsed = clock.perf_counter() - began
            assert result.exit_code == 0, result.output
            print(f"report --format {fmt:<4}: {elapsed:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
