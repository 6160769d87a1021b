"""A team's load on SQLite and PostgreSQL: open cases, tick steps from many clients,
list overdue cases among many; prints figures (and the overdue query's plan).

    python3 bench/bench_team.py [--cases 1000] [--ticks 10000] [--clients 8]
                                [--list-cases 100000] [--postgres URL] [--only sqlite|postgresql]

Without --postgres it starts a throwaway PostgreSQL cluster like the tests do
(tests/dbkit.py: Debian's initdb/pg_ctl, a Unix socket, fsync off — so the
PostgreSQL figures are an upper bound for a server with durable commits).
Every client is its own process with its own connection, as separate sopgen
commands or desks would be. Files (checklists, calendars) are not written:
this measures the database and the service layer.
"""

from __future__ import annotations

import argparse
import multiprocessing
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from dbkit import Cluster, Server, _pg_bin  # noqa: E402
from sopgen.cases.errors import CaseError  # noqa: E402
from sopgen.cases.service import CaseService  # noqa: E402
from sopgen.cases.store import CaseRecord, Store  # noqa: E402
from sopgen.library import load_library  # noqa: E402

SOP = "SOP-CS-001"
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
STEPS = [
    "intake.receive",
    "intake.record",
    "intake.acknowledge",
    "assessment.categorize",
    "assessment.assign",
    "assessment.notify",
    "resolution.investigate",
    "resolution.plan",
    "resolution.implement",
    "follow-up.request-feedback",
]


def project(tmp: Path) -> Path:
    root = tmp / "repo"
    root.mkdir(parents=True)
    shutil.copy(REPO / "sopgen.yaml", root / "sopgen.yaml")
    shutil.copytree(REPO / "sops", root / "sops")
    return root


def open_cases(root: Path, url: str, count: int) -> float:
    service = CaseService(Store(url), load_library(root))
    received = NOW - timedelta(days=3)
    start = time.perf_counter()
    for i in range(count):
        service.open(f"B-{i:06d}", SOP, received, NOW, assignee=f"rep{i % 20}")
    elapsed = time.perf_counter() - start
    service.store.close()
    return elapsed


def _ticker(root: str, url: str, work: list[tuple[str, str]], barrier: object, out: object) -> None:
    service = CaseService(Store(url), load_library(Path(root)))
    service.show(work[0][0], NOW)  # warm: SOP parsed, connection open
    barrier.wait()  # type: ignore[attr-defined]
    latencies, failures = [], 0
    for case_id, step in work:
        start = time.perf_counter()
        try:
            service.done(case_id, step, NOW, NOW)
        except CaseError:
            failures += 1
        latencies.append(time.perf_counter() - start)
    service.store.close()
    out.put((latencies, failures))  # type: ignore[attr-defined]


def tick(
    root: Path, url: str, cases: int, ticks: int, clients: int
) -> tuple[float, list[float], int]:
    pairs = [(f"B-{i % cases:06d}", STEPS[(i // cases) % len(STEPS)]) for i in range(ticks)]
    # each client ticks whole cases' steps in turn, so clients meet on the same cases
    slices = [pairs[c::clients] for c in range(clients)]
    context = multiprocessing.get_context("fork")
    barrier, out = context.Barrier(clients + 1), context.Queue()
    processes = [
        context.Process(target=_ticker, args=(str(root), url, work, barrier, out))
        for work in slices
    ]
    for process in processes:
        process.start()
    barrier.wait()
    start = time.perf_counter()
    results = [out.get(timeout=3600) for _ in processes]
    elapsed = time.perf_counter() - start
    for process in processes:
        process.join()
    latencies = [x for lat, _ in results for x in lat]
    return elapsed, latencies, sum(f for _, f in results)


def fill_for_listing(url: str, total: int, existing: int) -> None:
    """Add cases as bare rows (one snapshot, no plan rows) up to `total`; 10 % overdue."""
    store = Store(url)
    with store.write() as session:
        snapshot = session.scalars(text("SELECT digest FROM sop_snapshots LIMIT 1")).one()
        has_next_due = hasattr(CaseRecord, "next_due")
        rows = []
        for i in range(existing, total):
            received = NOW - timedelta(days=30) if i % 10 == 0 else NOW - timedelta(hours=1)
            row = {
                "id": f"L-{i:06d}",
                "folder": f"l-{i:06d}",
                "sop_id": SOP,
                "sop_version": "1.1",
                "snapshot": snapshot,
                "received": received,
                "assignee": f"rep{i % 20}",
                "summary": None,
                "opened_at": received,
                "updated_at": received,
                "closed_at": None,
            }
            if has_next_due:
                row["next_due"] = received + timedelta(days=2)
            rows.append(row)
            if len(rows) == 5000:
                session.execute(CaseRecord.__table__.insert(), rows)
                rows = []
        if rows:
            session.execute(CaseRecord.__table__.insert(), rows)
    with store.engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    store.close()


OVERDUE = (
    "SELECT id, next_due FROM cases WHERE closed_at IS NULL AND next_due < :now "
    "ORDER BY next_due, id LIMIT 50"
)


def list_overdue(url: str, repeat: int = 20) -> tuple[list[float], list[str], int]:
    store = Store(url)
    explain = "EXPLAIN QUERY PLAN " if store.sqlite else "EXPLAIN ANALYZE "
    with store.engine.connect() as conn:
        params = {"now": NOW if not store.sqlite else NOW.replace(tzinfo=None)}
        plan = [
            " | ".join(str(x) for x in row) for row in conn.execute(text(explain + OVERDUE), params)
        ]
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            conn.execute(text(OVERDUE), params).all()
            times.append(time.perf_counter() - start)
        [(count,)] = conn.execute(
            text("SELECT count(*) FROM cases WHERE closed_at IS NULL AND next_due < :now"), params
        ).all()
    store.close()
    return times, plan, count


def run(kind: str, url: str, args: argparse.Namespace, root: Path) -> None:
    print(f"\n== {kind}: {Store(url).display}")
    elapsed = open_cases(root, url, args.cases)
    rate = args.cases / elapsed
    print(f"open {args.cases} cases (one process): {elapsed:.1f} s, {rate:.0f} cases/s")
    elapsed, latencies, failures = tick(root, url, args.cases, args.ticks, args.clients)
    latencies.sort()
    p95 = latencies[int(len(latencies) * 0.95)]
    print(
        f"tick {args.ticks} steps from {args.clients} clients: {elapsed:.1f} s, "
        f"{args.ticks / elapsed:.0f} ticks/s; median {statistics.median(latencies) * 1000:.0f} ms, "
        f"p95 {p95 * 1000:.0f} ms; {failures} refused"
    )
    if not hasattr(CaseRecord, "next_due"):
        print("list overdue: skipped (this sopgen keeps no next deadline per case)")
        return
    start = time.perf_counter()
    fill_for_listing(url, args.list_cases, args.cases)
    print(f"filled to {args.list_cases} cases in {time.perf_counter() - start:.0f} s")
    times, plan, count = list_overdue(url)
    print(
        f"list overdue cases among {args.list_cases} ({count} overdue, first page of 50): "
        f"median {statistics.median(times) * 1000:.1f} ms, max {max(times) * 1000:.1f} ms"
    )
    print("query plan:")
    for line in plan:
        print(f"  {line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--ticks", type=int, default=10000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--list-cases", type=int, default=100_000)
    parser.add_argument("--postgres", metavar="URL")
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sopgen-bench-") as tmp:
        if args.only != "postgresql":
            root = project(Path(tmp) / "sqlite")
            run("SQLite", f"sqlite:///{root / '.sopgen' / 'cases.db'}", args, root)
        if args.only != "sqlite":
            root = project(Path(tmp) / "postgresql")
            cluster = None
            if args.postgres:
                server = Server(Store(args.postgres).url)
            else:
                bin_dir = _pg_bin()
                if bin_dir is None:
                    sys.exit(
                        "no PostgreSQL binaries: apt-get install postgresql, or --postgres URL"
                    )
                cluster = Cluster(bin_dir)
                cluster.start()
                server = Server(cluster.url(), cluster)
            url = server.new_database()
            try:
                run("PostgreSQL", url.render_as_string(hide_password=False), args, root)
            finally:
                server.drop_database(url)
                if cluster is not None:
                    cluster.stop()


if __name__ == "__main__":
    main()
