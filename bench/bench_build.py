"""Benchmark `sopgen build` on a generated library (default 100 SOPs).

    python bench/bench_build.py [--n 100]

Prints: validation time, full HTML build, full PDF build with 1 and with 2
workers, a no-op rebuild (in-process and as a whole `sopgen build` command),
the bare WeasyPrint render time of the same HTML (sequential, one process),
and the ratios against the targets (2-worker speedup >= 1.7x; build overhead
= 1-worker PDF build / bare WeasyPrint <= 1.3x; no-op rebuild < 0.5 s).

Each measurement runs in a fresh Python process, so none profits from
imports or caches warmed by another.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def _measure(kind: str, root: Path) -> float:
    """Run inside a fresh process: one measurement, seconds."""
    from sopgen.build.documents import BuildOptions, build_documents
    from sopgen.library import load_library

    today = __import__("datetime").date(2027, 1, 1)
    start = time.perf_counter()
    if kind == "validate":
        load_library(root, None, today)
        return time.perf_counter() - start
    library = load_library(root, None, today)
    start = time.perf_counter()
    if kind == "html":
        build_documents(library, BuildOptions(html=True, pdf=False, force=True))
    elif kind in ("pdf1", "pdf2"):
        jobs = 1 if kind == "pdf1" else 2
        build_documents(library, BuildOptions(html=False, pdf=True, jobs=jobs, force=True))
    elif kind == "noop":
        report = build_documents(library, BuildOptions())
        assert not [p for p in report.written if p.suffix == ".pdf"], "no-op rebuilt PDFs"
        assert "weasyprint" not in sys.modules, "a no-op build imported weasyprint"
    elif kind == "bare":
        from sopgen.render import html, view

        config = library.config
        assert config is not None
        sops = library.valid_sops()
        titles = {s.id: s.title for s in sops}
        pages = [html.render_sop(root, view.sop_view(s, config, titles, "pdf")) for s in sops]
        start = time.perf_counter()
        import weasyprint

        for page in pages:
            weasyprint.HTML(string=page).write_pdf()
    else:
        raise SystemExit(f"unknown measurement {kind}")
    return time.perf_counter() - start


def run(kind: str, root: Path) -> float:
    out = subprocess.run(
        [sys.executable, __file__, "--one", kind, "--root", str(root)],
        check=True,
        capture_output=True,
        text=True,
    )
    return float(json.loads(out.stdout)["seconds"])


def command_time(root: Path) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "sopgen", "--root", str(root), "build"],
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100, help="number of SOPs (default 100)")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps({"seconds": _measure(args.one, args.root)}))
        return

    from genlib import generate

    folder = Path(tempfile.mkdtemp(prefix="sopgen-bench-"))
    try:
        generate(folder, args.n)
        n = args.n
        print(f"library: {n} SOPs in {folder}")
        validate = run("validate", folder)
        print(f"validate (load_library)        {validate:8.2f} s")
        html = run("html", folder)
        print(f"full HTML build                {html:8.2f} s")
        pdf1 = run("pdf1", folder)
        print(f"full PDF build, 1 worker       {pdf1:8.2f} s  ({pdf1 / n * 1000:.0f} ms/SOP)")
        pdf2 = run("pdf2", folder)
        print(f"full PDF build, 2 workers      {pdf2:8.2f} s")
        noop = run("noop", folder)
        print(f"no-op rebuild (build step)     {noop:8.2f} s")
        first = command_time(folder)  # validates everything and leaves a build stamp
        print(f"no-op `sopgen build`, 1st run  {first:8.2f} s  (process start + validation)")
        whole = command_time(folder)
        print(f"no-op `sopgen build`, again    {whole:8.2f} s  (replayed from the build stamp)")
        bare = run("bare", folder)
        print(f"bare WeasyPrint, sequential    {bare:8.2f} s")
        speedup, overhead = pdf1 / pdf2, pdf1 / bare
        print()
        verdict = {True: "ok", False: "MISSED"}
        print(f"2-worker speedup   {speedup:5.2f}x  (target >= 1.7x) {verdict[speedup >= 1.7]}")
        print(f"build overhead     {overhead:5.2f}x  (target <= 1.3x) {verdict[overhead <= 1.3]}")
        print(f"no-op rebuild      {noop:5.2f} s  (target < 0.5 s)  {verdict[noop < 0.5]}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
