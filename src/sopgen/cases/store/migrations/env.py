"""Alembic's environment for the case store.

`sopgen db upgrade` hands in an open connection that already holds the
migration lock (see `sopgen.cases.store.migrate`). Run from the `alembic` command
(for `alembic revision --autogenerate`, see docs/architecture.md "How to add a
schema change"), it connects to SOPGEN_DATABASE_URL, else `sqlalchemy.url` of the
ini file.
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy.engine import Connection

from sopgen.cases.store.tables import Base, Store

config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER much
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _url() -> str:
    url = os.environ.get("SOPGEN_DATABASE_URL") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("set SOPGEN_DATABASE_URL to the database to compare with")
    return url


given = config.attributes.get("connection")
if context.is_offline_mode():
    context.configure(
        url=config.attributes.get("url") or _url(),
        target_metadata=Base.metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()
elif given is not None:
    _run(given)
else:
    store = Store(_url())
    try:
        with store.engine.connect() as connection, connection.begin():
            _run(connection)
    finally:
        store.close()
