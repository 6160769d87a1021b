"""Schema migrations: new stores, stores made by sopgen 0.1, and stores from the future.

The fixture `sopgen-0.1-cases.sql` is a dump of a store that sopgen 0.1 made
(two cases, one step done); `sopgen-0.1-case-show.json` is what 0.1 printed
for `case show C-2026-0001 --format json`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner

from casekit import (  # noqa: F401 - `project`
    FIXTURES,
    Project,
    legacy_store,
    make_project,
    project_fixture,
)
from dbkit import CaseDb
from sopgen.cases import migrate
from sopgen.cases.errors import CaseError
from sopgen.cases.store import SCHEMA_HEAD, Base, Store
from sopgen.cli import cli

NOW = "2026-11-23T10:00"


def sopgen(root: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--root", str(root), *args], env={"SOPGEN_NOW": NOW})
    return result.exit_code, result.stdout, result.stderr


def test_the_migrations_have_one_head_and_the_store_names_it():
    heads = migrate.script().get_heads()
    assert len(heads) == 1, (
        f"the migrations have several heads {heads}: set down_revision of your new revision "
        "to the revision it follows (README: How to add a schema change)"
    )
    assert heads[0] == SCHEMA_HEAD, "set SCHEMA_HEAD in sopgen/cases/store.py to the new head"


def test_the_newest_revision_makes_exactly_the_tables_the_code_uses(case_db: CaseDb):
    store = Store(case_db.url)
    migrate.upgrade(store)
    with store.engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata
        )
    store.close()
    assert diff == [], "models and migrations differ: add a revision (README)"


def test_a_new_database_is_made_on_first_use(project: Project):
    code, out, err = sopgen(project.root, "case", "list")
    assert code == 0, err
    code, out, _ = sopgen(project.root, "db", "status")
    assert code == 0
    assert f"schema revision: {SCHEMA_HEAD}" in out


def test_a_store_made_by_sopgen_0_1_is_refused_until_upgraded_then_keeps_its_cases(
    project: Project,
):
    legacy_store(project)

    code, _, err = sopgen(project.root, "case", "list")
    assert code == 1
    assert "earlier sopgen" in err and "sopgen db upgrade" in err
    assert "Traceback" not in err
    code, out, _ = sopgen(project.root, "db", "status")
    assert code == 1 and "sopgen 0.1" in out

    code, out, err = sopgen(project.root, "db", "upgrade")
    assert code == 0, err
    assert f"→ {SCHEMA_HEAD}" in out
    code, out, _ = sopgen(project.root, "db", "upgrade")
    assert code == 0 and "nothing to do" in out

    code, out, err = sopgen(project.root, "case", "show", "C-2026-0001", "--format", "json")
    assert code == 0, err
    shown = json.loads(out)
    assert shown.pop("holds") == [] and shown.pop("on_hold") is False  # added after 0.1
    assert shown.pop("priority") == "normal" and shown.pop("priorities") == []
    assert shown.pop("cancelled") is None and shown.pop("cancel_reason") is None  # after 0.1
    printed_by_0_1 = json.loads((FIXTURES / "sopgen-0.1-case-show.json").read_text())
    receive = printed_by_0_1["steps"][0]  # due 09:00, done 09:30: 0.1 had no done-late
    assert receive["status"] == "done" and receive["done"] > receive["due"]
    receive["status"] = "done-late"
    assert shown == printed_by_0_1
    code, out, err = sopgen(project.root, "case", "list", "--format", "json")
    assert {c["case"] for c in json.loads(out)} == {"C-2026-0001", "C-2026-0002"}
    # the store works on: a step done after the upgrade is recorded like any other
    code, out, err = sopgen(project.root, "case", "done", "C-2026-0001", "record")
    assert code == 0, err
    # its events keep the UIDs 0.1 published (re-importing updates them); a new case's
    # UIDs carry the installation id the upgrade made
    ics = (project.root / "output/cases/C-2026-0001/deadlines.ics").read_text()
    assert "UID:C-2026-0001.intake.record@sopgen\n" in ics
    assert sopgen(project.root, "case", "open", "C-NEW", "--sop", "SOP-CS-001")[0] == 0
    [(installation,)] = project.sql("SELECT value FROM sopgen_meta WHERE key = 'installation_id'")
    new = (project.root / "output/cases/C-NEW/deadlines.ics").read_text()
    assert f"UID:C-NEW.intake.record@{installation}.sopgen\n" in new
    # sopgen 0.1 refuses any store whose sopgen_meta.schema_version is above 1
    assert project.sql("SELECT value FROM sopgen_meta WHERE key = 'schema_version'") == [("3",)]
    if project.kind == "postgresql":  # 0.1's timestamp columns are timestamptz now
        kinds = project.sql(
            "SELECT DISTINCT data_type FROM information_schema.columns "
            "WHERE table_schema = 'public' AND data_type LIKE 'timestamp%'"
        )
        assert kinds == [("timestamp with time zone",)]


def test_a_store_at_an_older_revision_asks_for_an_upgrade(case_db: CaseDb):
    store = Store(case_db.url)
    migrate.upgrade(store, target="0001")
    store.close()
    with (
        pytest.raises(CaseError, match="has schema revision 0001") as info,
        Store(store.url).read(),
    ):
        pass
    assert "sopgen db upgrade" in (info.value.hint or "")
    assert migrate.upgrade(Store(store.url)) == ("0001", SCHEMA_HEAD)


def test_a_store_from_a_newer_sopgen_is_refused_and_left_alone(project: Project):
    assert sopgen(project.root, "case", "list")[0] == 0
    project.execute("UPDATE alembic_version SET version_num = 'f00dfeed'")
    for command in (["case", "list"], ["db", "upgrade"], ["db", "status"]):
        code, _, err = sopgen(project.root, *command)
        assert code == 1, command
        assert "f00dfeed" in err or "newer sopgen" in err
        assert "upgrade sopgen" in err and "Traceback" not in err
    assert project.sql("SELECT version_num FROM alembic_version") == [("f00dfeed",)]


def test_upgrade_sql_prints_the_ddl_without_touching_the_database(tmp_path: Path):
    project = make_project(tmp_path / "repo")
    code, out, err = sopgen(project.root, "db", "upgrade", "--sql")
    assert code == 0, err
    assert "CREATE TABLE cases" in out and "alembic_version" in out
    assert not (project.root / ".sopgen" / "cases.db").exists()


def test_a_bad_database_url_is_a_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    project = make_project(tmp_path / "repo")
    monkeypatch.setenv("SOPGEN_DATABASE_URL", "sqlite:////proc/nope/cases.db")
    code, _, err = sopgen(project.root, "db", "upgrade")
    assert code == 1
    assert "sopgen: error:" in err and "Traceback" not in err


def test_a_store_of_the_desks_first_version_is_stamped_at_its_revision(project: Project):
    # the desk's first version on main (before migrations) wrote schema_version 2 and
    # made its tables with the models; such a store upgrades without recreating them.
    # It is 0.1's store (the real dump) with revision 0002's tables, and no alembic_version.
    legacy_store(project)
    migrate.upgrade(Store(project.url), target="0002")
    project.execute(
        "DROP TABLE alembic_version",
        "UPDATE sopgen_meta SET value = '2' WHERE key = 'schema_version'",
        "INSERT INTO users (login, name, role, password_hash, disabled, created_at) "
        "VALUES ('alice', 'Alice', 'rep', 'x', false, '2026-11-23 09:00:00+00')",
    )
    code, out, err = sopgen(project.root, "db", "upgrade")
    assert code == 0, err
    assert "0002 (schema version 2" in out
    code, out, _ = sopgen(project.root, "case", "list", "--format", "json")
    assert {c["case"] for c in json.loads(out)} == {"C-2026-0001", "C-2026-0002"}
    assert project.sql("SELECT login FROM users") == [("alice",)]
