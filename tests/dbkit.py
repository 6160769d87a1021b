"""The case databases the tests run against: SQLite and a real PostgreSQL server.

A pytest plugin (loaded with `-p dbkit`, see pyproject.toml):

- `postgres` (session): a throwaway PostgreSQL cluster made with Debian's
  binaries (`initdb` + `pg_ctl`, as the `postgres` user when run as root),
  listening only on a Unix socket in a temporary folder, fsync off; stopped
  and deleted at the end. With SOPGEN_TEST_POSTGRES_URL set (a URL of a
  server where this user may create databases), that server is used instead.
  It never touches a server already running on the machine.
- `case_db`: parametrised `sqlite` / `postgresql`; a fresh, empty database
  per test (on PostgreSQL a new database in the cluster, dropped after).

When PostgreSQL cannot be had, its tests are skipped with the reason in the
summary and a banner at the end of the run; with CI=true they fail instead.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

ENV_URL = "SOPGEN_TEST_POSTGRES_URL"
ENV_BIN = "SOPGEN_TEST_PG_BIN"
KINDS = ("sqlite", "postgresql")
_skipped: list[str] = []


def _pg_bin() -> Path | None:
    """The folder with initdb and pg_ctl: SOPGEN_TEST_PG_BIN, Debian's newest, or PATH."""
    if os.environ.get(ENV_BIN):
        return Path(os.environ[ENV_BIN])
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class Cluster:
    """A PostgreSQL cluster of our own in a temporary folder, reached by its Unix socket."""

    def __init__(self, bin_dir: Path, *, durable: bool = False):
        self.bin = bin_dir
        self.durable = durable  # fsync and synchronous commits on (benchmarks); off for tests
        self.home = Path(tempfile.mkdtemp(prefix="sopgen-pg-"))
        self.data = self.home / "data"
        self.socket = self.home / "sock"
        self.log = self.home / "server.log"
        self.port = 5432  # only names the socket file: the server listens on no TCP port
        self.as_postgres = os.geteuid() == 0  # initdb refuses to run as root
        self.running = False

    def _run(self, *args: str, timeout: float = 120) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(
                f"{' '.join(args[:1])} failed ({result.returncode}): "
                f"{result.stderr.strip() or result.stdout.strip()}\n{log}"
            )

    def start(self) -> None:
        self.socket.mkdir()
        if self.as_postgres:
            shutil.chown(self.home, "postgres", "postgres")
            shutil.chown(self.socket, "postgres", "postgres")
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        )
        options = f"-c listen_addresses='' -k {self.socket} -p {self.port} "
        if not self.durable:
            options += "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
        options += "-c max_connections=200 -c shared_buffers=64MB"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")
        self.running = True
        atexit.register(self.stop)  # also when the test run is interrupted

    def stop(self) -> None:
        if self.running:
            self.running = False
            with contextlib.suppress(Exception):
                self._run(
                    "pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", timeout=60
                )
        shutil.rmtree(self.home, ignore_errors=True)

    def url(self, database: str = "postgres") -> URL:
        return URL.create(
            "postgresql+psycopg",
            username="postgres",
            database=database,
            query={"host": str(self.socket), "port": str(self.port)},
        )


@dataclass
class Server:
    """A PostgreSQL server the tests may create and drop databases on."""

    admin_url: URL
    cluster: Cluster | None = None
    _counter: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def execute(self, sql: str) -> None:
        engine = create_engine(self.admin_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(text(sql))
        finally:
            engine.dispose()

    def new_database(self) -> URL:
        name = f"sopgen_test_{os.getpid()}_{next(self._counter)}"
        self.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        return self.admin_url.set(database=name)

    def drop_database(self, url: URL) -> None:
        self.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')


def _unavailable(reason: str) -> None:
    message = f"PostgreSQL tests cannot run: {reason}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message} (CI=true: PostgreSQL must not be skipped)", pytrace=False)
    _skipped.append(reason)
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgres() -> Iterator[Server]:
    """The PostgreSQL server for this test run (see the module's docstring)."""
    given = os.environ.get(ENV_URL)
    if given:
        yield Server(make_url(given))
        return
    bin_dir = _pg_bin()
    if bin_dir is None or not (bin_dir / "pg_ctl").exists():
        _unavailable("no initdb/pg_ctl found (apt-get install postgresql, or set " + ENV_URL + ")")
    assert bin_dir is not None
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        _unavailable("running as root without runuser to start the server as postgres")
    cluster = Cluster(bin_dir)
    try:
        cluster.start()
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        cluster.stop()
        _unavailable(f"the throwaway cluster did not start: {exc}")
    try:
        yield Server(cluster.url(), cluster)
    finally:
        cluster.stop()


@dataclass
class CaseDb:
    """One fresh, empty case database for a test."""

    kind: str
    url: str

    @property
    def postgres(self) -> bool:
        return self.kind == "postgresql"

    def rows(self, sql: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        engine = create_engine(self.url, poolclass=NullPool)
        try:
            with engine.connect() as conn:
                return [tuple(r) for r in conn.execute(text(sql), params or {})]
        finally:
            engine.dispose()

    def execute(self, *statements: str) -> None:
        engine = create_engine(self.url, poolclass=NullPool)
        try:
            with engine.begin() as conn:
                for sql in statements:
                    conn.execute(text(sql))
        finally:
            engine.dispose()

    def tables(self) -> list[str]:
        if self.postgres:
            found = self.rows(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
            )
        else:
            found = self.rows("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY 1")
        return [r[0] for r in found]

    def dump(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of every table, sorted: to prove that nothing changed."""
        return {t: sorted(self.rows(f'SELECT * FROM "{t}"'), key=repr) for t in self.tables()}

    def load_statements(self, statements: Sequence[str]) -> None:
        """Run SQL written for SQLite; on PostgreSQL with SQLite's DATETIME as TIMESTAMP."""
        if self.postgres:
            statements = [s.replace(" DATETIME", " TIMESTAMP") for s in statements]
        self.execute(*statements)


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


@pytest.fixture(params=KINDS)
def case_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CaseDb]:
    """A fresh, empty case database: once on SQLite, once on PostgreSQL."""
    if request.param == "sqlite":
        yield CaseDb("sqlite", sqlite_url(tmp_path / "repo" / ".sopgen" / "cases.db"))
        return
    server: Server = request.getfixturevalue("postgres")
    url = server.new_database()
    try:
        yield CaseDb("postgresql", url.render_as_string(hide_password=False))
    finally:
        server.drop_database(url)  # WITH (FORCE): connections a test left open go, too


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _skipped:
        terminalreporter.write_sep("!", "PostgreSQL was NOT tested", red=True, bold=True)
        terminalreporter.write_line(f"reason: {_skipped[0]}")
        terminalreporter.write_line(
            f"install postgresql (setup.sh does) or set {ENV_URL}; CI=true makes this a failure"
        )


@contextlib.contextmanager
def statements(engine: Any) -> Iterator[list[tuple[str, Any]]]:
    """The SQL statements run on `engine` inside the block, with their parameters
    (for the query-plan checks in tests/test_migrations.py and bench/bench_team.py)."""
    seen: list[tuple[str, Any]] = []

    def grab(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", grab)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", grab)
