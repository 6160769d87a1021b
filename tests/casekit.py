"""Shared setup for the case tests: a temporary copy of the example library and a CLI runner.

Every test works on its own copy of `sopgen.yaml` and `sops/` with its own
case store, and a fixed clock (SOPGEN_NOW): Monday 23 Nov 2026 10:00 in Berlin.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from dbkit import CaseDb, sqlite_url
from icscheck import calendar_errors
from sopgen.cli import cli

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
NOW = "2026-11-23T10:00"
CASE = "C-2026-0042"
SOP = "SOP-CS-001"


@dataclass
class Project:
    root: Path
    runner: CliRunner
    database: CaseDb | None = None  # None: the default SQLite file, project.db

    def run(self, *args: str, now: str | None = None) -> Result:
        env = {"SOPGEN_NOW": now} if now else None
        return self.runner.invoke(cli, ["--root", str(self.root), "case", *args], env=env)

    def folder(self, case_id: str = CASE) -> Path:
        return self.root / "output" / "cases" / case_id

    @property
    def db(self) -> Path:
        """The default SQLite file (used when the project's database is SQLite)."""
        return self.root / ".sopgen" / "cases.db"

    @property
    def url(self) -> str:
        """The case database's URL, whichever kind the test runs on."""
        return self.database.url if self.database else sqlite_url(self.db)

    @property
    def kind(self) -> str:
        return self.database.kind if self.database else "sqlite"

    def sql(self, query: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        """Rows of a query on the case database (changes are committed)."""
        return CaseDb(self.kind, self.url).rows(query, params)

    def execute(self, *statements: str) -> None:
        CaseDb(self.kind, self.url).execute(*statements)

    @property
    def installation(self) -> str:
        """The store's installation id (in every calendar UID)."""
        [(value,)] = self.sql("SELECT value FROM sopgen_meta WHERE key = 'installation_id'")
        return str(value)

    def uid(self, case_id: str, step_key: str) -> str:
        """The UID of a step's calendar event in this project."""
        return f"{case_id}.{step_key}@{self.installation}.sopgen"

    def state(self) -> tuple[dict[str, bytes], dict[str, list[tuple[Any, ...]]] | None]:
        """Every output file and the store's rows: to prove that nothing changed."""
        output = self.root / "output"
        files = (
            {
                str(p.relative_to(self.root)): p.read_bytes()
                for p in output.rglob("*")
                if p.is_file()
            }
            if output.exists()
            else {}
        )
        if self.kind == "sqlite" and not self.db.exists():
            return files, None
        return files, CaseDb(self.kind, self.url).dump()


LEGACY_TABLES = ["sopgen_meta", "sop_snapshots", "cases", "completions", "calendar_events"]
"""sopgen 0.1's tables, in an order that satisfies their foreign keys."""


def legacy_store(project: Project) -> None:
    """The store sopgen 0.1 made, from a real dump of one (fixtures/sopgen-0.1-cases.sql:
    cases C-2026-0001 and C-2026-0002, one step done), on the project's database
    (PostgreSQL: 0.1's DDL there). Tables added since need no change here."""
    dump = (FIXTURES / "sopgen-0.1-cases.sql").read_text()
    statements = [
        s
        for s in dump.split(";\n")
        if s.strip() and s.strip() not in {"BEGIN TRANSACTION", "COMMIT", "COMMIT;"}
    ]

    def rank(statement: str) -> tuple[int, int]:
        found = re.match(r'(CREATE TABLE|INSERT INTO|CREATE INDEX \w+ ON) "?(\w+)"?', statement)
        assert found, statement
        kind = ["CREATE TABLE", "INSERT INTO"].index(found[1]) if "INDEX" not in found[1] else 2
        return kind, LEGACY_TABLES.index(found[2])

    if project.kind == "sqlite":
        project.db.parent.mkdir(parents=True, exist_ok=True)
    CaseDb(project.kind, project.url).load_statements(sorted(statements, key=rank))


def make_project(root: Path) -> Project:
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "sopgen.yaml", root / "sopgen.yaml")
    shutil.copytree(REPO / "sops", root / "sops")
    return Project(root, CliRunner())


@pytest.fixture(name="project")
def project_fixture(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case_db: CaseDb
) -> Iterator[Project]:
    """A project for one test, its cases on SQLite and once more on PostgreSQL (dbkit);
    afterwards every calendar file the test had sopgen write in it must pass libical
    and ical.js without a single error."""
    monkeypatch.setenv("SOPGEN_NOW", NOW)
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    if case_db.postgres:
        monkeypatch.setenv("SOPGEN_DATABASE_URL", case_db.url)
    else:
        monkeypatch.delenv("SOPGEN_DATABASE_URL", raising=False)
    project = make_project(tmp_path / "repo")
    project.database = case_db
    yield project
    errors = calendar_errors(project.root.rglob("*.ics"))
    assert not errors, "calendar files with errors:\n" + "\n".join(errors)
