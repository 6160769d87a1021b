"""Big backlogs and big teams: the first reminder run after a backlog import, and the
desk's Cases, My work, dashboard and a feed over many open cases.

    .venv/bin/python bench/bench_backlog.py remind [--cases 2000] [--history]
    .venv/bin/python bench/bench_backlog.py desk [--cases 10000] [--postgres] [--rounds 3]

The example library's SOP-CS-001 (and sopgen.yaml) in a temporary folder;
cases are opened through the service (no files written: that is
bench/bench_cases.py, e.g. `--cases 10000` for the backlog import), received
over the last 35 days, half of them assigned to one rep (alice), the other
half to bob.

remind: users alice and bob (reps) and mia (manager), each with an e-mail
address; one `sopgen remind --once` (in process, through the CLI) against a
local SMTP server (aiosmtpd on 127.0.0.1, as tests/smtpkit.py): the messages
and bytes the server accepted, per recipient, the largest message, and the
seconds. With --history the cases are imported as history (no reminders for
steps already overdue when they came in).

desk: `sopgen serve` on 127.0.0.1 (one worker) over the cases, on SQLite or
(--postgres) a throwaway PostgreSQL cluster like the tests' (tests/dbkit.py);
signed in as alice (a rep) and mia (a manager), fetched one at a time: /cases,
My work (/), /dashboard and alice's feed (its first fetch renders it), each
--rounds times: the slowest time, the body's bytes (uncompressed) and the
server's resident memory (RSS) after it and at its peak.

Targets (issue 19): the first reminder run sends at most one message per
person, a digest under 200 kB; at 50,000 cases each desk page within 300 ms
and the server within 300 MiB.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

NOW = "2026-12-07T10:00"  # a Monday; SOP-CS-001 1.2 is in force from 2026-11-01
SOP = "SOP-CS-001"
PASSWORD = "bench password 1"
BACKLOG = timedelta(days=35)


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"[load {one:.2f} {five:.2f} {fifteen:.2f}]"


def project(root: Path, extra: str = "") -> None:
    root.mkdir(parents=True)
    shutil.copy(REPO / "sopgen.yaml", root / "sopgen.yaml")
    shutil.copytree(REPO / "sops", root / "sops")
    if extra:
        with (root / "sopgen.yaml").open("a") as config:
            config.write(extra)


def fill(root: Path, url: str | None, cases: int, history: bool) -> None:
    """Users alice, bob (reps), mia (manager) and `cases` open cases of SOP-CS-001."""
    from argon2 import PasswordHasher

    from sopgen.cases.model import ImportRow
    from sopgen.cases.service.caseservice import CaseService
    from sopgen.cases.service.secretkey import SecretKey
    from sopgen.cases.service.users import UserService
    from sopgen.cases.store.tables import Store
    from sopgen.cases.timestamps import parse_timestamp
    from sopgen.library import load_library

    library = load_library(root, None)
    assert library.config is not None
    now = parse_timestamp(NOW, library.config.zone)
    store = Store(url) if url else Store.for_project(root, None, {})
    people = UserService(store, SecretKey(root))
    people._hasher = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)  # setup only
    for login, role in (("alice", "rep"), ("bob", "rep"), ("mia", "manager")):
        people.add(login, login.title(), role, PASSWORD, now, email=f"{login}@example.com")
    service = CaseService(store, library)
    span = int(BACKLOG.total_seconds() // 60)
    extra: dict[str, Any] = {"history": True} if history else {}
    rows = [
        ImportRow(
            line=i + 1,
            case_id=f"B-{i:06d}",
            received=now - timedelta(minutes=60 + (i * 7919) % span),
            assignee="alice" if i % 2 == 0 else "bob",
            summary=f"Complaint {i}",
            **extra,
        )
        for i in range(cases)
    ]
    for start in range(0, len(rows), 5000):
        result = service.import_rows(rows[start : start + 5000], SOP, now, "bench.csv")
        assert not result.problems, result.problems[:3]
    if not store.sqlite:  # statistics for the planner, as autovacuum gathers them
        with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    store.close()


# --------------------------------------------------------------------------- remind


class Counting:
    """An aiosmtpd handler that counts what it accepts."""

    def __init__(self) -> None:
        self.messages: Counter[str] = Counter()
        self.bytes: Counter[str] = Counter()
        self.largest = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        size = len(envelope.content)
        with self.lock:
            for to in envelope.rcpt_tos:
                self.messages[to] += 1
                self.bytes[to] += size
            self.largest = max(self.largest, size)
        await asyncio.sleep(0)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def bench_remind(args: argparse.Namespace) -> None:
    from aiosmtpd.controller import Controller
    from click.testing import CliRunner

    from sopgen.cli import cli

    os.environ["SOPGEN_NOW"] = NOW
    os.environ.pop("SOPGEN_DATABASE_URL", None)
    handler = Counting()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with tempfile.TemporaryDirectory(prefix="sopgen-bench-") as tmp:
            root = Path(tmp) / "repo"
            project(
                root,
                f"smtp: {{host: 127.0.0.1, port: {port}, security: none, "
                '"from": "desk@example.com"}\n'
                "reminders:\n  base_url: https://desk.example.com/\n",
            )
            started = time.perf_counter()
            fill(root, None, args.cases, args.history)
            print(
                f"setup: {args.cases:,} open cases of {SOP}, received over the last "
                f"{BACKLOG.days} days{' as history' if args.history else ''}, half to alice: "
                f"{time.perf_counter() - started:.1f} s {load()}",
                flush=True,
            )
            started = time.perf_counter()
            result = CliRunner().invoke(cli, ["--root", str(root), "remind", "--once"])
            elapsed = time.perf_counter() - started
            if result.exit_code != 0:
                sys.exit(f"remind failed ({result.exit_code}): {result.output[-2000:]}")
            summary = result.stderr.strip().splitlines()[-1] if result.stderr else ""
    finally:
        controller.stop()
    total = sum(handler.messages.values())
    size = sum(handler.bytes.values())
    print(
        f"first `remind --once`: {elapsed:.1f} s, {total:,} messages, {size / 1e6:.2f} MB {load()}"
    )
    print(f"  {summary}")
    for to in sorted(handler.messages):
        print(f"  to {to}: {handler.messages[to]:,} messages, {handler.bytes[to] / 1e3:,.0f} kB")
    print(f"  largest message: {handler.largest / 1e3:,.0f} kB (target: under 200 kB)")
    most = max(handler.messages.values(), default=0)
    print(f"  at most one message per person: {'met' if most <= 1 else 'NOT met'} ({most} max)")


# --------------------------------------------------------------------------- desk


def rss(pid: int) -> tuple[float, float]:
    """The resident memory of `pid` and its peak, in MiB."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def signed_in(base: str, login: str) -> Any:
    import httpx

    client = httpx.Client(base_url=base, timeout=120, headers={"Accept-Encoding": "identity"})
    page = client.get("/signin")
    match = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert match, "no CSRF field on the sign-in page"
    done = client.post(
        "/signin", data={"login": login, "password": PASSWORD, "csrf": match.group(1)}
    )
    assert done.status_code == 303, done.text[:500]
    return client


def feed_token(root: Path, url: str | None, login: str) -> str:
    from sopgen.cases.service.secretkey import SecretKey
    from sopgen.cases.service.users import UserService
    from sopgen.cases.store.tables import Store

    store = Store(url) if url else Store.for_project(root, None, {})
    try:
        token = UserService(store, SecretKey(root)).issue_tokens(login).feed_token
    finally:
        store.close()
    assert token is not None
    return token


def serve(root: Path, url: str | None) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "SOPGEN_NOW": NOW}
    env.pop("SOPGEN_DATABASE_URL", None)
    if url:
        env["SOPGEN_DATABASE_URL"] = url
    command = [sys.executable, "-m", "sopgen", "--root", str(root), "serve", "--port", str(port)]
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            pass
        if time.monotonic() > deadline or server.poll() is not None:
            server.kill()
            sys.exit("the desk did not start: " + (server.stderr.read() or b"").decode()[-2000:])  # type: ignore[union-attr]
        time.sleep(0.1)
    return server, f"http://127.0.0.1:{port}"


def measure(root: Path, url: str | None, cases: int, rounds: int, label: str) -> bool:
    started = time.perf_counter()
    fill(root, url, cases, False)
    print(
        f"\n== {label}: {cases:,} open cases, half alice's: setup "
        f"{time.perf_counter() - started:.0f} s {load()}",
        flush=True,
    )
    token = feed_token(root, url, "alice")
    server, base = serve(root, url)
    ok = True
    try:
        alice, mia = signed_in(base, "alice"), signed_in(base, "mia")
        plan = [
            ("Cases (/cases)", mia, "/cases"),
            ("My work (/, alice)", alice, "/"),
            ("dashboard", mia, "/dashboard"),
            ("alice's feed", alice, f"/feeds/{token}.ics"),
        ]
        print(f"server at start: {rss(server.pid)[0]:.0f} MiB")
        for name, client, path in plan:
            times = []
            size = 0
            for _ in range(rounds):
                start = time.perf_counter()
                answer = client.get(path)
                times.append(time.perf_counter() - start)
                assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])
                size = len(answer.content)
            now, peak = rss(server.pid)
            events = answer.content.count(b"BEGIN:VEVENT")
            met = max(times[1:] or times) <= 0.3 and peak <= 300
            ok = ok and met
            print(
                f"{name}: first {times[0] * 1000:,.0f} ms, then slowest "
                f"{max(times[1:] or times) * 1000:,.0f} ms; {size / 1e6:.2f} MB"
                + (f", {events:,} events" if events else "")
                + f"; server {now:.0f} MiB (peak {peak:.0f}) "
                + f"[≤ 300 ms, ≤ 300 MiB: {'met' if met else 'NOT met'}] {load()}",
                flush=True,
            )
        alice.close()
        mia.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    return ok


def bench_desk(args: argparse.Namespace) -> None:
    os.environ["SOPGEN_NOW"] = NOW
    os.environ.pop("SOPGEN_DATABASE_URL", None)
    with tempfile.TemporaryDirectory(prefix="sopgen-bench-") as tmp:
        root = Path(tmp) / "repo"
        project(root)
        if not args.postgres:
            measure(root, None, args.cases, args.rounds, "SQLite")
            return
        from dbkit import Cluster, Server, _pg_bin

        bin_dir = _pg_bin()
        if bin_dir is None:
            sys.exit("no PostgreSQL binaries: apt-get install postgresql")
        cluster = Cluster(bin_dir)
        cluster.start()
        try:
            server = Server(cluster.url(), cluster)
            url = server.new_database()
            measure(
                root,
                url.render_as_string(hide_password=False),
                args.cases,
                args.rounds,
                "PostgreSQL",
            )
        finally:
            cluster.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parts = parser.add_subparsers(dest="part", required=True)
    remind = parts.add_parser("remind", help="the first reminder run after a backlog import")
    remind.add_argument("--cases", type=int, default=2000)
    remind.add_argument("--history", action="store_true", help="import the cases as history")
    desk = parts.add_parser("desk", help="the desk's pages and a feed over many cases")
    desk.add_argument("--cases", type=int, default=10_000)
    desk.add_argument("--rounds", type=int, default=3)
    desk.add_argument("--postgres", action="store_true", help="a throwaway PostgreSQL cluster")
    args = parser.parse_args()
    if args.part == "remind":
        bench_remind(args)
    else:
        bench_desk(args)


if __name__ == "__main__":
    main()
