"""Schema migrations of the case store, through Alembic.

The revisions live in `sopgen/cases/store/migrations/versions/` inside the package,
so an installed sopgen finds them. `upgrade()` runs every revision a store
lacks in one transaction that first takes a lock, so two sopgens upgrading at
once run the migrations once, and a crash leaves the store as it was:

- SQLite: `BEGIN IMMEDIATE` (one writer at a time; DDL is transactional);
- PostgreSQL: `pg_advisory_xact_lock` (DDL is transactional there, too).

A store made before Alembic has no `alembic_version` but says its layout in
`sopgen_meta.schema_version`: 1 (sopgen 0.1) is revision 0001, 2 (the desk's
first version on main) is 0002. It is stamped so first, then upgraded like
any other.

Alembic is imported here only: everyday commands check the revision with one
query (`sopgen.cases.store.database`) and never pay for it.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from sopgen.cases.errors import CaseError

if TYPE_CHECKING:  # the store imports this module when its schema is off
    from sopgen.cases.store.database import Store

MIGRATIONS = Path(__file__).parent / "migrations"
LOCK_KEY = 0x50_6F_70_67  # any fixed number: the advisory lock sopgen's upgrades share
BEFORE_ALEMBIC = {"1": "0001", "2": "0002"}
"""`sopgen_meta.schema_version` of a store made before Alembic → its revision."""


def config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def script() -> ScriptDirectory:
    return ScriptDirectory.from_config(config())


def head() -> str:
    """The newest revision this sopgen knows (one head, or the tests fail)."""
    found = script().get_current_head()
    assert found is not None
    return found


def known(revision: str) -> bool:
    """Whether this sopgen's migrations contain `revision`."""
    try:
        return script().get_revision(revision) is not None
    except Exception:  # alembic raises several kinds for an unknown id
        return False


@dataclass(frozen=True)
class Status:
    url: str
    current: str | None  # None: no alembic_version (empty, or made by sopgen 0.1)
    legacy: bool  # made by sopgen 0.1, not yet stamped
    empty: bool
    head: str

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head


def status(store: Store) -> Status:
    """Where the store stands against this sopgen's migrations."""
    try:
        with store.engine.connect() as conn:
            current, legacy, empty = _state(conn)
            conn.rollback()
    except SQLAlchemyError as exc:
        raise _unusable(store, exc) from None
    return Status(store.display, current, legacy, empty, head())


def upgrade(store: Store, *, target: str = "heads") -> tuple[str | None, str]:
    """Bring the store to `target` (default: this sopgen's newest); (before, after).

    Refuses a store at a revision this sopgen does not know: a newer sopgen
    wrote it, and an older one must not change it.
    """
    try:
        with (
            store.engine.connect().execution_options(sopgen_write=True) as conn,
            conn.begin(),
        ):
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
            before, legacy, _empty = _state(conn)
            if before is not None and not known(before):
                raise newer_schema(store, before)
            cfg = config()
            cfg.attributes["connection"] = conn
            if legacy:
                before = _stamp_legacy(store, conn, cfg)
            command.upgrade(cfg, target)
            after, _legacy, _empty = _state(conn)
    except SQLAlchemyError as exc:
        raise _unusable(store, exc) from None
    return before, after or ""


def _stamp_legacy(store: Store, conn: Connection, cfg: Config) -> str:
    """Stamp a store made before Alembic with the revision its tables match."""
    version = conn.execute(
        text("SELECT value FROM sopgen_meta WHERE key = 'schema_version'")
    ).scalar_one_or_none()
    revision = BEFORE_ALEMBIC.get(str(version))
    if revision is None:
        raise CaseError(
            f"the case store {store.display} says schema version {version}, which no sopgen made",
            "restore it from a backup, or open a new store",
        )
    command.stamp(cfg, revision)
    return f"{revision} (schema version {version}, before migrations)"


def upgrade_sql(store: Store) -> str:
    """The SQL `upgrade` would run on an empty database of the store's kind (for DBAs)."""
    cfg = config()
    buffer = io.StringIO()
    cfg.output_buffer = buffer
    cfg.attributes["url"] = store.url.render_as_string(hide_password=False)
    command.upgrade(cfg, "heads", sql=True)
    return buffer.getvalue()


def newer_schema(store: Store, revision: str) -> CaseError:
    return CaseError(
        f"the case store {store.display} has schema revision {revision}, which this "
        f"sopgen does not know (it knows up to {head()}): a newer sopgen wrote it",
        "upgrade sopgen (pip install -U sopgen) rather than letting an older one change it",
    )


def _state(conn: Connection) -> tuple[str | None, bool, bool]:
    """(current revision, made by sopgen 0.1, empty) for an open connection."""
    tables = set(inspect(conn).get_table_names())
    if "alembic_version" in tables:
        heads = MigrationContext.configure(conn).get_current_heads()
        return (heads[0] if heads else None), False, False
    legacy = "cases" in tables and "sopgen_meta" in tables
    return None, legacy, not legacy and "cases" not in tables


def _unusable(store: Store, exc: SQLAlchemyError) -> CaseError:
    orig = getattr(exc, "orig", None) or exc
    return CaseError(
        f"cannot upgrade the case store {store.display}: {orig}",
        "check the database URL (SOPGEN_DATABASE_URL or database: in sopgen.yaml) and "
        "that this user may create and alter tables there",
    )
