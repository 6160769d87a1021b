"""Benchmark the start-up of short sopgen commands: wall time and CPU time per run.

    python bench/bench_startup.py [--runs 10]

Runs each command (`--help`, `validate`, `case list`, `case show`, shell
completion of `sopgen c`) in a fresh process on a copy of the example library
with one open case, and prints the median wall time and the median CPU time
(user + system of the process) per command, with the load average before and
after. On a busy machine the CPU time is the steadier figure: it does not
count the time spent waiting for a core. Bytecode caching is on for the
commands (PYTHONDONTWRITEBYTECODE is dropped), as on a user's machine: the
warm-up run writes the `.pyc` files.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
COMMANDS = {
    "--help": ["--help"],
    "validate": ["validate"],
    "case list": ["case", "list"],
    "case show": ["case", "show", "C-1"],
    "complete `sopgen c`": [],
}


def _run(root: Path, args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """One run in a fresh process: (wall seconds, CPU seconds)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "sopgen", *args],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        shutil.copy(REPO / "sopgen.yaml", root)
        shutil.copytree(REPO / "sops", root / "sops")
        env = {
            **{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
            "SOPGEN_NOW": "2026-11-24T12:00",
            "XDG_CACHE_HOME": str(root / "cache"),
            "COLUMNS": "80",
        }
        subprocess.run(
            [sys.executable, "-m", "sopgen", "case", "open", "C-1", "--sop", "SOP-CS-001"],
            cwd=root,
            env=env,
            capture_output=True,
            check=True,
        )
        print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        print(f"{'command':<22} {'wall (median)':>14} {'CPU (median)':>14}")
        for name, args in COMMANDS.items():
            run_env = env
            if not args:  # click's completion protocol, as the shell script calls it
                run_env = {**env, "_SOPGEN_COMPLETE": "bash_complete", "COMP_WORDS": "sopgen c"}
                run_env["COMP_CWORD"] = "1"
            _run(root, args, run_env)  # warm the file cache and the holiday cache
            runs = [_run(root, args, run_env) for _ in range(options.runs)]
            wall = statistics.median(r[0] for r in runs)
            cpu = statistics.median(r[1] for r in runs)
            print(f"{name:<22} {wall * 1000:>11.0f} ms {cpu * 1000:>11.0f} ms")
        print(f"load average after:  {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
