"""`sopgen remind` after a backlog import: history cases, one e-mail per person, a
summarised digest and a cap on messages per minute (issue 19), on SQLite and PostgreSQL.

The example library's SOP-CS-001; the backlog was received in the first half of
November 2026 and is imported on Monday 23 Nov 2026 10:00 (Berlin), when most of
its steps are long overdue.
"""

from __future__ import annotations

import re
from pathlib import Path

from casekit import SOP, Project, project_fixture  # noqa: F401 - `project`
from smtpkit import smtp_server_fixture  # noqa: F401 - `smtp_server`
from test_remind import MON_10, configure, remind, reminders, team, text_of


def backlog(project: Project, name: str, prefix: str, count: int, extra: str = "") -> Path:
    """A CSV of `count` cases received 2–12 Nov 2026, alternately alice's and bob's."""
    lines = ["case,received,assignee,summary" + (",history" if extra else "")]
    for i in range(count):
        day, hour = 2 + i % 10, 9 + i % 7
        lines.append(
            f"{prefix}-{i},2026-11-{day:02d}T{hour:02d}:00,{('alice', 'bob')[i % 2]},Old {i}"
            + (f",{extra}" if extra else "")
        )
    path = project.root / name
    path.write_text("\n".join(lines) + "\n")
    return path


def test_cases_imported_as_history_get_no_reminders_for_steps_already_overdue(
    project: Project, smtp_server
):
    inbox, port = smtp_server
    team(project, port)
    old = backlog(project, "old.csv", "H", 6)
    new = backlog(project, "new.csv", "N", 2)
    imported = project.run("import", str(old), "--sop", SOP, "--history")
    assert imported.exit_code == 0, imported.output
    assert project.run("import", str(new), "--sop", SOP).exit_code == 0

    code, _, err = remind(project, MON_10)
    assert code == 0, err
    carried = reminders(inbox.messages)
    assert any(r.startswith("Overdue: N-") for r in carried)  # not history: reminded
    assert not any(" H-" in r for r in carried)  # history: nothing for what was overdue
    # the history cases' later steps are still planned; none for a deadline before import
    [(later,)] = project.sql("SELECT count(*) FROM reminders WHERE case_id LIKE 'H-%'")
    [(earlier,)] = project.sql(
        "SELECT count(*) FROM reminders r JOIN cases c ON c.id = r.case_id "
        "WHERE r.case_id LIKE 'H-%' AND r.due_at < c.opened_at"
    )
    assert later > 0 and earlier == 0
    # the digest still counts every overdue step, history or not
    digest = next(m for m in inbox.messages if str(m["To"]) == "mia@example.com")
    assert "H-" in text_of(digest, "plain")


def test_a_history_column_marks_single_rows_and_a_bad_one_is_named(project: Project, smtp_server):
    inbox, port = smtp_server
    team(project, port)
    path = project.root / "mixed.csv"
    path.write_text(
        "case,received,assignee,history\n"
        "X-1,2026-11-02T10:00,alice,yes\n"
        "X-2,2026-11-02T10:00,bob,no\n"
        "X-3,2026-11-02T10:00,bob,maybe\n"
    )
    imported = project.run("import", str(path), "--sop", SOP)
    assert imported.exit_code == 1
    assert "mixed.csv:4:4:" in imported.output and "'maybe' in the history column" in (
        imported.output
    )
    assert "Traceback" not in imported.output
    assert remind(project, MON_10)[0] == 0
    carried = reminders(inbox.messages)
    assert any("Overdue: X-2" in r for r in carried)
    assert not any("X-1" in r for r in carried if "overdue step" not in r)


def test_the_api_opens_a_case_as_history(project: Project, smtp_server):
    from starlette.testclient import TestClient

    from sopgen.cases.service.secretkey import SecretKey
    from sopgen.cases.service.users import UserService
    from sopgen.cases.store.tables import Store
    from sopgen.desk.app import create_app

    inbox, port = smtp_server
    team(project, port)
    store = Store(project.url)
    token = UserService(store, SecretKey(project.root)).issue_tokens("mia").api_token
    store.close()
    app = create_app(project.root)
    try:
        client = TestClient(app)
        client.headers["Authorization"] = f"Bearer {token}"
        for case, history in (("A-1", True), ("A-2", False)):
            body = {"case": case, "sop": SOP, "received": "2026-11-02T10:00"}
            body |= {"assignee": "alice", "history": history}
            answer = client.post("/api/cases", json=body)
            assert answer.status_code == 201, answer.text
        bad = client.post("/api/cases", json={"case": "A-3", "sop": SOP, "history": "yes"})
        assert bad.status_code == 422 and "history" in bad.text
    finally:
        app.state.desk.store.close()
    assert remind(project, MON_10)[0] == 0
    carried = reminders(inbox.messages)
    assert any("Overdue: A-2" in r for r in carried)
    assert not any("A-1" in r for r in carried if "overdue step" not in r)


def test_one_e_mail_per_person_a_bounded_digest_and_a_cap_per_minute(project: Project, smtp_server):
    inbox, port = smtp_server
    team(project, port)
    config = project.root / "sopgen.yaml"
    config.write_text(config.read_text() + "  max_per_minute: 2\n")
    path = backlog(project, "big.csv", "B", 120)
    assert project.run("import", str(path), "--sop", SOP).exit_code == 0

    code, _, err = remind(project, MON_10)
    assert code == 0, err
    assert len(inbox.messages) == 2  # the cap: two e-mails in this run
    assert "left for the next run (reminders.max_per_minute)" in err
    code, _, err = remind(project, "2026-11-23T10:01")
    assert code == 0, err
    assert len(inbox.messages) == 3  # the third person's on the next run
    assert sorted(str(m["To"]) for m in inbox.messages) == [
        "alice@example.com",
        "bob@example.com",
        "mia@example.com",
    ]
    # alice's e-mail lists all her reminders (the first 100 in full, then a count)
    alice = next(m for m in inbox.messages if str(m["To"]) == "alice@example.com")
    found = re.match(r"(\d+) reminders: (\d+) overdue steps", str(alice["Subject"]))
    assert found, alice["Subject"]
    steps, late = int(found.group(1)), int(found.group(2))
    assert steps > 100
    assert f"… and {steps - 100} more: see My work, https://desk.example.com/" in text_of(
        alice, "plain"
    )
    [(sent,)] = project.sql(
        "SELECT count(*) FROM reminders WHERE recipient = 'alice@example.com' AND state = 'sent'"
    )
    assert sent >= steps  # each reminder recorded as sent

    digest = next(m for m in inbox.messages if str(m["To"]) == "mia@example.com")
    size = len(digest.as_bytes())
    assert size < 200_000, size
    plain = text_of(digest, "plain")
    lines = plain.splitlines()
    found = re.match(r"(\d+) overdue steps at ", str(digest["Subject"]))
    assert found, digest["Subject"]
    overdue = int(found.group(1))
    assert overdue > 500
    assert f"The oldest 50 of {overdue} overdue steps" in plain
    assert f"  alice: {late}" in lines  # counted per assignee: alice's, as in her e-mail
    assert f"  {SOP}: {overdue}" in lines
    assert "All overdue cases on the desk: https://desk.example.com/cases?overdue=1" in plain
    assert sum(line.startswith("- B-") for line in lines) == 50


def test_without_a_cap_everyone_gets_one_e_mail(project: Project, smtp_server):
    inbox, port = smtp_server
    configure(project, port)
    team_path = backlog(project, "few.csv", "F", 10)
    from test_remind import add_user

    add_user(project, "alice", "rep", "alice@example.com")
    add_user(project, "bob", "rep", "bob@example.com")
    assert project.run("import", str(team_path), "--sop", SOP).exit_code == 0
    assert remind(project, MON_10)[0] == 0
    assert sorted(str(m["To"]) for m in inbox.messages) == [
        "alice@example.com",
        "bob@example.com",
    ]
