"""The case store's schema revision and default place, without SQLAlchemy: a command
that reads the default SQLite file with the `sqlite3` module alone (`sopgen report`,
see `sopgen.cases.store.reportrows`) checks the revision here and imports nothing else of
the store."""

from __future__ import annotations

from pathlib import Path

BASELINE = "0001"
"""The Alembic revision matching the tables of sopgen 0.1."""
SCHEMA_HEAD = "0015"
"""The newest Alembic revision, which this sopgen reads and writes.

Set it to the id of each new revision in `migrations/versions/`; a test
checks that it names the one head there. Kept as a constant so that everyday
commands check the store with one query instead of loading Alembic.
"""

ENV_URL = "SOPGEN_DATABASE_URL"
DEFAULT_PATH = Path(".sopgen") / "cases.db"
BUSY_TIMEOUT_S = 60
"""How long a writer waits for another process's transaction before giving up."""
