"""`sopgen db export` / `db import`: a team moves from SQLite to PostgreSQL and loses nothing."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy.engine import make_url

from casekit import NOW, SOP, make_project
from dbkit import Server, _pg_bin
from smtpkit import smtp_server_fixture  # noqa: F401 - `smtp_server`
from sopgen.cases.store.tables import SCHEMA_HEAD
from sopgen.cli import cli

PASSWORD = "correct horse battery"


def sopgen(root: Path, url: str | None, *args: str, stdin: str | None = None, now: str = NOW):
    env = {"SOPGEN_NOW": now, "SOPGEN_DATABASE_URL": url}
    return CliRunner().invoke(cli, ["--root", str(root), *args], env=env, input=stdin)


@pytest.fixture
def pg_url(postgres: Server) -> Iterator[str]:
    url = postgres.new_database()
    yield url.render_as_string(hide_password=False)
    postgres.drop_database(url)


def test_sqlite_to_postgresql_and_back_loses_nothing(tmp_path: Path, pg_url: str, smtp_server):
    inbox, port = smtp_server
    project = make_project(tmp_path / "repo")
    root = project.root
    config = root / "sopgen.yaml"
    config.write_text(
        config.read_text() + f"smtp: {{host: 127.0.0.1, port: {port}, security: none, "
        '"from": "desk@example.com"}\n'
    )
    for login, role in (("alice", "rep"), ("mia", "manager")):
        added = sopgen(
            root,
            None,
            *("user", "add", login, "--name", login.title(), "--role", role),
            *("--email", f"{login}@example.com"),
            stdin=PASSWORD + "\n",
        )
        assert added.exit_code == 0, added.output
    steps = [
        ("case", "open", "C-1", "--sop", SOP, "--assignee", "alice", "--summary", "Kettle ✓"),
        ("case", "open", "C-2", "--sop", SOP, "--received", "2026-11-20T18:05"),
        ("case", "done", "C-1", "receive", "--at", "2026-11-23T10:00"),
        ("case", "done", "C-2", "record", "--at", "2026-11-21T09:00"),
        ("case", "hold", "C-2", "--at", "2026-11-23T09:30", "--reason", "waiting on photos"),
    ]
    for args in steps:
        result = sopgen(root, None, *args)
        assert result.exit_code == 0, result.output
    assert sopgen(root, None, "remind", "--once").exit_code == 0
    sent = len(inbox.messages)
    assert sent > 0

    shown = {
        c: sopgen(root, None, "case", "show", c, "--format", "json").stdout for c in ("C-1", "C-2")
    }
    exported = sopgen(root, None, "db", "export", str(tmp_path / "cases.jsonl"))
    assert exported.exit_code == 0, exported.output
    lines = (tmp_path / "cases.jsonl").read_text().splitlines()
    assert json.loads(lines[0])["sopgen_export"] == 1
    tables = {json.loads(line)["table"] for line in lines[1:]}
    assert {
        "cases",
        "completions",
        "step_history",
        "users",
        "sop_snapshots",
        "case_holds",
        "reminders",
    } <= tables

    imported = sopgen(root, pg_url, "db", "import", str(tmp_path / "cases.jsonl"))
    assert imported.exit_code == 0, imported.output
    assert "2 cases" in imported.stdout
    for case_id, before in shown.items():  # the same plans, deadlines, holds, summaries
        after = sopgen(root, pg_url, "case", "show", case_id, "--format", "json")
        assert json.loads(after.stdout) == json.loads(before)
    # the same users with the same password hashes and tokens; reminders are not resent
    assert sopgen(root, pg_url, "remind", "--once").exit_code == 0
    assert len(inbox.messages) == sent
    again = sopgen(root, pg_url, "db", "export", str(tmp_path / "again.jsonl"))
    assert again.exit_code == 0
    assert (tmp_path / "again.jsonl").read_text().splitlines()[1:] == lines[1:]

    # work goes on on PostgreSQL: new notes and holds get fresh ids
    resumed = sopgen(root, pg_url, "case", "resume", "C-2", "--at", "2026-11-23T09:45")
    assert resumed.exit_code == 0, resumed.output
    held = sopgen(root, pg_url, "case", "hold", "C-2", "--at", "2026-11-23T09:50")
    assert held.exit_code == 0, held.output
    # the step history came along (the show above compared it) and goes on after it
    reopened = sopgen(root, pg_url, "case", "reopen", "C-1", "receive")
    assert reopened.exit_code == 0, reopened.output
    history = json.loads(sopgen(root, pg_url, "case", "show", "C-1", "--format", "json").stdout)
    assert [e["action"] for e in history["history"]] == ["done", "reopen"]

    # importing twice is refused and changes nothing
    twice = sopgen(root, pg_url, "db", "import", str(tmp_path / "cases.jsonl"))
    assert twice.exit_code == 1 and "already holds" in twice.stderr


def test_a_damaged_export_is_refused_with_its_line_and_nothing_is_written(tmp_path: Path):
    project = make_project(tmp_path / "repo")
    root = project.root
    assert sopgen(root, None, "case", "open", "C-1", "--sop", SOP).exit_code == 0
    assert sopgen(root, None, "db", "export", str(tmp_path / "x.jsonl")).exit_code == 0
    lines = (tmp_path / "x.jsonl").read_text().splitlines()
    lines[3] = lines[3][:-5]  # cut short
    (tmp_path / "bad.jsonl").write_text("\n".join(lines) + "\n")
    target = f"sqlite:///{tmp_path / 'new.db'}"
    result = sopgen(root, target, "db", "import", str(tmp_path / "bad.jsonl"))
    assert result.exit_code == 1
    assert "bad.jsonl:4:" in result.stderr and "Traceback" not in result.stderr
    listed = sopgen(root, target, "case", "list", "--format", "json")
    assert json.loads(listed.stdout) == []  # all or nothing
    (tmp_path / "notes.txt").write_text("hello\n")
    result = sopgen(root, target, "db", "import", str(tmp_path / "notes.txt"))
    assert result.exit_code == 1 and "not a sopgen export" in result.stderr


def pg_tool(name: str) -> str:
    """pg_dump / pg_restore of the server's major version (Debian's, like the cluster's)."""
    bin_dir = _pg_bin()
    found = bin_dir / name if bin_dir and (bin_dir / name).exists() else shutil.which(name)
    if found is None:
        pytest.fail(f"no {name}: apt-get install postgresql-client", pytrace=False)
    return str(found)


def libpq(url: str) -> str:
    """The URL as pg_dump and pg_restore take it (no SQLAlchemy driver name)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def test_a_pg_dump_backup_restores_the_team_database_as_operations_md_says(
    tmp_path: Path, pg_url: str, postgres: Server
):
    root = make_project(tmp_path / "repo").root
    for args in (
        ("case", "open", "C-1", "--sop", SOP, "--received", "2026-11-20T18:05"),
        ("case", "done", "C-1", "receive", "--at", "2026-11-21T09:00"),
    ):
        assert sopgen(root, pg_url, *args).exit_code == 0
    backed_up = sopgen(root, pg_url, "case", "show", "C-1", "--format", "json").stdout
    dump = tmp_path / "sopgen.dump"
    subprocess.run(  # docs/operations.md "Backups": pg_dump --format=custom --file=… sopgen
        [pg_tool("pg_dump"), "--format=custom", f"--file={dump}", libpq(pg_url)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    for args in (  # work after the backup, which the restore undoes
        ("case", "open", "C-2", "--sop", SOP),
        ("case", "done", "C-1", "record", "--at", "2026-11-23T09:00"),
    ):
        assert sopgen(root, pg_url, *args).exit_code == 0

    restore = [pg_tool("pg_restore"), "--clean", "--if-exists"]
    subprocess.run(
        [*restore, f"--dbname={libpq(pg_url)}", str(dump)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    listed = sopgen(root, pg_url, "case", "list", "--format", "json")
    assert [c["case"] for c in json.loads(listed.stdout)] == ["C-1"]
    assert sopgen(root, pg_url, "case", "show", "C-1", "--format", "json").stdout == backed_up
    status = sopgen(root, pg_url, "db", "status")
    assert status.exit_code == 0 and f"schema revision: {SCHEMA_HEAD}" in status.stdout

    # the server is gone: the same command fills a new, empty database
    fresh = postgres.new_database()
    try:
        fresh_url = fresh.render_as_string(hide_password=False)
        subprocess.run(
            [*restore, f"--dbname={libpq(fresh_url)}", str(dump)],
            check=True,
            capture_output=True,
            timeout=120,
        )
        shown = sopgen(root, fresh_url, "case", "show", "C-1", "--format", "json")
        assert shown.stdout == backed_up
        done = sopgen(root, fresh_url, "case", "done", "C-1", "record")  # and work goes on
        assert done.exit_code == 0, done.output
    finally:
        postgres.drop_database(fresh)
