"""Validation time for a generated library (default 100 SOPs); prints figures.

    python3 bench/bench_validate.py [--n 100] [--repeat 5]

Reports the best of several runs of the whole pipeline (load config and SOPs
with libyaml, JSON Schema with one compiled validator, semantic checks), in
process and as a fresh `sopgen validate` command (which adds interpreter start
and imports).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from genlib import generate
from sopgen.library import load_library


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=100, help="number of SOPs")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        generate(root, args.n)
        files = len(list((root / "sops").glob("*.yaml")))
        steps = 0
        timings = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            library = load_library(root)
            timings.append(time.perf_counter() - start)
            errors = [p for p in library.problems if p.is_error]
            if errors:
                raise SystemExit(f"generated library is invalid: {errors[0].format()}")
            steps = sum(len(list(s.steps())) for s in library.valid_sops())
        best = min(timings)
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "sopgen", "--root", str(root), "validate"],
            check=True,
            capture_output=True,
        )
        command = time.perf_counter() - start
    print(f"SOP files:                  {files} ({steps} steps)")
    print(f"validate, in process:       {best * 1000:.0f} ms (best of {args.repeat})")
    print(f"per SOP:                    {best / files * 1000:.2f} ms")
    print(f"`sopgen validate` command:  {command * 1000:.0f} ms (incl. interpreter start)")


if __name__ == "__main__":
    main()
