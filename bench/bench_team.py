"""A team's load on SQLite and PostgreSQL: open cases, tick steps from many clients,
list overdue cases among many; prints figures (with the load average) and the plans.

    .venv/bin/python bench/bench_team.py [--cases 1000] [--ticks 10000] [--clients 8]
        [--list-cases 100000] [--postgres URL] [--only sqlite|postgresql] [--no-fsync]

Without --postgres it starts a throwaway PostgreSQL cluster of its own like
the tests do (tests/dbkit.py: Debian's initdb/pg_ctl, a Unix socket in a
temporary folder, deleted at the end), with durable commits (fsync on) unless
--no-fsync; it never uses a server already running on the machine. --postgres
URL uses a server you name instead (the user must be allowed to create a
database; the bench makes one and drops it).

1. open: `--cases` cases one after another through the service (`case open`).
2. tick: `--ticks` steps done from `--clients` processes at once, each with its
   own connection (as separate sopgen commands or desks are); the clients
   take the cases in turn, so they meet on the same cases. Afterwards the
   completions are counted in the database: every tick must be recorded
   (the bench exits 1 otherwise, and prints why a tick was refused).
3. list: the store is filled to `--list-cases` cases, 70 % closed, with the
   rows the service writes (template cases opened and ticked through the
   service, copied under new ids in bulk), then `case list --overdue`'s
   queries run: the count and the first page of 50 (and the desk's first
   page of open cases); each with its query plan (EXPLAIN ANALYZE /
   EXPLAIN QUERY PLAN). Target: each query under 100 ms (the service's call adds the
   planning of the page's cases in Python).

Files (checklists, calendars) are not written: this measures the database
and the service layer.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from dbkit import Cluster, Server, _pg_bin, statements  # noqa: E402
from sopgen.cases.errors import CaseError  # noqa: E402
from sopgen.cases.service.caseservice import CaseService  # noqa: E402
from sopgen.cases.store.tables import (  # noqa: E402
    CasePriority,
    CaseRecord,
    Completion,
    EventState,
    Store,
)
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
TEMPLATES = 50
"""Cases opened (and 70 % of them closed) through the service, then copied to fill."""
PAGE = 50
TARGET_MS = 100


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"[load {one:.2f} {five:.2f} {fifteen:.2f}]"


def project(tmp: Path) -> Path:
    root = tmp / "repo"
    root.mkdir(parents=True)
    shutil.copy(REPO / "sopgen.yaml", root / "sopgen.yaml")
    shutil.copytree(REPO / "sops", root / "sops")
    return root


def service_for(root: Path, url: str) -> CaseService:
    return CaseService(Store(url), load_library(root))


# --------------------------------------------------------------------------- 1. open


def open_cases(root: Path, url: str, count: int) -> float:
    service = service_for(root, url)
    received = NOW - timedelta(days=3)
    start = time.perf_counter()
    for i in range(count):
        service.open(f"B-{i:06d}", SOP, received, NOW, assignee=f"rep{i % 20}")
    elapsed = time.perf_counter() - start
    service.store.close()
    return elapsed


# --------------------------------------------------------------------------- 2. tick


def _ticker(root: str, url: str, work: list[tuple[str, str]], barrier: Any, out: Any) -> None:
    service = service_for(Path(root), url)
    service.show(work[0][0], NOW)  # warm: SOP parsed, connection open
    barrier.wait()
    latencies, refused = [], []
    for case_id, step in work:
        start = time.perf_counter()
        try:
            service.done(case_id, step, NOW, NOW)
        except CaseError as exc:
            refused.append(f"{case_id} {step}: {exc} ({exc.hint})")
        latencies.append(time.perf_counter() - start)
    service.store.close()
    out.put((latencies, refused))


def tick(
    root: Path, url: str, cases: int, ticks: int, clients: int
) -> tuple[float, list[float], list[str]]:
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
    return elapsed, latencies, [r for _, refused in results for r in refused]


def recorded_ticks(url: str) -> int:
    store = Store(url)
    with store.read() as session:
        count = session.scalar(
            select(func.count()).select_from(Completion).where(Completion.case_id.like("B-%"))
        )
    store.close()
    return count or 0


# --------------------------------------------------------------------------- 3. list


def templates(root: Path, url: str) -> list[str]:
    """Cases opened through the service, received over the last 8 days; 70 % with every
    step done (closed), the others with their first steps done."""
    service = service_for(root, url)
    steps = [s.key for s in service.show("B-000000").steps]
    made = []
    for i in range(TEMPLATES):
        received = NOW - timedelta(hours=2 * i + 1)
        case = f"T-{i:03d}"
        service.open(case, SOP, received, NOW, assignee=f"rep{i % 20}")
        todo = steps if i % 10 < 7 else steps[: i % 3]
        for step in todo:
            service.done(case, step, received + timedelta(minutes=30), NOW)
        made.append(case)
    service.store.close()
    return made


def fill(root: Path, url: str, total: int, existing: int) -> None:
    """Copies of the template cases' rows (case, calendar events, completions,
    priorities) under new ids, up to `total` cases, copied inside the database."""
    made = templates(root, url)
    wanted = total - existing - len(made)
    copies = -(-wanted // len(made))
    store = Store(url)
    new_id = f"(n.i * {len(made)} + t.k)"
    with store.write() as session:
        session.execute(text("CREATE TEMP TABLE bench_n (i INTEGER)"))
        session.execute(text("CREATE TEMP TABLE bench_t (tid VARCHAR(64), k INTEGER)"))
        session.execute(text("INSERT INTO bench_n VALUES (:i)"), [{"i": i} for i in range(copies)])
        session.execute(
            text("INSERT INTO bench_t VALUES (:tid, :k)"),
            [{"tid": case, "k": k} for k, case in enumerate(made)],
        )
        for table, key in (
            (CaseRecord.__table__, "id"),
            (EventState.__table__, "case_id"),
            (Completion.__table__, "case_id"),
            (CasePriority.__table__, "case_id"),
        ):
            columns = [c.name for c in table.columns if not (c.name == "id" and key != "id")]
            values = {c: f"x.{c}" for c in columns}
            values[key] = f"'L-' || {new_id}"
            if key == "id":
                values["folder"] = f"'l-' || {new_id}"
            session.execute(
                text(
                    f"INSERT INTO {table.name} ({', '.join(columns)}) "
                    f"SELECT {', '.join(values[c] for c in columns)} "
                    f"FROM {table.name} x JOIN bench_t t ON x.{key} = t.tid CROSS JOIN bench_n n "
                    f"WHERE {new_id} < :wanted"
                ),
                {"wanted": wanted},
            )
        session.execute(text("DROP TABLE bench_n"))
        session.execute(text("DROP TABLE bench_t"))
    with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE" if store.sqlite else "VACUUM ANALYZE")  # as autovacuum
    with store.read() as session:
        assert session.scalar(select(func.count()).select_from(CaseRecord)) == total
    store.close()


def timed(call: Callable[[], Any], repeat: int = 20) -> tuple[list[float], Any]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - start)
    return times, result


def plan_of(store: Store, statement: str, parameters: Any) -> list[str]:
    explain = "EXPLAIN QUERY PLAN " if store.sqlite else "EXPLAIN (ANALYZE, BUFFERS) "
    with store.engine.connect() as conn:
        rows = conn.exec_driver_sql(explain + statement, parameters).all()
        conn.rollback()
    if store.sqlite:  # id, parent, notused, detail
        return [f"{r[0]}/{r[1]} {r[3]}" for r in rows]
    return [r[0] for r in rows]


def listing(root: Path, url: str, cases: int) -> bool:
    """Times `case list --overdue` (count + first page) and the desk's first page;
    prints the figures and the plans of the statements on `cases`. True when in target."""
    service = service_for(root, url)
    service.list_open(NOW, limit=1)  # warm: next_due check, SOP snapshot parsed
    ok = True
    checks: list[tuple[str, Callable[[], Any]]] = [
        ("case list --overdue: count", lambda: service.count_open(NOW, overdue=True)),
        (
            f"case list --overdue: first page of {PAGE}",
            lambda: service.list_open(NOW, overdue=True, limit=PAGE),
        ),
        (f"desk/case list: first page of {PAGE} open", lambda: service.list_open(NOW, limit=PAGE)),
    ]
    for label, call in checks:
        with statements(service.store.engine) as seen:
            times, result = timed(call)
        shown = result if isinstance(result, int) else f"{len(result)} cases"
        median = statistics.median(times) * 1000
        print(
            f"{label} among {cases:,}: median {median:.1f} ms, max {max(times) * 1000:.1f} ms "
            f"({shown}) {load()}"
        )
        statement, parameters = next(
            (s, p) for s, p in seen if "FROM cases" in s and "completions" not in s.split("FROM")[1]
        )
        with service.store.engine.connect() as conn:

            def query_alone(conn: Any = conn, sql: str = statement, args: Any = parameters) -> Any:
                return conn.exec_driver_sql(sql, args).all()

            query, _ = timed(query_alone)
            conn.rollback()
        median = statistics.median(query) * 1000
        ok = ok and median < TARGET_MS
        print(
            f"  of which the query on cases: median {median:.1f} ms, "
            f"max {max(query) * 1000:.1f} ms {load()}"
        )
        print("  " + " ".join(statement.split()))
        for line in plan_of(service.store, statement, parameters):
            print(f"    {line}")
    service.store.close()
    return ok


# --------------------------------------------------------------------------- main


def run(kind: str, url: str, args: argparse.Namespace, root: Path) -> bool:
    print(f"\n== {kind}: {Store(url).display} {load()}", flush=True)
    elapsed = open_cases(root, url, args.cases)
    print(
        f"open {args.cases:,} cases (one process): {elapsed:.1f} s, "
        f"{args.cases / elapsed:.0f} cases/s {load()}",
        flush=True,
    )
    elapsed, latencies, refused = tick(root, url, args.cases, args.ticks, args.clients)
    latencies.sort()
    p95 = latencies[int(len(latencies) * 0.95)]
    recorded = recorded_ticks(url)
    print(
        f"tick {args.ticks:,} steps from {args.clients} clients: {elapsed:.1f} s, "
        f"{args.ticks / elapsed:.0f} ticks/s; median {statistics.median(latencies) * 1000:.0f} "
        f"ms, p95 {p95 * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms {load()}",
        flush=True,
    )
    expected = min(args.ticks, args.cases * len(STEPS))
    print(f"  recorded in the database: {recorded:,} of {expected:,} ticks; {len(refused)} refused")
    for reason, count in Counter(r.split(": ", 1)[1] for r in refused).most_common():
        print(f"  refused {count}×: {reason}")
    ok = recorded == expected and not refused
    start = time.perf_counter()
    fill(root, url, args.list_cases, args.cases)
    print(
        f"filled to {args.list_cases:,} cases in {time.perf_counter() - start:.0f} s {load()}",
        flush=True,
    )
    return listing(root, url, args.list_cases) and ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--ticks", type=int, default=10000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--list-cases", type=int, default=100_000)
    parser.add_argument("--postgres", metavar="URL", help="a server to use (default: our own)")
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument(
        "--no-fsync", action="store_true", help="our PostgreSQL cluster without fsync (faster)"
    )
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up our cluster, too
    if args.list_cases < args.cases + TEMPLATES:
        parser.error(f"--list-cases must be at least --cases + {TEMPLATES}")
    ok = True
    with tempfile.TemporaryDirectory(prefix="sopgen-bench-") as tmp:
        if args.only != "postgresql":
            root = project(Path(tmp) / "sqlite")
            ok = run("SQLite", f"sqlite:///{root / '.sopgen' / 'cases.db'}", args, root) and ok
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
                cluster = Cluster(bin_dir, durable=not args.no_fsync)
                cluster.start()
                server = Server(cluster.url(), cluster)
            url = server.new_database()
            try:
                name = "PostgreSQL" + (" (fsync off)" if cluster and args.no_fsync else "")
                ok = run(name, url.render_as_string(hide_password=False), args, root) and ok
            finally:
                server.drop_database(url)
                if cluster is not None:
                    cluster.stop()
    if not ok:
        print(f"\nNOT MET: a tick was not recorded, or a query took {TARGET_MS} ms or more")
        sys.exit(1)


if __name__ == "__main__":
    main()
