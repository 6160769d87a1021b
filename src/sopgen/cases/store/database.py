"""The case database: where it is, how sopgen opens it, its transactions (SQLAlchemy Core;
the ORM models of its tables are in `sopgen.cases.store.tables`).

By default a SQLite file at `<root>/.sopgen/cases.db`, created on first use;
`database:` in sopgen.yaml or SOPGEN_DATABASE_URL (which wins) point it
elsewhere, e.g. a PostgreSQL server a team shares. Times are stored in UTC
(`timestamptz` on PostgreSQL, see `UTCDateTime`); the company zone is applied
by the callers.

The tables are made and changed by Alembic revisions only (`sopgen db
upgrade`); the models in `sopgen.cases.store.tables` must match the newest revision,
which a test checks. A new, empty database is brought to the newest revision
on first use, so the default SQLite file needs nothing; a store at an older
revision is refused with a hint to run `sopgen db upgrade`, one at a revision
this sopgen does not know (a newer sopgen wrote it) with a hint to upgrade
sopgen.

Every change is one transaction. On SQLite the file runs in WAL mode with a
busy timeout, and write transactions start with `BEGIN IMMEDIATE`, so two
processes changing cases at once wait for each other instead of failing or
losing an update; reads start deferred and never block behind a writer.
Writers first take turns on a lock file beside the database (`cases.db-lock`,
`flock`): they sleep in the kernel and are woken the moment the writer before
them is done. SQLite's own busy handler polls instead, every 100 ms, and a
writer behind several busy ones can lose every poll until its timeout runs
out (8 processes ticking steps at full speed had a few ticks refused).

No ORM here: a command that reads plain rows (`sopgen report`, `Store.plain_read`)
opens the store without importing `sqlalchemy.orm` and the models, which took a
fifth of a second at every start; `Store.read` and `write` import the ORM session
when first used.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, nullcontext, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    DateTime,
    Dialect,
    Engine,
    Select,
    create_engine,
    event,
    inspect,
    text,
)
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    IntegrityError,
    NoSuchModuleError,
    OperationalError,
)
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.types import TypeDecorator

from sopgen.cases.errors import CaseError
from sopgen.cases.store.revision import BUSY_TIMEOUT_S as BUSY_TIMEOUT_S
from sopgen.cases.store.revision import DEFAULT_PATH, ENV_URL, SCHEMA_HEAD

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

if sys.platform != "win32":
    import fcntl


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out.

    PostgreSQL stores `timestamptz`; SQLite, which has no such type, stores
    the UTC wall time as text.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("the case store takes aware datetimes only")
        utc = value.astimezone(UTC)
        return utc if dialect.name == "postgresql" else utc.replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# --------------------------------------------------------------------------- the store


def database_url(
    root: Path, configured: str | None, environ: Mapping[str, str] | None = None
) -> URL:
    """The store's URL: SOPGEN_DATABASE_URL, else `database:` of sopgen.yaml, else the default.

    A relative SQLite path is read relative to the repository root, so the
    store does not depend on the working directory.
    """
    env = os.environ if environ is None else environ
    text = env.get(ENV_URL) or configured
    if not text:
        return URL.create("sqlite", database=str((root / DEFAULT_PATH).resolve()))
    try:
        url = make_url(text)
    except ArgumentError:
        source = ENV_URL if env.get(ENV_URL) else "database: in sopgen.yaml"
        raise CaseError(
            f"{source} is not a database URL: '{text}'",
            "write an SQLAlchemy URL, e.g. sqlite:///.sopgen/cases.db or "
            "postgresql+psycopg://user@host/sopgen",
        ) from None
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        path = Path(url.database)
        if not path.is_absolute():
            url = url.set(database=str((root / path).resolve()))
    return url


class Store:
    """One case database. Use `write()` for changes and `read()` for queries."""

    def __init__(self, url: URL | str):
        self.url = make_url(url) if isinstance(url, str) else url
        self.display = self.url.render_as_string(hide_password=True)
        self.sqlite = self.url.get_backend_name() == "sqlite"
        self._engine: Engine | None = None
        self._checked = False
        self._installation: str | None = None
        self._compiled: dict[int, tuple[Select[Any], SQLCompiler]] = {}

    @classmethod
    def for_project(
        cls, root: Path, configured: str | None, environ: Mapping[str, str] | None = None
    ) -> Store:
        return cls(database_url(root, configured, environ))

    # ------------------------------------------------------------------ engine

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = self._connect()
        return self._engine

    def _connect(self) -> Engine:
        if self.sqlite and self.url.database and self.url.database != ":memory:":
            folder = Path(self.url.database).parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise CaseError(
                    f"cannot create the folder of the case store {self.display}: "
                    f"{exc.strerror or exc}",
                    "point SOPGEN_DATABASE_URL or database: in sopgen.yaml at a writable place",
                ) from None
        try:
            if self.sqlite:
                engine = create_engine(self.url, connect_args={"timeout": BUSY_TIMEOUT_S})
                _sqlite_transactions(engine)
            else:
                engine = create_engine(self.url, pool_pre_ping=True, **_server_options(self.url))
        except (NoSuchModuleError, ImportError) as exc:
            raise CaseError(
                f"cannot use the case store {self.display}: {exc}",
                "install the database driver the URL names, or use a sqlite:/// URL",
            ) from None
        return engine

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    # ------------------------------------------------------------------ transactions

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction (SQLite: `BEGIN IMMEDIATE`); committed when the block ends."""
        self._ensure_schema()
        with self._session(write=True) as session:
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only transaction; rolled back at the end."""
        self._ensure_schema()
        with self._session(write=False) as session:
            yield session

    @contextmanager
    def _session(self, *, write: bool) -> Iterator[Session]:
        turn = self._writer_turn() if write and self.sqlite else nullcontext()
        with turn, self._transaction(write=write) as session:
            yield session

    @contextmanager
    def _writer_turn(self) -> Iterator[None]:
        """Wait (at most BUSY_TIMEOUT_S) until no other writer of this SQLite file runs."""
        database = self.url.database
        if not database or database == ":memory:" or sys.platform == "win32":
            yield  # (Windows has no flock: SQLite's own lock only)
            return
        try:
            fd = os.open(f"{database}-lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        except OSError:  # a read-only folder: SQLite's own lock (and error) will do
            yield
            return
        turn = _lock_within(fd, BUSY_TIMEOUT_S)
        if turn is False:  # the waiting thread owns fd now and closes it
            raise CaseError(
                f"the case store {self.display} is busy: another sopgen has been changing it "
                f"for {BUSY_TIMEOUT_S} s; nothing was changed",
                "try again; if it stays busy, look for a sopgen process that hangs",
            )
        try:
            yield
        finally:
            os.close(fd)  # releases the lock

    @contextmanager
    def _transaction(self, *, write: bool) -> Iterator[Session]:
        try:
            from sqlalchemy.orm import Session  # only here: plain reads need no ORM

            with Session(self.engine, expire_on_commit=False, autoflush=True) as session:
                session.connection(execution_options={"sopgen_write": write})
                try:
                    yield session
                    if write:
                        session.commit()
                    else:
                        session.rollback()
                except BaseException:
                    session.rollback()
                    raise
        except IntegrityError:
            # only where the database does not serialise writers (not SQLite): another
            # process changed the same case between our check and our write
            raise CaseError(
                "another sopgen changed the same case at the same moment; nothing was changed",
                "run the command again",
            ) from None
        except OperationalError as exc:
            if _disk_full(exc):
                raise CaseError(
                    f"the disk is full: could not write the case store {self.display}; "
                    "nothing was changed",
                    "free some space on the disk that holds it, then run the command again",
                ) from None
            if _collided(exc):
                raise CaseError(
                    "another sopgen changed the same cases at the same moment "
                    "and the database stopped this change; nothing was changed",
                    "run the command again",
                ) from None
            raise CaseError(
                f"cannot use the case store {self.display}: {exc.orig or exc}",
                "check the database URL (SOPGEN_DATABASE_URL or database: in sopgen.yaml); "
                "if another sopgen is busy with the store, try again",
            ) from None

    @contextmanager
    def plain_read(self) -> Iterator[Connection]:
        """A read-only transaction on a Core connection, no ORM session: for statements
        that read many plain rows (`sopgen report`). Rolled back at the end. Rows come
        as the driver gives them when the statement declares no column types (`text`):
        read times with `time_reader()`; bind them as `UTCDateTime` parameters."""
        self._ensure_schema()
        try:
            with self.engine.connect().execution_options(sopgen_write=False) as conn:
                yield conn
                conn.rollback()
        except OperationalError as exc:
            raise CaseError(
                f"cannot use the case store {self.display}: {exc.orig or exc}",
                "check the database URL (SOPGEN_DATABASE_URL or database: in sopgen.yaml); "
                "if another sopgen is busy with the store, try again",
            ) from None

    def time_reader(self) -> Callable[[Any], datetime]:
        """What `UTCDateTime` reads from a time column (an aware UTC datetime), made from
        the driver's own value at less cost: SQLite gives the stored UTC text, read by
        `datetime.fromisoformat` in one C call."""
        if self.sqlite:
            return _sqlite_time
        return _server_time

    def compiled(self, statement: Select[Any]) -> SQLCompiler:
        """`statement` compiled for this store's database, once per process (`driver_rows`
        runs it; a server compiles its hot statements as it starts)."""
        kept = self._compiled.get(id(statement))
        if kept is None:
            compiled = statement.compile(dialect=self.engine.dialect)
            assert isinstance(compiled, SQLCompiler)
            kept = self._compiled[id(statement)] = (statement, compiled)
        return kept[1]

    def driver_rows(self, statement: Select[Any], params: Mapping[str, Any]) -> list[Any]:
        """The rows of one SELECT straight from the database driver, in the statement's
        own (implicit) transaction: no ORM session, no BEGIN/ROLLBACK round trips and
        no type conversion (SQLite gives times as text). For the hottest reads only
        (a calendar feed's lookup); compiled once per statement."""
        self._ensure_schema()
        query = self.compiled(statement)
        values = query.construct_params(params)
        if query.positiontup is not None:  # qmark/format drivers (sqlite3)
            args: Any = tuple(values[name] for name in query.positiontup)
        else:
            args = values
        driver_error = self.engine.dialect.loaded_dbapi.Error
        try:
            connection = self.engine.raw_connection()
            try:
                cursor = connection.cursor()
                try:
                    cursor.execute(query.string, args)
                    return list(cursor.fetchall())
                finally:
                    cursor.close()
            finally:
                connection.close()  # back to the pool, rolled back
        except (DBAPIError, driver_error) as exc:  # pragma: no cover - the database went away
            raise CaseError(
                f"cannot use the case store {self.display}: {exc}",
                "check the database URL (SOPGEN_DATABASE_URL or database: in sopgen.yaml)",
            ) from None

    @property
    def installation_id(self) -> str:
        """This store's random id (made by migration 0005), read once per process."""
        if self._installation is None:
            with self.read() as session:
                value = session.scalar(_INSTALLATION_ID)
            if not value:
                raise CaseError(
                    f"the case store {self.display} has no installation id",
                    "restore it from a backup, or open a new store",
                )
            self._installation = value
        return self._installation

    # ------------------------------------------------------------------ schema

    def schema_revision(self) -> str | None:
        """The Alembic revision written in the store, or None when it has none yet."""
        with self.engine.connect().execution_options(sopgen_write=False) as conn:
            revision = _revision(conn)
            conn.rollback()
        return revision

    def _ensure_schema(self) -> None:
        """Create the tables in an empty database; refuse one at another revision."""
        if self._checked:
            return
        try:
            with self.engine.connect().execution_options(sopgen_write=False) as conn:
                revision = _revision(conn)
                empty = revision is None and not inspect(conn).has_table("cases")
                conn.rollback()
        except OperationalError as exc:
            raise CaseError(
                f"cannot open the case store {self.display}: {exc.orig or exc}",
                "check the database URL (SOPGEN_DATABASE_URL or database: in sopgen.yaml) "
                "and that its folder is writable",
            ) from None
        if revision != SCHEMA_HEAD:
            from sopgen.cases.store import migrate  # Alembic only when something is off

            if empty:
                migrate.upgrade(self)
            elif revision is None:
                raise CaseError(
                    f"the case store {self.display} was made by an earlier sopgen "
                    "(before migrations) and needs an upgrade of its tables",
                    "back it up, then run: sopgen db upgrade",
                )
            elif migrate.known(revision):
                raise CaseError(
                    f"the case store {self.display} has schema revision {revision}; "
                    f"this sopgen needs {SCHEMA_HEAD}",
                    "back it up, then run: sopgen db upgrade",
                )
            else:
                raise migrate.newer_schema(self, revision)
        self._checked = True


def _lock_within(fd: int, timeout: float) -> bool | None:
    """Lock `fd` exclusively (flock), waiting at most `timeout` seconds: True when locked,
    None when the file system has no such locks (go on without), False after the timeout.

    The wait blocks in the kernel, in a helper thread so that it can be given up:
    a thread that gets the lock after its caller gave up releases it at once.
    """
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        pass
    except OSError:
        return None
    locked, guard = threading.Event(), threading.Lock()
    abandoned = False

    def wait() -> None:
        with suppress(OSError):  # (it worked a moment ago)
            fcntl.flock(fd, fcntl.LOCK_EX)
        with guard:
            if abandoned:
                os.close(fd)
            else:
                locked.set()

    threading.Thread(target=wait, name="sopgen-writer-turn", daemon=True).start()
    if locked.wait(timeout):
        return True
    with guard:
        if locked.is_set():
            return True
        abandoned = True
    return False


_INSTALLATION_ID = text("SELECT value FROM sopgen_meta WHERE key = 'installation_id'")


def _sqlite_time(value: str) -> datetime:
    return datetime.fromisoformat(value + "+00:00")


def _server_time(value: datetime) -> datetime:
    return value if value.tzinfo is UTC else value.astimezone(UTC)


def _disk_full(exc: OperationalError) -> bool:
    """SQLite's SQLITE_FULL, or PostgreSQL's disk_full (53100): no space to write."""
    return (
        getattr(exc.orig, "sqlite_errorcode", None) == 13  # SQLITE_FULL
        or getattr(exc.orig, "sqlstate", None) == "53100"
    )


def _collided(exc: OperationalError) -> bool:
    """A deadlock or serialization failure: two transactions wanted the same rows."""
    return getattr(exc.orig, "sqlstate", None) in {"40P01", "40001"}


def _revision(conn: Connection) -> str | None:
    """The store's Alembic revision, read with plain SQL (no Alembic import)."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    return ",".join(sorted(rows)) or None


def _server_options(url: URL) -> dict[str, Any]:
    """Sessions of a database server run in UTC, so every time is read the same way."""
    if url.get_backend_name() == "postgresql" and url.get_driver_name() == "psycopg":
        return {"connect_args": {"options": "-c timezone=UTC"}}
    return {}


def _sqlite_transactions(engine: Engine) -> None:
    """WAL, a busy timeout, foreign keys; sopgen issues BEGIN itself (IMMEDIATE for writes)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # no implicit BEGIN from the sqlite3 module
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_S * 1000}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        write = conn.get_execution_options().get("sopgen_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
