"""Schema migrations: new stores, stores made by sopgen 0.1, and stores from the future.

The fixture `sopgen-0.1-cases.sql` is a dump of a store that sopgen 0.1 made
(two cases, one step done); `sopgen-0.1-case-show.json` is what 0.1 printed
for `case show C-2026-0001 --format json`.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command as alembic
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import insert, select, text

from casekit import (  # noqa: F401 - `project`
    FIXTURES,
    Project,
    legacy_store,
    make_project,
    project_fixture,
)
from dbkit import CaseDb, statements
from sopgen.cases.errors import CaseError
from sopgen.cases.service.caseservice import CaseService
from sopgen.cases.store import migrate
from sopgen.cases.store.tables import SCHEMA_HEAD, Base, CasePriority, CaseRecord, Store
from sopgen.cli import cli
from sopgen.library import load_library

NOW = "2026-11-23T10:00"


def sopgen(root: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--root", str(root), *args], env={"SOPGEN_NOW": NOW})
    return result.exit_code, result.stdout, result.stderr


def test_the_migrations_have_one_head_and_the_store_names_it():
    heads = migrate.script().get_heads()
    assert len(heads) == 1, (
        f"the migrations have several heads {heads}: set down_revision of your new revision "
        "to the revision it follows (docs/architecture.md: How to add a schema change)"
    )
    assert heads[0] == SCHEMA_HEAD, (
        "set SCHEMA_HEAD in sopgen/cases/store/revision.py to the new head"
    )


def test_the_newest_revision_makes_exactly_the_tables_the_code_uses(case_db: CaseDb):
    store = Store(case_db.url)
    migrate.upgrade(store)
    with store.engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata
        )
    store.close()
    assert diff == [], "models and migrations differ: add a revision (docs/architecture.md)"


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
    # opened under 1.1, which 1.2 replaced (issue 20: the case says so; added after 0.1)
    assert shown.pop("governed") == "governed by version 1.1; 1.2 in force since 1 Nov 2026"
    assert shown.pop("cancelled") is None and shown.pop("cancel_reason") is None  # after 0.1
    # revision 0012 copied 0.1's one completion into the step history (who: not known)
    assert shown.pop("history") == [
        {
            "step": "intake.receive",
            "action": "done",
            "done": "2026-11-23T09:30:00+01:00",
            "recorded": "2026-11-23T10:00:00+01:00",
            "by": None,
            "via": "upgrade",
        }
    ]
    printed_by_0_1 = json.loads((FIXTURES / "sopgen-0.1-case-show.json").read_text())
    receive = printed_by_0_1["steps"][0]  # due 09:00, done 09:30: 0.1 had no done-late
    assert receive["status"] == "done" and receive["done"] > receive["due"]
    receive["status"] = "done-late"
    assert shown == printed_by_0_1
    code, out, err = sopgen(project.root, "case", "list", "--format", "json")
    assert {c["case"] for c in json.loads(out)} == {"C-2026-0001", "C-2026-0002"}
    # the dating rule holds for 0.1's cases: a hold may not reach back over the completion
    # 0.1 recorded, not even once it is reopened (the history remembers it)
    code, out, err = sopgen(project.root, "case", "reopen", "C-2026-0001", "receive")
    assert code == 0, err
    code, out, err = sopgen(project.root, "case", "hold", "C-2026-0001", "--at", "2026-11-23T09")
    assert code == 1 and "before step intake.receive was done" in err, err
    assert "reopened since" in err and "Traceback" not in err
    code, out, err = sopgen(
        project.root, "case", "done", "C-2026-0001", "receive", "--at", "2026-11-23T09:30"
    )
    assert code == 0, err
    code, out, err = sopgen(project.root, "case", "show", "C-2026-0001")
    assert "recorded before sopgen kept step history: who is not known" in out
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


# --------------------------------------------------------------------------- 0010


def indexes_of_cases(store: Store) -> dict[str, str]:
    """The indexes of `cases`: name → its definition as the database holds it."""
    if store.sqlite:
        sql = "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'cases'"
    else:
        sql = "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'cases'"
    with store.engine.connect() as conn:
        return {name: definition or "" for name, definition in conn.execute(text(sql))}


def downgrade(store: Store, target: str) -> None:
    with store.engine.connect() as conn, conn.begin():
        cfg = migrate.config()
        cfg.attributes["connection"] = conn
        alembic.downgrade(cfg, target)


def test_revision_0010_indexes_open_cases_by_deadline_and_downgrades(
    case_db: CaseDb, tmp_path: Path
):
    project = make_project(tmp_path / "repo")
    store = Store(case_db.url)
    service = CaseService(store, load_library(project.root))
    at = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    service.open("C-OPEN", "SOP-CS-001", at - timedelta(days=3), at)
    service.open("C-GONE", "SOP-CS-001", at - timedelta(days=3), at)
    service.cancel("C-GONE", "withdrawn", at)
    found = indexes_of_cases(store)
    assert "ix_cases_next_due" not in found and "ix_cases_open" not in found
    partial = found["ix_cases_open_next_due"]  # only open cases, by deadline
    assert re.search(r"WHERE \(?closed_at IS NULL\)?", partial), partial
    assert re.search(r"\(next_due, id\)", partial.replace('"', "")), partial
    closed = found["ix_cases_closed"]  # only closed cases, by when
    assert re.search(r"WHERE \(?closed_at IS NOT NULL\)?", closed), closed

    downgrade(store, "0009")
    found = indexes_of_cases(store)
    assert {"ix_cases_next_due", "ix_cases_open"} <= set(found)
    assert not {"ix_cases_open_next_due", "ix_cases_closed"} & set(found)
    assert store.schema_revision() == "0009"
    with pytest.raises(CaseError, match="has schema revision 0009"):
        CaseService(Store(case_db.url), load_library(project.root)).list_open(at)

    assert migrate.upgrade(Store(case_db.url)) == ("0009", SCHEMA_HEAD)
    assert set(indexes_of_cases(store)) >= {"ix_cases_open_next_due", "ix_cases_closed"}
    listed = CaseService(Store(case_db.url), load_library(project.root)).list_open(at, overdue=True)
    assert [s.case.id for s in listed] == ["C-OPEN"]
    store.close()


def test_lists_of_open_cases_read_the_index_in_order_without_sorting(
    case_db: CaseDb, tmp_path: Path
):
    # what `case list --overdue` and the desk run, on enough cases that the planner must
    # choose, with statistics: the index of open cases read in (next_due, id) order, no
    # sort of all of them (nearly unique closing times once made SQLite take an index on
    # closed_at for `closed_at IS NULL`, and sort)
    project = make_project(tmp_path / "repo")
    store = Store(case_db.url)
    service = CaseService(store, load_library(project.root))
    at = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    service.open("C-0", "SOP-CS-001", at - timedelta(days=3), at)
    with store.read() as session:
        [template] = session.execute(select(CaseRecord.__table__)).mappings().all()
    rows = []
    for i in range(1, 20_000):
        received = at - timedelta(minutes=i)
        closed = i % 10 < 7
        rows.append(
            {
                **template,
                "id": f"C-{i}",
                "folder": f"c-{i}",
                "received": received,
                "closed_at": at - timedelta(seconds=i) if closed else None,
                "next_due": None if closed else received + timedelta(hours=8),
            }
        )
    # a third of the open cases opened as critical, half of those back to normal later
    priorities = [
        {"case_id": f"C-{i}", "priority": priority, "since": at, "recorded_at": at}
        for i in range(7, 20_000, 10)
        for priority in (("critical", "normal") if i % 20 == 7 else ("critical",))
    ]
    with store.write() as session:
        session.execute(insert(CaseRecord), rows)
        session.execute(insert(CasePriority), priorities)
    with store.engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    explain = "EXPLAIN QUERY PLAN " if store.sqlite else "EXPLAIN "
    for call in (
        lambda: service.list_open(at, overdue=True, limit=50),  # case list --overdue
        lambda: service.list_open(at, limit=50),  # case list, the desk's lists
        lambda: service.list_open(at, due_within=timedelta(hours=4), limit=50),
        # the priority filter of `case list` and the desk on the priority most cases have:
        # still the index in order (for a rare one, PostgreSQL may rightly sort just those)
        lambda: service.list_open(at, priority="normal", limit=50),
    ):
        with statements(store.engine) as seen:
            assert len(call()) == 50
        [(sql, parameters)] = [(s, p) for s, p in seen if "ORDER BY cases.next_due" in s]
        with store.engine.connect() as conn:
            plan = "\n".join(
                str(row[-1]) for row in conn.exec_driver_sql(explain + sql, parameters)
            )
        assert "ix_cases_open_next_due" in plan, plan
        assert "Sort" not in plan and "TEMP B-TREE" not in plan, plan
    store.close()


# --------------------------------------------------------------------------- 0012


def test_revision_0012_seeds_the_step_history_from_completions_and_downgrades(
    case_db: CaseDb, tmp_path: Path
):
    # a store of the previous revision with a step done late: after the upgrade the
    # completion is in the history, so reopening the step does not let a hold reach
    # back over it (issue #11's dodge on a case opened before the history existed)
    project = make_project(tmp_path / "repo")
    store = Store(case_db.url)
    service = CaseService(store, load_library(project.root))
    zone = service.config.zone
    received = datetime(2026, 11, 20, 18, 5, tzinfo=zone)
    late = datetime(2026, 11, 22, 1, 21, tzinfo=zone)
    service.open("C-OLD", "SOP-CS-001", received, late)
    service.done("C-OLD", "record", late, late)
    service.done("C-OLD", "receive", received, late + timedelta(minutes=1))
    downgrade(store, "0011")
    with store.engine.connect() as conn:
        assert not conn.dialect.has_table(conn, "step_history")
    store.close()

    assert migrate.upgrade(Store(case_db.url)) == ("0011", SCHEMA_HEAD)
    service = CaseService(Store(case_db.url), load_library(project.root))
    history = service.show("C-OLD", late).history
    assert [(e.step, e.action, e.done_at, e.actor, e.via) for e in history] == [
        ("intake.record", "done", late, None, "upgrade"),  # recorded first
        ("intake.receive", "done", received, None, "upgrade"),
    ]
    later = late + timedelta(minutes=10)
    service.reopen("C-OLD", "record", later, actor="alice", via="cli")
    with pytest.raises(CaseError, match=r"reopened since\): that would change") as refused:
        service.hold("C-OLD", received + timedelta(minutes=5), later, "waiting")
    assert refused.value.people_hint and "give a time from" in refused.value.people_hint
    assert service.show("C-OLD", later).holds == ()
    service.store.close()
