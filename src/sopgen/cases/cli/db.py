"""`sopgen db …`: the case store's schema (upgrade, status) and portable copies."""

from __future__ import annotations

from typing import Any

import click

from sopgen.cases.cli.errors import reports_case_errors
from sopgen.cases.errors import CaseError
from sopgen.console import App, counted, fail, pass_app
from sopgen.files import DiskFullError, disk_full
from sopgen.problems import InputError

_errors = reports_case_errors


def _store(app: App) -> Any:
    """The project's store; only sopgen.yaml is read (a broken SOP must not block this)."""
    from sopgen.cases.store.tables import Store
    from sopgen.library import load_config

    config, problems = load_config(app.root)
    if config is None:
        raise InputError([p for p in problems if p.is_error])
    return Store.for_project(app.root, config.database)


@click.group()
def db() -> None:
    """The case database: schema upgrades and portable copies.

    The database is .sopgen/cases.db, or the one named by `database:` in
    sopgen.yaml or SOPGEN_DATABASE_URL (e.g. postgresql+psycopg://…).
    """


@db.command()
@click.option("--sql", is_flag=True, help="Print the SQL instead of running it (for a DBA).")
@pass_app
@_errors
def upgrade(app: App, sql: bool) -> None:
    """Bring the database's tables to this sopgen's schema (safe to run any time)."""
    from sopgen.cases.store import migrate

    store = _store(app)
    try:
        if sql:
            click.echo(migrate.upgrade_sql(store), nl=False)
            return
        before, after = migrate.upgrade(store)
    finally:
        store.close()
    if before == after:
        click.echo(f"{store.display}: schema already at revision {after}, nothing to do")
    elif before is None:
        click.echo(f"{store.display}: created the tables (schema revision {after})")
    else:
        click.echo(f"{store.display}: upgraded schema revision {before} → {after}")


@db.command()
@pass_app
@_errors
def status(app: App) -> None:
    """Show the database and its schema revision against this sopgen's."""
    from sopgen.cases.store import migrate

    store = _store(app)
    try:
        found = migrate.status(store)
    finally:
        store.close()
    click.echo(f"database: {found.url}")
    if found.empty:
        current = "none (empty; created on first use or by `sopgen db upgrade`)"
    elif found.legacy:
        current = "made before migrations, by sopgen 0.1 (run `sopgen db upgrade`)"
    else:
        current = found.current or "none"
    click.echo(f"schema revision: {current}")
    click.echo(f"this sopgen's: {found.head}")
    if found.current and not migrate.known(found.current):
        fail(
            "a newer sopgen wrote this database",
            "upgrade sopgen (pip install -U sopgen) rather than letting an older one change it",
        )
    if not found.up_to_date and not found.empty:
        raise SystemExit(1)


@db.command("export")
@click.argument(
    "file", metavar="FILE", default="-", type=click.Path(dir_okay=False, allow_dash=True)
)
@pass_app
@_errors
def export(app: App, file: str) -> None:
    """Write the cases, users, completions, SOP snapshots and reminders as JSON lines.

    FILE defaults to standard output. The copy loads into any database with
    `sopgen db import` (e.g. moving from SQLite to PostgreSQL).
    """
    import os
    import sys
    import tempfile
    from pathlib import Path

    from sopgen.cases.store.transfer import write_export
    from sopgen.clock import now

    store = _store(app)
    try:
        if file == "-":
            count = write_export(store, sys.stdout, now())
        else:
            target = Path(file)
            handle, temporary = tempfile.mkstemp(dir=target.parent or ".", prefix=".export-")
            try:
                with os.fdopen(handle, "w", encoding="utf-8") as out:
                    count = write_export(store, out, now())
                    out.flush()
                    os.fsync(out.fileno())  # on disk before the rename, as write_atomic does
                os.replace(temporary, target)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
    except OSError as exc:
        if disk_full(exc):
            full = DiskFullError(file)
            raise CaseError(full.message, full.hint) from None
        raise CaseError(f"cannot write {file}: {exc.strerror or exc}") from None
    finally:
        store.close()
    click.echo(f"exported {counted(count, 'row')} from {store.display}", err=True)


@db.command("import")
@click.argument("file", metavar="FILE", type=click.Path(dir_okay=False, allow_dash=True))
@pass_app
@_errors
def import_(app: App, file: str) -> None:
    """Load a `sopgen db export` file into an empty database (all of it or nothing)."""
    import sys

    from sopgen.cases.store.transfer import import_lines

    store = _store(app)
    try:
        if file == "-":
            counts = import_lines(store, sys.stdin, "<stdin>")
        else:
            try:
                with open(file, encoding="utf-8") as lines:
                    counts = import_lines(store, lines, file)
            except (OSError, UnicodeDecodeError) as exc:
                raise CaseError(
                    f"cannot read {file}: {getattr(exc, 'strerror', None) or exc}"
                ) from None
    finally:
        store.close()
    summary = ", ".join(f"{n} {t}" for t, n in counts.items())
    click.echo(f"imported into {store.display}: {summary or 'nothing'}")
