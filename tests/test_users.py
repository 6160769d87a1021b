"""`sopgen user …`: users with Argon2id passwords, tokens kept only as hashes, disabling."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest

from casekit import Project, legacy_store, project_fixture  # noqa: F401 - `project`
from sopgen.cases.service.users import SignInRefused, UserService, failure_wait
from sopgen.cases.store.tables import SCHEMA_HEAD, Store
from sopgen.cli import cli

PASSWORD = "correct horse battery"


def user(project: Project, *args: str, stdin: str | None = None):
    return project.runner.invoke(cli, ["--root", str(project.root), "user", *args], input=stdin)


def add(project: Project, login: str = "alice", role: str = "rep") -> None:
    result = user(
        project,
        "add",
        login,
        "--name",
        f"{login.title()} Ng",
        "--role",
        role,
        stdin=PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.output


def service(project: Project) -> UserService:
    return UserService(Store(project.url))


def test_add_stores_an_argon2id_hash_never_the_password(project: Project):
    add(project, "Alice", "admin")
    [(login, stored)] = project.sql("SELECT login, password_hash FROM users")
    assert login == "alice"
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    listed = json.loads(user(project, "list", "--format", "json").stdout)
    assert listed == [
        {
            "login": "alice",
            "name": "Alice Ng",
            "role": "admin",
            "email": None,
            "disabled": False,
            "tokens": False,
        }
    ]


def test_add_refuses_bad_input_without_a_traceback(project: Project):
    add(project)
    again = user(project, "add", "alice", "--name", "A", "--role", "rep", stdin=PASSWORD + "\n")
    assert again.exit_code == 1 and "already exists" in again.output
    short = user(project, "add", "bob", "--name", "Bob", "--role", "rep", stdin="short\n")
    assert short.exit_code == 1 and "shorter than 10" in short.output
    bad = user(project, "add", "bob smith", "--name", "Bob", "--role", "rep", stdin=PASSWORD)
    assert bad.exit_code == 1 and "not a valid login" in bad.output
    role = user(project, "add", "bob", "--name", "Bob", "--role", "boss", stdin=PASSWORD)
    assert role.exit_code == 2
    assert [u.login for u in service(project).list()] == ["alice"]


def test_tokens_are_shown_once_stored_as_hashes_and_rotate(project: Project):
    add(project)
    first = json.loads(user(project, "token", "alice", "--format", "json").stdout)
    assert set(first) == {"login", "feed_token", "feed_url", "api_token"}
    # no address set anywhere: the path on the desk, not a made-up http://127.0.0.1:8000
    assert first["feed_url"] == f"/feeds/{first['feed_token']}.ics"
    dump = repr(project.state()[1])
    assert first["feed_token"] not in dump and first["api_token"] not in dump
    users = service(project)
    assert users.by_feed_token(first["feed_token"]).login == "alice"
    assert users.by_api_token(first["api_token"]).login == "alice"
    assert users.by_api_token(first["feed_token"]) is None  # one token, one purpose
    again = json.loads(user(project, "token", "alice", "--format", "json").stdout)
    assert again["feed_url"] == first["feed_url"]  # derived again, the same link
    assert again["api_token"] is None  # shown once, when issued
    text = user(project, "token", "alice")
    assert text.exit_code == 0 and first["feed_url"] in text.output
    assert first["api_token"] not in text.output and "--rotate replaces it" in text.output
    rotated = json.loads(
        user(
            project,
            "token",
            "alice",
            "--rotate",
            "--base-url",
            "https://desk.example/",
            "--format",
            "json",
        ).stdout
    )
    assert rotated["feed_url"].startswith("https://desk.example/feeds/")
    assert rotated["feed_token"] != first["feed_token"] and rotated["api_token"]
    assert users.by_feed_token(first["feed_token"]) is None
    assert users.by_api_token(first["api_token"]) is None
    assert users.by_feed_token(rotated["feed_token"]).login == "alice"


def test_disabled_user_can_neither_sign_in_nor_use_tokens(project: Project):
    add(project)
    tokens = json.loads(user(project, "token", "alice", "--format", "json").stdout)
    now = datetime(2026, 11, 23, 9, tzinfo=UTC)
    users = service(project)
    signed = users.sign_in("alice", PASSWORD, now)
    assert signed is not None
    cookie, _ = signed
    assert users.session_user(cookie, now).user.login == "alice"
    assert user(project, "disable", "alice").exit_code == 0
    assert users.by_feed_token(tokens["feed_token"]) is None
    assert users.by_api_token(tokens["api_token"]) is None
    assert users.session_user(cookie, now) is None
    assert users.sign_in("alice", PASSWORD, now) is None
    assert "disabled" in user(project, "list").stdout


def test_enable_undoes_disable_and_list_shows_each_users_state(project: Project):
    add(project)
    add(project, "bob")
    tokens = json.loads(user(project, "token", "alice", "--format", "json").stdout)
    now = datetime(2026, 11, 23, 9, tzinfo=UTC)
    users = service(project)
    assert user(project, "disable", "alice").exit_code == 0
    listed = user(project, "list").stdout.splitlines()
    assert [line.split("(")[-1] for line in listed] == [
        "disabled, tokens issued)",
        "active, no tokens)",
    ]
    enabled = user(project, "enable", "Alice")
    assert enabled.exit_code == 0, enabled.output
    assert "enabled user alice" in enabled.stdout
    assert "sopgen user token alice --rotate" in enabled.stdout  # the old tokens live again
    assert users.sign_in("alice", PASSWORD, now) is not None
    assert users.by_feed_token(tokens["feed_token"]).login == "alice"
    assert users.by_api_token(tokens["api_token"]).login == "alice"
    assert "(active, tokens issued)" in user(project, "list").stdout
    again = user(project, "enable", "alice")
    assert again.exit_code == 0 and "is not disabled; nothing changed" in again.stdout
    nobody = user(project, "enable", "carol")
    assert nobody.exit_code == 1 and "no user 'carol'" in nobody.output
    assert "Traceback" not in nobody.output


def test_password_sets_a_new_one_signs_the_user_out_and_keeps_their_tokens(project: Project):
    add(project)
    add(project, "bob")
    tokens = json.loads(user(project, "token", "alice", "--format", "json").stdout)
    now = datetime(2026, 11, 23, 9, tzinfo=UTC)
    users = service(project)
    laptop, _ = users.sign_in("alice", PASSWORD, now)
    phone, _ = users.sign_in("alice", PASSWORD, now)
    bobs, _ = users.sign_in("bob", PASSWORD, now)
    for _ in range(3):  # alice forgot hers and tried: she would have to wait now
        assert users.sign_in("alice", "what was it again", now) is None
    [(before,)] = project.sql("SELECT password_hash FROM users WHERE login = 'alice'")
    new = "a brand new passphrase"
    result = user(project, "password", "alice", stdin=new + "\n")
    assert result.exit_code == 0, result.output
    assert "new password set for alice; signed out everywhere" in result.stdout
    [(after,)] = project.sql("SELECT password_hash FROM users WHERE login = 'alice'")
    assert after.startswith("$argon2id$") and after != before and new not in after
    assert users.session_user(laptop, now) is None and users.session_user(phone, now) is None
    assert users.session_user(bobs, now).user.login == "bob"  # only alice's sessions end
    assert users.sign_in("alice", PASSWORD, now) is None
    assert users.sign_in("alice", new, now) is not None  # no wait left after the reset
    assert users.by_feed_token(tokens["feed_token"]).login == "alice"
    assert users.by_api_token(tokens["api_token"]).login == "alice"


def test_password_refuses_bad_input_and_changes_nothing(project: Project):
    add(project)
    now = datetime(2026, 11, 23, 9, tzinfo=UTC)
    users = service(project)
    cookie, _ = users.sign_in("alice", PASSWORD, now)
    short = user(project, "password", "alice", stdin="short\n")
    assert short.exit_code == 1 and "shorter than 10" in short.output
    nobody = user(project, "password", "carol", stdin="long enough password\n")
    assert nobody.exit_code == 1 and "no user 'carol'" in nobody.output
    assert "Traceback" not in short.output + nobody.output
    assert users.session_user(cookie, now) is not None
    assert users.sign_in("alice", PASSWORD, now) is not None


def test_on_a_terminal_the_new_password_is_prompted_twice_and_never_echoed(project: Project):
    add(project)
    new = "typed at a terminal"
    main, child = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "sopgen", "--root", str(project.root), "user", "password", "alice"],
        stdin=child,
        stdout=child,
        stderr=child,
        close_fds=True,
    )
    os.close(child)
    seen = b""

    def read_until(wanted: bytes) -> None:
        nonlocal seen
        deadline = time.monotonic() + 60
        while wanted not in seen and time.monotonic() < deadline:
            if select.select([main], [], [], 1)[0]:
                try:
                    seen += os.read(main, 1024)
                except OSError:  # the child closed the terminal
                    return

    read_until(b"New password for alice: ")
    os.write(main, new.encode() + b"\n")  # only once the prompt turned echo off
    read_until(b"Repeat for confirmation: ")
    os.write(main, new.encode() + b"\n")
    read_until(b"signed out everywhere")
    assert process.wait(timeout=60) == 0, seen
    os.close(main)
    assert b"New password for alice: " in seen and b"Repeat for confirmation: " in seen
    assert new.encode() not in seen  # no echo
    assert service(project).sign_in("alice", new, datetime(2026, 11, 23, 9, tzinfo=UTC))


def test_change_password_needs_the_current_one_and_keeps_the_session_it_came_from(
    project: Project,
):
    add(project)
    now = datetime(2026, 11, 23, 9, tzinfo=UTC)
    users = service(project)
    here, _ = users.sign_in("alice", PASSWORD, now)
    there, _ = users.sign_in("alice", PASSWORD, now)
    assert users.change_password("alice", "wrong password", "another passphrase", now) is False
    assert users.session_user(there, now) is not None
    assert users.change_password("alice", PASSWORD, "another passphrase", now, keep=here)
    assert users.session_user(here, now) is not None
    assert users.session_user(there, now) is None
    assert users.sign_in("alice", "another passphrase", now) is not None


def test_repeated_failed_sign_ins_must_wait_longer_and_longer(project: Project):
    add(project)
    users = service(project)
    now = datetime(2026, 11, 23, 9, tzinfo=UTC)
    for _ in range(3):
        assert users.sign_in("alice", "wrong password!", now) is None
    with pytest.raises(SignInRefused) as refused:
        users.sign_in("alice", PASSWORD, now)  # even the right password waits
    assert refused.value.wait == failure_wait(3) > timedelta(0)
    later = now + failure_wait(3)
    assert users.sign_in("alice", "wrong password!", later) is None
    with pytest.raises(SignInRefused):
        users.sign_in("alice", PASSWORD, later + failure_wait(3))  # the wait doubled
    assert users.sign_in("alice", PASSWORD, later + failure_wait(4)) is not None
    assert users.sign_in("alice", "wrong password!", later + failure_wait(4)) is None  # count reset
    assert users.sign_in("alice", PASSWORD, later + failure_wait(4)) is not None


def test_unknown_logins_are_slowed_down_alike(project: Project):
    users = service(project)
    now = datetime(2026, 11, 23, 9, tzinfo=UTC)
    for _ in range(3):
        assert users.sign_in("mallory", "x" * 12, now) is None
    with pytest.raises(SignInRefused):
        users.sign_in("mallory", "x" * 12, now)


def test_a_store_of_sopgen_0_1_gains_the_user_tables_by_db_upgrade(project: Project):
    legacy_store(project)  # a real store of sopgen 0.1: no user tables
    refused = user(project, "list")
    assert refused.exit_code == 1 and "sopgen db upgrade" in refused.stderr
    upgrade = project.runner.invoke(cli, ["--root", str(project.root), "db", "upgrade"])
    assert upgrade.exit_code == 0, upgrade.output
    add(project)
    assert Store(project.url).schema_revision() == SCHEMA_HEAD
    assert project.run("show", "C-2026-0001").exit_code == 0


def test_once_users_exist_an_assignee_must_be_one_of_them(project: Project):
    assert project.run("open", "C-1", "--sop", "SOP-CS-001", "--assignee", "Anyone").exit_code == 0
    add(project, "alice")
    refused = project.run("open", "C-2", "--sop", "SOP-CS-001", "--assignee", "bob")
    assert refused.exit_code == 1 and "'bob' is not a user of the desk" in refused.output
    assert project.run("open", "C-3", "--sop", "SOP-CS-001", "--assignee", "Alice").exit_code == 0
    shown = json.loads(project.run("show", "C-3", "--format", "json").stdout)
    assert shown["assignee"] == "alice"
    csv = project.root / "cases.csv"
    csv.write_text("C-4,2026-11-23T09:00,ALICE\nC-5,2026-11-23T09:00,bob\nC-6,2026-11-23T09:00,\n")
    imported = project.run("import", str(csv), "--sop", "SOP-CS-001")
    assert imported.exit_code == 1
    assert "cases.csv:2:3: error: 'bob' is not a user of the desk" in imported.output
    assert json.loads(project.run("show", "C-4", "--format", "json").stdout)["assignee"] == "alice"
    assert project.run("show", "C-5").exit_code == 1
    assert project.run("show", "C-6").exit_code == 0


def test_serve_refuses_a_store_it_cannot_use_before_listening(project: Project):
    assert project.run("open", "C-1", "--sop", "SOP-CS-001").exit_code == 0
    project.execute("UPDATE alembic_version SET version_num = 'f00dfeed'")
    result = project.runner.invoke(cli, ["--root", str(project.root), "serve", "--port", "1"])
    assert result.exit_code == 1
    assert "sopgen: error:" in result.output and "Traceback" not in result.output
    assert "sopgen desk on" not in result.output


def test_disabling_a_user_names_the_open_cases_left_with_them(project: Project):
    """A new user's report: `user disable bob` said nothing of the cases still assigned to
    bob, which then sat with someone who can no longer sign in."""
    add(project, "bob")
    for case in ("NC-2", "NC-1", "NC-3"):
        opened = project.run("open", case, "--sop", "SOP-CS-001", "--assignee", "bob")
        assert opened.exit_code == 0, opened.output
    assert project.run("cancel", "NC-3", "--reason", "duplicate").exit_code == 0
    said = user(project, "disable", "bob")
    assert said.exit_code == 0, said.output
    assert "bob still has 2 open cases: NC-1, NC-2" in said.stdout
    assert "sopgen case assign CASE-ID LOGIN" in said.stdout
    add(project, "carol")
    quiet = user(project, "disable", "carol").stdout
    assert "open case" not in quiet
