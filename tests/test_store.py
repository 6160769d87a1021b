"""The case store on SQLite and PostgreSQL: schema, UTC times, URLs, two processes at once."""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import sqlite3
import threading
import time
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from casekit import make_project
from dbkit import CaseDb
from sopgen.cases.errors import CaseError
from sopgen.cases.service.caseservice import CaseService
from sopgen.cases.store import database
from sopgen.cases.store.tables import (
    SCHEMA_HEAD,
    CaseRecord,
    Completion,
    EventState,
    Store,
    database_url,
)
from sopgen.library import load_library

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=BERLIN)
SOP = "SOP-CS-001"


def test_default_url_is_under_the_root_and_env_wins(tmp_path: Path):
    assert database_url(tmp_path, None, {}).database == str(tmp_path.resolve() / ".sopgen/cases.db")
    relative = database_url(tmp_path, "sqlite:///team/cases.db", {})
    assert relative.database == str(tmp_path.resolve() / "team/cases.db")
    env = {"SOPGEN_DATABASE_URL": "sqlite:////srv/x.db"}
    assert database_url(tmp_path, "sqlite:///team/cases.db", env).database == "/srv/x.db"
    with pytest.raises(CaseError, match="is not a database URL"):
        database_url(tmp_path, "not a url", {})


def test_schema_is_created_on_first_use(case_db: CaseDb, tmp_path: Path):
    store = Store(case_db.url)
    if not case_db.postgres:
        assert not Path(store.url.database or "").parent.exists()
    with store.read() as session:
        assert session.query(CaseRecord).count() == 0
    assert store.schema_revision() == SCHEMA_HEAD
    assert {"cases", "completions", "calendar_events", "users"} <= set(case_db.tables())
    store.close()
    if not case_db.postgres:
        with sqlite3.connect(store.url.database or "") as conn:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_times_are_stored_in_utc(case_db: CaseDb, tmp_path: Path):
    project = make_project(tmp_path / "repo")
    store = Store(case_db.url)
    service = CaseService(store, load_library(project.root))
    service.open("C-1", SOP, datetime(2026, 11, 20, 18, 5, tzinfo=BERLIN), NOW)
    service.done("C-1", "receive", datetime(2026, 11, 23, 9, 30, tzinfo=BERLIN), NOW)
    if case_db.postgres:  # timestamptz: the same instant whatever the session's zone
        kinds = dict(
            case_db.rows(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_name = 'cases'"
            )
        )
        assert kinds["received"] == "timestamp with time zone"
        [(received,)] = case_db.rows(
            "SELECT to_char(received AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') FROM cases"
        )
        [(done_at,)] = case_db.rows(
            "SELECT to_char(done_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') FROM completions"
        )
    else:  # no time type: the UTC wall time as text
        [(received,)] = case_db.rows("SELECT received FROM cases")
        [(done_at,)] = case_db.rows("SELECT done_at FROM completions")
    assert received.startswith("2026-11-20 17:05:00")
    assert done_at.startswith("2026-11-23 08:30:00")
    with store.read() as session:
        record = session.get(CaseRecord, "C-1")
        assert record is not None and record.received.tzinfo == UTC
        assert record.received == datetime(2026, 11, 20, 17, 5, tzinfo=UTC)
    case = service.show("C-1")
    assert case.received.utcoffset() == timedelta(hours=1)  # shown in the company zone
    store.close()


def test_failed_transaction_leaves_nothing(case_db: CaseDb, tmp_path: Path):
    project = make_project(tmp_path / "repo")
    store = Store(case_db.url)

    class Boom:
        def write(self, case: object) -> None:
            raise RuntimeError("disk full")

        def write_many(self, cases: object) -> None:
            raise RuntimeError("disk full")

        def publish(self) -> None:
            raise AssertionError("published after a failed transaction")

        def staging(self) -> nullcontext[Boom]:
            return nullcontext(self)

    service = CaseService(store, load_library(project.root), Boom())
    with pytest.raises(RuntimeError):
        service.open("C-1", SOP, NOW - timedelta(hours=1), NOW)
    with store.read() as session:
        assert session.query(CaseRecord).count() == 0
    store.close()


# --------------------------------------------------------------------------- concurrency

CASES_PER_WORKER = 25
SHARED = [f"SHARED-{i}" for i in range(8)]


def _worker(root: str, url: str, name: str, barrier: object, results: object) -> None:
    store = Store(url)
    service = CaseService(store, load_library(Path(root)))
    opened = done = refused = 0
    barrier.wait()  # type: ignore[attr-defined]
    received = NOW - timedelta(days=1)
    for i in range(CASES_PER_WORKER):
        case_id = f"{name}-{i}"
        service.open(case_id, SOP, received, NOW, assignee=name)
        opened += 1
        for step in ("receive", "record"):
            service.done(case_id, step, NOW, NOW)
            done += 1
        shared = SHARED[i % len(SHARED)]
        try:  # both workers try to open every shared case: one wins, one is refused
            service.open(shared, SOP, received, NOW, assignee=name)
            opened += 1
        except CaseError:
            refused += 1
        try:  # both try to complete the same step of it: only one completion counts
            service.done(shared, "receive", NOW, NOW)
            done += 1
        except CaseError:
            refused += 1
    store.close()
    results.put((name, opened, done, refused))  # type: ignore[attr-defined]


def test_two_processes_at_once_lose_nothing(case_db: CaseDb, tmp_path: Path):
    project = make_project(tmp_path / "repo")
    db = case_db.url
    with Store(db).read():  # the tables are made before the race
        pass
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(2), context.Queue()
    workers = [
        context.Process(target=_worker, args=(str(project.root), db, name, barrier, results))
        for name in ("W1", "W2")
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    reports = [results.get(timeout=5) for _ in workers]
    opened = sum(r[1] for r in reports)
    done = sum(r[2] for r in reports)

    [(cases,)] = case_db.rows("SELECT count(*) FROM cases")
    [(completions,)] = case_db.rows("SELECT count(*) FROM completions")
    [(events,)] = case_db.rows("SELECT count(*) FROM calendar_events")
    [(shared_done,)] = case_db.rows(
        "SELECT count(*) FROM completions WHERE case_id LIKE 'SHARED-%'"
    )
    assert cases == opened == 2 * CASES_PER_WORKER + len(SHARED)
    assert completions == done == 2 * CASES_PER_WORKER * 2 + shared_done
    assert shared_done == len(SHARED)  # each shared step done exactly once
    assert events == cases * 12
    store = Store(db)
    with store.read() as session:
        for record in session.query(CaseRecord).filter(CaseRecord.id.like("W%")):
            assert {c.step for c in record.completions} == {"intake.receive", "intake.record"}
        sequences = {
            (e.case_id, e.step): e.sequence
            for e in session.query(EventState).filter(EventState.step == "intake.receive")
        }
        assert all(seq == 1 for seq in sequences.values())
        assert session.query(Completion).count() == completions
    store.close()


def test_sqlite_writers_wait_their_turn_and_give_up_with_a_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    # writers queue on cases.db-lock (woken when it is free) instead of SQLite's polling,
    # which let a writer behind busy ones lose every poll until it was refused
    project = make_project(tmp_path / "repo")
    db = project.root / ".sopgen" / "cases.db"
    store = Store(f"sqlite:///{db}")
    service = CaseService(store, load_library(project.root))
    service.open("C-1", SOP, NOW - timedelta(hours=1), NOW)
    monkeypatch.setattr(database, "BUSY_TIMEOUT_S", 1)
    other = os.open(f"{db}-lock", os.O_RDWR)
    fcntl.flock(other, fcntl.LOCK_EX)  # another writer's turn that does not end
    started = time.monotonic()
    with pytest.raises(CaseError, match="is busy: another sopgen has been changing it") as info:
        service.done("C-1", "intake.receive", NOW, NOW)
    assert 1 <= time.monotonic() - started < 10
    assert "nothing was changed" in str(info.value) and info.value.hint
    assert service.show("C-1").steps[0].done is None  # reads never wait for the turn

    releaser = threading.Timer(0.5, os.close, args=(other,))  # that writer ends in 0.5 s
    releaser.start()
    started = time.monotonic()
    service.done("C-1", "intake.receive", NOW, NOW)  # waits for it, and is recorded
    assert 0.3 <= time.monotonic() - started < 10
    assert service.show("C-1").steps[0].done is not None
    service.done("C-1", "intake.record", NOW, NOW)  # the waiter given up let go, too
    store.close()
