"""Load on the desk's calendar feeds: many calendar clients polling one `sopgen serve`.

Sets up a temporary copy of the example library with USERS users of 40 open
cases each (SQLite), starts `sopgen serve` on 127.0.0.1, and lets CLIENTS
concurrent clients fetch the users' feeds for SECONDS seconds. Prints
requests per second, p50/p99 latency and the error count; then the time to
serve one feed of 40 open cases (in process, and over HTTP one at a time).

    python3 bench/bench_desk.py [--clients 50] [--seconds 20] [--users 50] [--cases 40]
                                [--workers 1]

Targets (issue 9): p99 < 100 ms with zero errors; one feed < 20 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NOW = "2026-11-23T10:00"


def setup(root: Path, users: int, cases: int) -> list[str]:
    """Users u000… with `cases` open cases each; returns their feed tokens."""
    from argon2 import PasswordHasher

    from sopgen.cases.model import ImportRow
    from sopgen.cases.secretkey import SecretKey
    from sopgen.cases.service import CaseService
    from sopgen.cases.store import Store
    from sopgen.cases.timestamps import parse_timestamp
    from sopgen.cases.users import UserService
    from sopgen.library import load_library

    shutil.copy(REPO / "sopgen.yaml", root / "sopgen.yaml")
    shutil.copytree(REPO / "sops", root / "sops")
    library = load_library(root, None)
    assert library.config is not None
    zone = library.config.zone
    now = parse_timestamp(NOW, zone)
    store = Store.for_project(root, None, {})
    people = UserService(store, SecretKey(root))
    people._hasher = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)  # setup only
    service = CaseService(store, library)
    tokens = []
    sops = ["SOP-CS-001", "SOP-CS-002", "SOP-CS-003"]
    for u in range(users):
        login = f"u{u:03d}"
        people.add(login, f"User {u}", "rep", "bench password 1", now)
        tokens.append(people.issue_tokens(login).feed_token)
    for s, sop in enumerate(sops):
        rows = [
            ImportRow(
                line=i + 1,
                case_id=f"B-{s}-{i:05d}",
                received=now - timedelta(hours=1 + i % 50),
                assignee=f"u{i % users:03d}",
                summary=None,
            )
            for i in range(users * cases)
            if i % len(sops) == s
        ]
        result = service.import_rows(rows, sop, now, "bench.csv")
        assert not result.problems, result.problems[:3]
    store.close()
    return tokens


def in_process_feed(root: Path, token: str, rounds: int = 30) -> tuple[list[float], list[float]]:
    """Seconds to answer one feed request in process: rendering every case (a cold
    cache), and with the cases' events already rendered (what a server mostly does)."""
    from sopgen.desk.app import create_app
    from sopgen.desk.feeds import RenderedCases, feed_body, feed_state

    app = create_app(root)
    desk = app.state.desk
    cold, warm = [], []
    for _ in range(rounds):
        cache = RenderedCases()
        start = time.perf_counter()
        state = feed_state(desk, token)
        assert state is not None
        name, _etag, versions = state
        body = feed_body(desk, cache, name, versions)
        cold.append(time.perf_counter() - start)
        assert body.count(b"BEGIN:VEVENT") > 0
        start = time.perf_counter()
        state = feed_state(desk, token)
        assert state is not None
        feed_body(desk, cache, state[0], state[2])
        warm.append(time.perf_counter() - start)
    desk.store.close()
    return cold, warm


async def load(
    base: str, tokens: list[str], clients: int, seconds: float, conditional: bool
) -> tuple[list[float], int]:
    import httpx

    latencies: list[float] = []
    errors = 0
    etags: dict[str, str] = {}
    stop = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=10) as http:

        async def client(n: int) -> None:
            nonlocal errors
            i = n
            while time.monotonic() < stop:
                url = f"/feeds/{tokens[i % len(tokens)]}.ics"
                i += clients
                headers = {"If-None-Match": etags[url]} if conditional and url in etags else {}
                start = time.perf_counter()
                try:
                    r = await http.get(url, headers=headers)
                    ok = r.status_code == 304 or (
                        r.status_code == 200 and r.content.startswith(b"BEGIN:VCALENDAR")
                    )
                    if conditional and r.status_code == 200:
                        etags[url] = r.headers["etag"]
                except httpx.HTTPError:
                    ok = False
                latencies.append(time.perf_counter() - start)
                errors += not ok

        await asyncio.gather(*(client(n) for n in range(clients)))
    return latencies, errors


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) a process has used so far; None where /proc has no answer."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--cases", type=int, default=40)
    parser.add_argument("--workers", type=int, default=1, help="sopgen serve --workers")
    parser.add_argument(
        "--conditional",
        action="store_true",
        help="clients send If-None-Match as calendar clients do (unchanged feeds: 304)",
    )
    args = parser.parse_args()
    os.environ["SOPGEN_NOW"] = NOW
    os.environ.pop("SOPGEN_DATABASE_URL", None)
    with tempfile.TemporaryDirectory(prefix="sopgen-bench-desk-") as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        tokens = setup(root, args.users, args.cases)
        print(
            f"setup: {args.users} users × {args.cases} open cases "
            f"in {time.perf_counter() - started:.1f} s"
        )
        cold, warm = in_process_feed(root, tokens[0])
        print(
            f"one feed of {args.cases} open cases, in process: "
            f"{ms(statistics.median(warm))} median with its cases' events rendered before, "
            f"{ms(statistics.median(cold))} rendering all ({len(cold)} rounds)"
        )
        port = free_port()
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "sopgen",
                "--root",
                str(root),
                "serve",
                "--port",
                str(port),
                "--workers",
                str(args.workers),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            import httpx

            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(base + "/signin", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the desk did not start")
                time.sleep(0.1)
            first, again = [], []
            with httpx.Client(base_url=base) as http:
                for token in tokens:  # every feed once: the server renders each case once
                    start = time.perf_counter()
                    http.get(f"/feeds/{token}.ics").raise_for_status()
                    first.append(time.perf_counter() - start)
                for token in tokens:
                    start = time.perf_counter()
                    http.get(f"/feeds/{token}.ics").raise_for_status()
                    again.append(time.perf_counter() - start)
            print(
                "one feed over HTTP, one at a time: first fetch median "
                f"{ms(statistics.median(first))}, later fetches median "
                f"{ms(statistics.median(again))}"
            )
            server_cpu = cpu_seconds(server.pid)
            client_cpu = time.process_time()
            latencies, errors = asyncio.run(
                load(base, tokens, args.clients, args.seconds, args.conditional)
            )
            client_cpu = time.process_time() - client_cpu
            server_after = cpu_seconds(server.pid)
            if server_cpu is not None and server_after is not None:
                server_cpu = server_after - server_cpu
        finally:
            server.terminate()
            server.wait(timeout=10)
        latencies.sort()
        count = len(latencies)
        p50 = latencies[count // 2]
        p99 = latencies[min(count - 1, int(count * 0.99))]
        print(
            f"load: {args.clients} clients for {args.seconds:.0f} s, {args.workers} worker(s)"
            f"{', conditional GETs' if args.conditional else ', plain GETs'}: "
            f"{count} requests, "
            f"{count / args.seconds:.0f} req/s, p50 {ms(p50)}, p99 {ms(p99)}, errors {errors}"
        )
        if server_cpu is not None and args.workers == 1:
            print(
                f"CPU per request: server {ms(server_cpu / max(count, 1))}, "
                f"these clients {ms(client_cpu / max(count, 1))} "
                "(on a busy machine the waits above are mostly for a CPU)"
            )
        print("targets: p99 < 100 ms, 0 errors; one feed < 20 ms")
        load1, _, _ = os.getloadavg()
        print(f"machine: {os.cpu_count()} CPUs, load average {load1:.1f} at the end")


if __name__ == "__main__":
    main()
