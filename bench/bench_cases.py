"""Benchmark: import 1,000 cases from a CSV against the example library.

Copies sopgen.yaml and sops/ into a temporary folder, generates a CSV of 1,000
complaints, and times `sopgen case import` (in process, through the CLI) with
checklist HTML, Markdown and deadlines.ics written for every case (no PDF).
Then times `case list` over those cases and one `case done`.

    python bench/bench_cases.py [--cases N] [--sop SOP-ID]

Target: 1,000 cases in under 10 s on a 2-core machine; the peak RSS printed after the
import stays flat as --cases grows (the import streams in batches).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

from click.testing import CliRunner

from sopgen.cli import cli

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--sop", default="SOP-CS-001")
    args = parser.parse_args()
    os.environ["SOPGEN_NOW"] = "2026-11-23T10:00"
    os.environ.pop("SOPGEN_DATABASE_URL", None)
    with tempfile.TemporaryDirectory(prefix="sopgen-bench-") as tmp:
        root = Path(tmp) / "repo"
        root.mkdir()
        shutil.copy(REPO / "sopgen.yaml", root / "sopgen.yaml")
        shutil.copytree(REPO / "sops", root / "sops")
        csv = root / "cases.csv"
        rows = ["case id,received,assignee,summary"]
        for i in range(args.cases):
            day, hour, minute = 1 + i % 20, 7 + i % 12, (i * 7) % 60
            rows.append(
                f"B-{i:05d},2026-11-{day:02d}T{hour:02d}:{minute:02d},rep{i % 9},Complaint {i}"
            )
        csv.write_text("\n".join(rows) + "\n")
        runner = CliRunner()

        def run(*argv: str) -> float:
            start = time.perf_counter()
            result = runner.invoke(cli, ["--root", str(root), "case", *argv])
            elapsed = time.perf_counter() - start
            if result.exit_code != 0:
                sys.exit(f"failed ({result.exit_code}): {result.output}\n{result.exception!r}")
            return elapsed

        cpu = time.process_time()
        seconds = run("import", str(csv), "--sop", args.sop)
        cpu = time.process_time() - cpu
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
        files = sum(1 for _ in (root / "output" / "cases").rglob("*") if _.is_file())
        print(
            f"import {args.cases} cases: {seconds:.2f} s ({args.cases / seconds:.0f} cases/s, "
            f"{files} files written; {cpu:.1f} s CPU), peak RSS {peak:.0f} MB — "
            "target < 10 s for 1,000; the peak should not grow with the number of cases"
        )
        print(f"list {args.cases} open cases: {run('list', '--format', 'json'):.2f} s")
        print(f"done one step (rewrites 3 files): {run('done', 'B-00000', 'receive'):.2f} s")
        print(f"show one case: {run('show', 'B-00000', '--format', 'json'):.2f} s")


if __name__ == "__main__":
    main()
