"""Benchmark: `sopgen case list` over 100,000 cases returns its first page quickly.

Copies sopgen.yaml and sops/ into a temporary folder, opens one case through
the CLI (which makes the store and the SOP snapshot), then adds N cases straight
into the store with their next deadlines (as `case open`/`import` keep them), a
tenth of them closed. Times, in process and as a fresh `sopgen` process:

- `case list` (the first page of 50, text), `--format json --limit 50`,
  `--overdue --limit 50`, `--page 100`, and `--status closed`.

    python bench/bench_list.py [--cases N]

Target: the first page in under 0.5 s with 100,000 cases (it plans only the
cases of the page: the order and the filters come from the indexed next_due).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import insert, select

from sopgen.cases.store.tables import CaseRecord, SopSnapshot, Store
from sopgen.cli import cli

REPO = Path(__file__).resolve().parent.parent
NOW = "2026-11-23T10:00"


def fill(root: Path, count: int) -> None:
    store = Store(f"sqlite:///{root / '.sopgen' / 'cases.db'}")
    with store.write() as session:
        digest = session.scalars(select(SopSnapshot.digest)).one()
        start = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
        rows = []
        for i in range(count):
            received = start + timedelta(minutes=7 * (i % 3000), seconds=i // 3000)
            closed = i % 10 == 9
            rows.append(
                {
                    "id": f"L-{i:06d}",
                    "folder": f"l-{i:06d}",
                    "sop_id": "SOP-CS-001",
                    "sop_version": "1.1",
                    "snapshot": digest,
                    "received": received,
                    "assignee": f"rep{i % 40}",
                    "summary": None,
                    "opened_at": received,
                    "updated_at": received,
                    "closed_at": received + timedelta(days=9) if closed else None,
                    "next_due": None if closed else received + timedelta(hours=1),
                }
            )
            if len(rows) == 10_000:
                session.execute(insert(CaseRecord), rows)
                rows = []
        if rows:
            session.execute(insert(CaseRecord), rows)
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    args = parser.parse_args()
    os.environ["SOPGEN_NOW"] = NOW
    os.environ.pop("SOPGEN_DATABASE_URL", None)
    with tempfile.TemporaryDirectory(prefix="sopgen-bench-") as tmp:
        root = Path(tmp) / "repo"
        root.mkdir()
        shutil.copy(REPO / "sopgen.yaml", root / "sopgen.yaml")
        shutil.copytree(REPO / "sops", root / "sops")
        runner = CliRunner()

        def run(*argv: str) -> tuple[float, float]:
            """Wall-clock and CPU seconds of one in-process command."""
            start, cpu = time.perf_counter(), time.process_time()
            result = runner.invoke(cli, ["--root", str(root), "case", *argv])
            elapsed = time.perf_counter() - start, time.process_time() - cpu
            if result.exit_code != 0:
                sys.exit(f"failed ({result.exit_code}): {result.output}\n{result.exception!r}")
            return elapsed

        def fresh(*argv: str) -> tuple[float, float]:
            """Wall-clock and CPU seconds of a new `sopgen` process (imports included)."""
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "sopgen", "--root", str(root), "case", *argv],
                check=True,
                capture_output=True,
                env={**os.environ, "COLUMNS": "80"},
            )
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
            return time.perf_counter() - start, cpu

        run("open", "L-FIRST", "--sop", "SOP-CS-001", "--received", "2026-11-02T09:00")
        start = time.perf_counter()
        fill(root, args.cases)
        print(f"stored {args.cases:,} cases in {time.perf_counter() - start:.1f} s")
        print("target: the first page in under 0.5 s (on a busy machine compare CPU seconds)")
        for argv in (
            ("list",),
            ("list", "--format", "json", "--limit", "50"),
            ("list", "--overdue", "--limit", "50"),
            ("list", "--page", "100"),
            ("list", "--status", "closed"),
        ):
            run(*argv)  # the first run also parses the SOP snapshot
            (wall, cpu), (new_wall, new_cpu) = run(*argv), fresh(*argv)
            print(
                f"case {' '.join(argv)}: {wall:.3f} s ({cpu:.3f} s CPU) in process; "
                f"{new_wall:.3f} s ({new_cpu:.3f} s CPU) as a new process"
            )


if __name__ == "__main__":
    main()
