"""Load on the desk's calendar feeds: many calendar clients polling one `sopgen serve`.

Sets up a temporary copy of the example library with USERS users of 40 open
cases each (SQLite), starts `sopgen serve` on 127.0.0.1, and prints:

- the time to serve one feed of 40 open cases over HTTP, one request at a
  time: its first fetch (the server renders the 40 cases) and later fetches;
- a load run: CLIENTS connections in a closed loop with zero think time
  (each sends its next request as soon as the last answer arrived) for
  SECONDS seconds, each request a feed of another user, sent as calendar
  clients send it (Accept-Encoding: gzip): requests per second, p50/p99
  latency, errors, and the CPU the server and the load client spent per
  request; with --conditional a second run whose requests carry the feed's
  ETag (If-None-Match, answered 304) as a subscribed client's do;
- the machine's load average before and after (the machine may be shared).

The load client is `wrk` (C; `apt-get install wrk`) when it is on PATH, else
a light asyncio HTTP/1.1 keep-alive client in a separate process (--client
python forces it); the output says which ran.

    python3 bench/bench_desk.py [--clients 50] [--seconds 20] [--users 50] [--cases 40]
                                [--workers 1] [--client auto|wrk|python] [--conditional]

Targets (issue 9): p99 < 100 ms with zero errors under 50 clients; one feed
of 40 open cases served in < 20 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NOW = "2026-11-23T10:00"
SOPS = ["SOP-CS-001", "SOP-CS-002", "SOP-CS-003"]


def setup(root: Path, users: int, cases: int) -> list[str]:
    """Users u000… with `cases` open cases each; returns their feed tokens."""
    from argon2 import PasswordHasher

    from sopgen.cases.model import ImportRow
    from sopgen.cases.service.caseservice import CaseService
    from sopgen.cases.service.secretkey import SecretKey
    from sopgen.cases.service.users import UserService
    from sopgen.cases.store.tables import Store
    from sopgen.cases.timestamps import parse_timestamp
    from sopgen.library import load_library

    shutil.copy(REPO / "sopgen.yaml", root / "sopgen.yaml")
    shutil.copytree(REPO / "sops", root / "sops")
    library = load_library(root, None)
    assert library.config is not None
    now = parse_timestamp(NOW, library.config.zone)
    store = Store.for_project(root, None, {})
    people = UserService(store, SecretKey(root))
    people._hasher = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)  # setup only
    service = CaseService(store, library)
    tokens = []
    for u in range(users):
        login = f"u{u:03d}"
        people.add(login, f"User {u}", "rep", "bench password 1", now)
        token = people.issue_tokens(login).feed_token
        assert token is not None  # derived from the secret key: always there for a new user
        tokens.append(token)
    for s, sop in enumerate(SOPS):
        rows = [
            ImportRow(
                line=i + 1,
                case_id=f"B-{s}-{i:05d}",
                # spread over 50 hours, each case its own time (a user's cases are i, i +
                # users, ...: with `i % 50` hours a user's 40 cases shared one received
                # time, and so their deadlines, which no real desk sees)
                received=now - timedelta(minutes=60 + (i * 37) % 3000),
                assignee=f"u{i % users:03d}",
                summary=None,
            )
            for i in range(users * cases)
            if i % len(SOPS) == s
        ]
        result = service.import_rows(rows, sop, now, "bench.csv")
        assert not result.problems, result.problems[:3]
    store.close()
    return tokens


def in_process_feed(root: Path, token: str, rounds: int = 20) -> dict[str, float]:
    """Medians, in seconds, of making one feed's body in process: rendering its cases
    (empty caches), and from their events rendered before (the body not kept); wall
    time and CPU time (the CPU figure hardly moves with the machine's load)."""
    from sopgen.desk.app import create_app
    from sopgen.desk.feeds import FeedCaches, feed_body, feed_state

    app = create_app(root)
    desk = app.state.desk
    times: dict[str, list[float]] = {"cold": [], "cold cpu": [], "warm": [], "warm cpu": []}
    for _ in range(rounds):
        caches = FeedCaches(desk.config)  # nothing rendered yet
        for kind in ("cold", "warm"):
            wall, cpu = time.perf_counter(), time.process_time()
            state = feed_state(desk, token)
            assert state is not None
            body = feed_body(desk, caches, state.name, state.versions, state.summary)
            times[kind].append(time.perf_counter() - wall)
            times[f"{kind} cpu"].append(time.process_time() - cpu)
            assert body.count(b"BEGIN:VEVENT") > 0
    desk.store.close()
    return {kind: statistics.median(values) for kind, values in times.items()}


# ----------------------------------------------------------------------------- load clients


@dataclass
class LoadResult:
    client: str
    requests: int
    seconds: float
    p50: float
    p99: float
    errors: int
    statuses: str  # what the answers were, for the reader
    cpu: float  # the load client's CPU seconds


WRK_SCRIPT = """-- rotates the users' feeds; written by bench/bench_desk.py
local paths = {%(paths)s}
local etags = {%(etags)s}
local n = %(offset)d
request = function()
  n = n + 1
  local i = (n %% #paths) + 1
  local headers = {["Accept-Encoding"] = "gzip"}
  if #etags > 0 then headers["If-None-Match"] = etags[i] end
  return wrk.format("GET", paths[i], headers)
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %%d %%d %%d %%d %%d %%d %%d %%d %%d\\n",
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


def lua_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def wrk_load(
    wrk: str, base: str, paths: list[str], etags: list[str], clients: int, seconds: float
) -> LoadResult:
    """wrk, one thread (the server has the other core), --latency percentiles."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(
            WRK_SCRIPT
            % {
                "paths": ",".join(lua_string(p) for p in paths),
                "etags": ",".join(lua_string(e) for e in etags),
                "offset": 0,
            }
        )
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        options = ["-t1", f"-c{clients}", f"-d{seconds:g}s", "--timeout", "10s", "--latency"]
        run = subprocess.run(
            [wrk, *options, "-s", script.name, f"{base}/"],
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        os.unlink(script.name)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = next(x for x in run.stdout.splitlines() if x.startswith("RESULT "))
    count, micros, connect, read, write, status, timeout, p50, p99 = map(int, line.split()[1:])
    errors = connect + read + write + status + timeout
    return LoadResult(
        client="wrk (C, 1 thread)",
        requests=count,
        seconds=micros / 1e6,
        p50=p50 / 1e6,
        p99=p99 / 1e6,
        errors=errors,
        statuses=f"non-2xx/3xx {status}, socket errors {connect + read + write}, "
        f"timeouts {timeout}",
        cpu=(after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime),
    )


async def _python_clients(
    host: str, port: int, paths: list[str], etags: list[str], clients: int, seconds: float
) -> dict[str, object]:
    latencies: list[float] = []
    errors = 0
    answers: dict[str, int] = {}
    stop = time.monotonic() + seconds

    async def client(n: int) -> None:
        nonlocal errors
        reader = writer = None
        i = n
        while time.monotonic() < stop:
            path = paths[i % len(paths)]
            extra = f"If-None-Match: {etags[i % len(paths)]}\r\n" if etags else ""
            i += clients
            request = (
                f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
                f"Accept-Encoding: gzip\r\n{extra}\r\n"
            ).encode("ascii")
            start = time.perf_counter()
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(host, port)
                assert reader is not None
                writer.write(request)
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
                status = int(head[9:12])
                length = 0
                for header in head.split(b"\r\n")[1:]:
                    name, _, value = header.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                body = await asyncio.wait_for(reader.readexactly(length), 10)
                ok = status == 304 or (status == 200 and body[:2] == b"\x1f\x8b")
                answers[str(status)] = answers.get(str(status), 0) + 1
            except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError):
                ok = False
                if writer is not None:
                    writer.close()
                reader = writer = None
            latencies.append(time.perf_counter() - start)
            errors += not ok
        if writer is not None:
            writer.close()

    started = time.monotonic()
    await asyncio.gather(*(client(n) for n in range(clients)))
    took = time.monotonic() - started
    latencies.sort()
    count = len(latencies)
    return {
        "requests": count,
        "seconds": took,
        "p50": latencies[count // 2] if count else 0.0,
        "p99": latencies[min(count - 1, int(count * 0.99))] if count else 0.0,
        "errors": errors,
        "statuses": ", ".join(f"{k}: {v}" for k, v in sorted(answers.items())),
    }


def python_load(
    base: str, paths: list[str], etags: list[str], clients: int, seconds: float
) -> LoadResult:
    """The asyncio client in a process of its own (so its CPU is counted apart)."""
    host, port = base.removeprefix("http://").split(":")
    spec = {"host": host, "port": int(port), "paths": paths, "etags": etags}
    spec |= {"clients": clients, "seconds": seconds}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    run = subprocess.run(
        [sys.executable, __file__, "--_load-client", json.dumps(spec)],
        capture_output=True,
        text=True,
        check=True,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    got = json.loads(run.stdout)
    return LoadResult(
        client="python (asyncio HTTP/1.1 keep-alive, own process)",
        requests=got["requests"],
        seconds=got["seconds"],
        p50=got["p50"],
        p99=got["p99"],
        errors=got["errors"],
        statuses=f"answers {got['statuses']}",
        cpu=(after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime),
    )


def run_load_client(spec_text: str) -> None:
    spec = json.loads(spec_text)
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover - the plain asyncio loop does too
        pass
    result = asyncio.run(
        _python_clients(
            spec["host"],
            spec["port"],
            spec["paths"],
            spec["etags"],
            spec["clients"],
            spec["seconds"],
        )
    )
    print(json.dumps(result))


# ----------------------------------------------------------------------------- the server


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a process and its living descendants (uvicorn's
    worker processes with --workers)."""
    tick = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    used: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        used[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
    family = {pid}
    grew = True
    while grew:
        grew = False
        for child, parent in parents.items():
            if parent in family and child not in family:
                family.add(child)
                grew = True
    return sum(used.get(p, 0.0) for p in family)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def load_average() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.1f} (5-min {five:.1f})"


@dataclass
class OneAtATime:
    """Each feed fetched twice, one request at a time (seconds; CPU of the server)."""

    first: list[float]  # each user's first fetch: the server renders the user's cases
    again: list[float]  # a later fetch: the body kept
    first_cpu: float  # the server's CPU seconds per first fetch (users after the first)
    again_cpu: float  # ... per later fetch
    etags: list[str]


def one_at_a_time(port: int, paths: list[str], server: int) -> OneAtATime:
    """Each feed fetched twice, one request at a time on a keep-alive connection, gzip
    accepted: seconds of the first fetch (the server renders its cases), of a later
    one, the server's CPU per fetch of each round (its process tree, read from /proc
    between requests; the very first fetch of the new server is left out of the CPU
    figure, it is shown on its own), and each feed's gzip ETag."""
    first: list[float] = []
    again: list[float] = []
    etags = []
    cpu = {id(first): 0.0, id(again): 0.0}
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for rounds in (first, again):
        for n, path in enumerate(paths):
            before = tree_cpu(server)
            start = time.perf_counter()
            connection.request("GET", path, headers={"Accept-Encoding": "gzip"})
            answer = connection.getresponse()
            body = answer.read()
            rounds.append(time.perf_counter() - start)
            if n or rounds is again:
                cpu[id(rounds)] += tree_cpu(server) - before
            if answer.status != 200 or body[:2] != b"\x1f\x8b":
                raise SystemExit(f"{path}: HTTP {answer.status}, not a gzipped feed")
            if rounds is first:
                etags.append(answer.getheader("etag") or "")
    connection.close()
    return OneAtATime(
        first,
        again,
        cpu[id(first)] / max(len(paths) - 1, 1),
        cpu[id(again)] / len(paths),
        etags,
    )


def report_load(label: str, result: LoadResult, server_cpu: float, workers: int) -> None:
    count = max(result.requests, 1)
    print(
        f"load, {label}: {result.requests} requests in {result.seconds:.1f} s = "
        f"{result.requests / result.seconds:.0f} req/s, p50 {ms(result.p50)}, "
        f"p99 {ms(result.p99)}, errors {result.errors} ({result.statuses})"
    )
    print(
        f"  CPU per request: server {ms(server_cpu / count)} ({workers} worker process"
        f"{'es' if workers > 1 else ''}), load client {ms(result.cpu / count)}"
    )


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--_load-client":
        run_load_client(sys.argv[2])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--cases", type=int, default=40)
    parser.add_argument("--workers", type=int, default=1, help="sopgen serve --workers")
    parser.add_argument(
        "--client",
        choices=["auto", "wrk", "python"],
        default="auto",
        help="the load client: wrk when installed (auto), or the asyncio one",
    )
    parser.add_argument(
        "--conditional",
        action="store_true",
        help="a second load run whose requests send If-None-Match (unchanged feeds: 304)",
    )
    args = parser.parse_args()
    wrk = shutil.which("wrk")
    if args.client == "wrk" and wrk is None:
        raise SystemExit("wrk is not installed: apt-get install wrk (or --client python)")
    if args.client == "python":
        wrk = None
    os.environ["SOPGEN_NOW"] = NOW
    os.environ.pop("SOPGEN_DATABASE_URL", None)
    print(f"machine: {os.cpu_count()} CPUs, load average {load_average()} at the start")
    if wrk is None and args.client == "auto":
        print("load client: wrk not found (apt-get install wrk); using the python client")
    with tempfile.TemporaryDirectory(prefix="sopgen-bench-desk-") as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        tokens = setup(root, args.users, args.cases)
        print(
            f"setup: {args.users} users × {args.cases} open cases "
            f"in {time.perf_counter() - started:.1f} s"
        )
        made = in_process_feed(root, tokens[0])
        print(
            f"in process, one feed of {args.cases} open cases: {ms(made['cold'])} "
            f"(CPU {ms(made['cold cpu'])}) rendering its cases, {ms(made['warm'])} "
            f"(CPU {ms(made['warm cpu'])}) from their events rendered before (medians)"
        )
        port = free_port()
        command = [sys.executable, "-m", "sopgen", "--root", str(root), "serve"]
        command += ["--port", str(port), "--workers", str(args.workers)]
        server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        base = f"http://127.0.0.1:{port}"
        paths = [f"/feeds/{token}.ics" for token in tokens]
        runs: list[tuple[str, LoadResult, float]] = []
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=1):
                        break
                except OSError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the desk did not start")
                time.sleep(0.1)
            fetched = one_at_a_time(port, paths, server.pid)
            first, again, etags = fetched.first, fetched.again, fetched.etags
            firsts = first[1:] or first  # the new server's very first request apart
            print(
                f"one feed of {args.cases} open cases over HTTP (gzip, one request at a time, "
                f"{len(paths)} users):"
            )
            print(
                f"  first fetch (the server renders the user's cases): median "
                f"{ms(statistics.median(firsts))} (server CPU {ms(fetched.first_cpu)} a "
                f"fetch), slowest {ms(max(firsts))}; target < 20 ms: "
                f"{'met' if statistics.median(firsts) < 0.02 else 'NOT met'}"
            )
            print(
                f"  the new server's very first request: {ms(first[0])} "
                f"(target < 20 ms: {'met' if first[0] < 0.02 else 'NOT met'})"
            )
            print(
                f"  later fetches (the body kept): median {ms(statistics.median(again))} "
                f"(server CPU {ms(fetched.again_cpu)} a fetch)"
            )
            print(
                f"load client: {'wrk' if wrk else 'python'}; {args.clients} clients in a "
                "closed loop, zero think time, each request another user's feed, gzip"
            )
            plans = [("plain GETs", [])]
            if args.conditional:
                plans.append(("GETs with If-None-Match (304)", etags))
            for label, tags in plans:
                cpu = tree_cpu(server.pid)
                if wrk:
                    result = wrk_load(wrk, base, paths, tags, args.clients, args.seconds)
                else:
                    result = python_load(base, paths, tags, args.clients, args.seconds)
                cpu = tree_cpu(server.pid) - cpu
                runs.append((f"{args.clients} clients, {label}", result, cpu))
        finally:
            server.terminate()
            server.wait(timeout=10)
        for label, result, server_cpu in runs:
            report_load(label, result, server_cpu, args.workers)
        print("targets: p99 < 100 ms and 0 errors under load; one feed served in < 20 ms")
        print(f"machine: load average {load_average()} at the end (other work shares the CPUs)")


if __name__ == "__main__":
    main()
