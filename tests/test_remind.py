"""`sopgen remind`: e-mails before and when steps are due, a digest for managers,
each exactly once, on SQLite and PostgreSQL, with a real SMTP server (aiosmtpd).

The example library's SOP-CS-001 opened Monday 23 Nov 2026 10:00 (Berlin) gives:
intake.receive due Mon 10:00, intake.record Mon 11:00, intake.acknowledge and
assessment.categorize Tue 10:00, assessment.assign/notify Wed 10:00.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import signal
import subprocess
import sys
from email import message_from_bytes
from email.message import EmailMessage
from pathlib import Path

import pytest

from casekit import SOP, Project, project_fixture  # noqa: F401 - `project`
from smtpkit import smtp_server_fixture  # noqa: F401 - `smtp_server`
from sopgen.cli import cli

PASSWORD = "correct horse battery"
MON_10 = "2026-11-23T10:00"


def configure(project: Project, port: int, extra: str = "") -> None:
    config = project.root / "sopgen.yaml"
    config.write_text(
        config.read_text() + f"smtp: {{host: 127.0.0.1, port: {port}, security: none, "
        '"from": "Complaints desk <desk@example.com>"}\n'
        + "reminders:\n  base_url: https://desk.example.com/\n"
        + extra
    )


def add_user(project: Project, login: str, role: str, email: str | None) -> None:
    args = ["--root", str(project.root), "user", "add", login, "--name", login.title()]
    args += ["--role", role] + (["--email", email] if email else [])
    result = project.runner.invoke(cli, args, input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output


def remind(project: Project, now: str) -> tuple[int, str, str]:
    result = project.runner.invoke(
        cli, ["--root", str(project.root), "remind", "--once"], env={"SOPGEN_NOW": now}
    )
    return result.exit_code, result.stdout, result.stderr


def team(project: Project, port: int) -> None:
    configure(project, port)
    add_user(project, "alice", "rep", "alice@example.com")
    add_user(project, "bob", "rep", "bob@example.com")
    add_user(project, "mia", "manager", "mia@example.com")
    add_user(project, "ned", "rep", None)  # no address: no reminders


def subjects(messages: list[EmailMessage]) -> list[str]:
    return sorted(str(m["Subject"]) for m in messages)


def text_of(mail: EmailMessage, kind: str) -> str:
    part = mail.get_body(preferencelist=(kind,))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]


def carried(mail: EmailMessage) -> list[str]:
    """The reminders one e-mail carries, each as its own e-mail's subject would be: a
    person's e-mail with several lists them (`- SUBJECT` lines)."""
    subject = str(mail["Subject"])
    if re.match(r"\d+ reminders: ", subject):
        return [line[2:] for line in text_of(mail, "plain").splitlines() if line.startswith("- ")]
    return [subject]


def reminders(messages: list[EmailMessage]) -> list[str]:
    """Every reminder the e-mails carry (digests as their subject), sorted."""
    return sorted(r for m in messages for r in carried(m))


def test_reminders_before_and_overdue_then_nothing_new(project: Project, smtp_server):
    inbox, port = smtp_server
    team(project, port)
    opened = project.run(
        "open", "C-1", "--sop", SOP, "--assignee", "alice", "--summary", "<script>x</script>"
    )
    assert opened.exit_code == 0, opened.output

    code, out, err = remind(project, MON_10)
    assert code == 0, err
    # alice's three reminders of this run come in one e-mail
    [mail] = inbox.messages
    assert str(mail["Subject"]) == "3 reminders: 3 steps due soon"
    assert reminders(inbox.messages) == [
        "Due Mon 23 Nov 2026 11:00 CET: C-1 intake.record",  # 1 business hour before
        "Due Tue 24 Nov 2026 10:00 CET: C-1 assessment.categorize",  # 1 business day before
        "Due Tue 24 Nov 2026 10:00 CET: C-1 intake.acknowledge",
    ]
    assert str(mail["To"]) == "alice@example.com"
    assert "sent: before C-1 intake.record to alice@example.com" in out
    assert "remind: 3 sent in 1 e-mail," in err
    [(sent,)] = project.sql("SELECT count(*) FROM reminders WHERE state = 'sent'")
    assert sent == 3  # each reminder recorded as sent

    plain, html = text_of(mail, "plain"), text_of(mail, "html")
    assert "Enter the details of the complaint in the CRM system." in plain
    assert "https://desk.example.com/cases/C-1" in plain
    assert '<a href="https://desk.example.com/cases/C-1">' in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html and "<script>" not in html
    assert str(mail["From"]) == "Complaints desk <desk@example.com>"

    # a second pass at the same moment sends nothing new
    assert remind(project, MON_10)[0] == 0
    assert len(inbox.messages) == 1

    # a done step's reminder is cancelled; the overdue one goes out next morning
    done = project.run("done", "C-1", "record", "--at", "2026-11-23T10:30", now="2026-11-23T10:30")
    assert done.exit_code == 0, done.output
    assert remind(project, "2026-11-24T09:00")[0] == 0
    new = inbox.messages[1:]
    assert reminders(new) == [
        "1 overdue step at Havelstein Retail GmbH",  # the digest, to the manager
        "Due Tue 24 Nov 2026 10:00 CET: C-1 assessment.categorize",  # 1 business hour
        "Due Tue 24 Nov 2026 10:00 CET: C-1 intake.acknowledge",
        "Overdue: C-1 intake.receive was due Mon 23 Nov 2026 10:00 CET",
    ]
    assert sorted(str(m["To"]) for m in new) == ["alice@example.com", "mia@example.com"]
    digest = next(m for m in new if str(m["To"]) == "mia@example.com")
    assert "C-1" in text_of(digest, "plain") and "intake.receive" in text_of(digest, "plain")
    assert not any("intake.record" in r for r in reminders(new))
    assert len(set(inbox.ids())) == len(inbox.messages)


def test_reassignment_moves_reminders_and_nobody_without_an_address_gets_any(
    project: Project, smtp_server
):
    inbox, port = smtp_server
    team(project, port)
    assert project.run("open", "C-1", "--sop", SOP, "--assignee", "alice").exit_code == 0
    assert project.run("open", "C-2", "--sop", SOP, "--assignee", "ned").exit_code == 0
    assert remind(project, MON_10)[0] == 0  # plans Tuesday's reminders for alice
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from sopgen.cases.service.caseservice import CaseService
    from sopgen.cases.store.tables import Store
    from sopgen.library import load_library

    service = CaseService(Store(project.url), load_library(project.root))
    service.assign("C-1", "bob", datetime(2026, 11, 23, 11, tzinfo=ZoneInfo("Europe/Berlin")))
    service.store.close()
    before = len(inbox.messages)
    assert remind(project, "2026-11-24T10:00")[0] == 0
    new = inbox.messages[before:]
    assert "Due Wed 25 Nov 2026 10:00 CET: C-1 assessment.assign" in reminders(new)
    assert {str(m["To"]) for m in new if any("C-1" in r for r in carried(m))} == {"bob@example.com"}
    assert not any("C-2" in r for r in reminders(new))  # ned has no address
    [(cancelled,)] = project.sql(
        "SELECT count(*) FROM reminders WHERE recipient = 'alice@example.com' "
        "AND state = 'cancelled'"
    )
    assert cancelled >= 1


def test_a_reminder_outside_business_hours_goes_out_at_the_next_opening(
    project: Project, smtp_server
):
    inbox, port = smtp_server
    team(project, port)
    friday = "2026-11-27T16:30"
    opened = project.run("open", "C-9", "--sop", SOP, "--assignee", "alice", now=friday)
    assert opened.exit_code == 0
    # intake.record is due Friday 17:30, after closing time
    for now in ("2026-11-27T18:00", "2026-11-28T12:00", "2026-11-30T08:59"):
        assert remind(project, now)[0] == 0
        assert not any("intake.record" in r for r in reminders(inbox.messages)), now
    assert remind(project, "2026-11-30T09:00")[0] == 0
    overdue = [r for r in reminders(inbox.messages) if "Overdue: C-9 intake.record" in r]
    assert len(overdue) == 1


def _remind_process(root: str, now: str, barrier: object) -> None:
    os.environ["SOPGEN_NOW"] = now
    sys.argv = ["sopgen", "--root", root, "remind", "--once"]
    barrier.wait(timeout=60)  # type: ignore[attr-defined]
    from sopgen.cli import main

    main()


def test_two_workers_at_once_send_each_reminder_once(project: Project, smtp_server):
    inbox, port = smtp_server
    team(project, port)
    for i in range(6):
        assert project.run("open", f"C-{i}", "--sop", SOP, "--assignee", "alice").exit_code == 0
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(2)
    workers = [
        context.Process(
            target=_remind_process, args=(str(project.root), "2026-11-24T09:00", barrier)
        )
        for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=180)
        assert worker.exitcode == 0
    [(sent,)] = project.sql("SELECT count(*) FROM reminders WHERE state = 'sent'")
    carried_all = reminders(inbox.messages)
    assert sent >= len(carried_all) > 12  # a step's reminders due at once: listed once
    assert len(set(carried_all)) == len(carried_all)  # no reminder twice
    assert len(set(inbox.ids())) == len(inbox.messages)
    # each worker's run sends alice at most one e-mail (and the digest to mia)
    assert len(inbox.to("alice@example.com")) <= 2
    count = len(inbox.messages)
    assert remind(project, "2026-11-24T09:00")[0] == 0
    assert len(inbox.messages) == count


def test_a_worker_killed_between_claim_and_send_is_retried_once(project: Project, smtp_server):
    inbox, port = smtp_server
    team(project, port)
    assert project.run("open", "C-1", "--sop", SOP, "--assignee", "alice").exit_code == 0
    inbox.hold_first = True  # the first message waits at the server, then is refused
    command = [sys.executable, "-m", "sopgen", "--root", str(project.root), "remind", "--once"]
    env = {**os.environ, "SOPGEN_NOW": MON_10}
    worker = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert inbox.arrived.wait(timeout=120), "the worker never reached the mail server"
    worker.send_signal(signal.SIGKILL)  # claimed, not sent
    worker.wait(timeout=30)
    inbox.release()
    [(claimed,)] = project.sql("SELECT count(*) FROM reminders WHERE state = 'claimed'")
    assert claimed == 3 and inbox.messages == []

    # restarted at once: the dead worker's claim still holds, so nothing goes twice
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert inbox.messages == []
    # after reminders.retry_after (10 minutes) the claim expires: sent, exactly once
    env["SOPGEN_NOW"] = "2026-11-23T10:11"
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    held = [
        "Due Mon 23 Nov 2026 11:00 CET: C-1 intake.record",
        "Due Tue 24 Nov 2026 10:00 CET: C-1 assessment.categorize",
        "Due Tue 24 Nov 2026 10:00 CET: C-1 intake.acknowledge",
    ]
    for subject in held:
        assert reminders(inbox.messages).count(subject) == 1
    count = len(inbox.messages)
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert len(inbox.messages) == count
    assert len(set(inbox.ids())) == count
    [(sent,)] = project.sql("SELECT count(*) FROM reminders WHERE state = 'sent'")
    assert sent == len(reminders(inbox.messages))


def test_remind_without_smtp_settings_says_what_to_add(project: Project):
    code, _, err = remind(project, MON_10)
    assert code == 1
    assert "no smtp: settings" in err and "hint:" in err and "Traceback" not in err


def test_a_missing_password_variable_is_named(project: Project, smtp_server):
    _, port = smtp_server
    configure(project, port)
    config = project.root / "sopgen.yaml"
    config.write_text(
        config.read_text().replace(
            "security: none,", "security: none, username: desk, password_env: NO_SUCH_SMTP_PW,"
        )
    )
    add_user(project, "alice", "rep", "alice@example.com")
    assert project.run("open", "C-1", "--sop", SOP, "--assignee", "alice").exit_code == 0
    code, _, err = remind(project, MON_10)
    assert code == 1
    assert "NO_SUCH_SMTP_PW" in err and "not set" in err and "Traceback" not in err
    states = dict(project.sql("SELECT state, count(*) FROM reminders GROUP BY state"))
    assert "claimed" not in states and "sent" not in states  # nothing lost: all go out
    assert states["pending"] > 3  # once the password is there


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("  before: [1 fortnight]\n", "is not a timeframe sopgen understands"),
        ("  before: [Immediate]\n", "is not a length of time before a deadline"),
        ("  before: [2 hours after receive]\n", "is not a length of time before a deadline"),
    ],
)
def test_bad_reminder_settings_point_at_the_line(
    tmp_path: Path, setting: str, message: str, monkeypatch: pytest.MonkeyPatch
):
    from casekit import make_project

    project = make_project(tmp_path / "repo")
    config = project.root / "sopgen.yaml"
    config.write_text(config.read_text() + "reminders:\n" + setting)
    lines = config.read_text().count("\n")
    result = project.runner.invoke(cli, ["--root", str(project.root), "validate"])
    assert result.exit_code == 1
    assert f"sopgen.yaml:{lines}:" in result.stderr and message in result.stderr


def test_case_assign_cancels_the_old_assignees_reminders_and_moves_the_case_in_the_feeds(
    project: Project, smtp_server
):
    import json

    from starlette.testclient import TestClient

    from sopgen.desk.app import create_app

    inbox, port = smtp_server
    team(project, port)
    assert project.run("open", "C-1", "--sop", SOP, "--assignee", "alice").exit_code == 0
    assert remind(project, MON_10)[0] == 0  # plans alice's reminders
    [(pending,)] = project.sql(
        "SELECT count(*) FROM reminders WHERE recipient = 'alice@example.com' AND state = 'pending'"
    )
    assert pending >= 1
    usage = project.run("assign", "C-1")
    assert usage.exit_code == 2 and "LOGIN or --nobody" in usage.output
    unknown = project.run("assign", "C-1", "zed")
    assert unknown.exit_code == 1 and "not a user of the desk" in unknown.output
    moved = project.run("assign", "C-1", "bob")
    assert moved.exit_code == 0, moved.output
    assert "assigned: C-1 to bob (was alice)" in moved.output
    # cancelled at once, before any worker runs again
    assert project.sql(
        "SELECT count(*) FROM reminders WHERE recipient = 'alice@example.com' AND state = 'pending'"
    ) == [(0,)]
    shown = json.loads(project.run("show", "C-1", "--format", "json").stdout)
    assert shown["assignee"] == "bob"

    def feed(login: str) -> str:
        tokens = project.runner.invoke(
            cli, ["--root", str(project.root), "user", "token", login, "--format", "json"]
        )
        assert tokens.exit_code == 0, tokens.output
        token = json.loads(tokens.stdout)["feed_token"]
        app = create_app(project.root)
        try:
            return TestClient(app).get(f"/feeds/{token}.ics").text
        finally:
            app.state.desk.store.close()

    assert "UID:C-1." in feed("bob") and "UID:C-1." not in feed("alice")
    before = len(inbox.messages)
    assert remind(project, "2026-11-24T10:00")[0] == 0
    new = inbox.messages[before:]
    assert {str(m["To"]) for m in new if any("C-1" in r for r in carried(m))} == {"bob@example.com"}


def test_a_case_on_hold_gets_no_reminder_and_stays_out_of_the_digest(project: Project, smtp_server):
    inbox, port = smtp_server
    team(project, port)
    for case in ("C-1", "C-2"):
        opened = project.run("open", case, "--sop", SOP, "--assignee", "alice", now=MON_10)
        assert opened.exit_code == 0, opened.output
    held = project.run("hold", "C-1", "--reason", "photos", now=MON_10)
    assert held.exit_code == 0, held.output
    assert remind(project, MON_10)[0] == 0
    assert inbox.messages and not any("C-1" in r for r in reminders(inbox.messages))
    # next morning C-2's first steps are overdue, C-1's clock is still stopped
    assert remind(project, "2026-11-24T09:00")[0] == 0
    digest = next(m for m in inbox.messages if str(m["To"]) == "mia@example.com")
    assert "C-2" in text_of(digest, "plain") and "C-1" not in text_of(digest, "plain")
    assert not any("C-1" in r for r in reminders(inbox.messages))
    # resumed: its reminders come back, for the deadlines moved by the hold
    resumed = project.run("resume", "C-1", now="2026-11-24T09:00")
    assert resumed.exit_code == 0, resumed.output
    assert remind(project, "2026-11-24T09:00")[0] == 0
    assert any("C-1" in r for r in reminders(inbox.messages))


def test_headers_are_made_by_the_smtp_policy_and_dated_in_the_company_zone(
    project: Project, smtp_server
):
    inbox, port = smtp_server
    team(project, port)
    case = "C-" + "7" * 60  # a long first word: the Subject must not fold before it
    assert project.run("open", case, "--sop", SOP, "--assignee", "bob").exit_code == 0
    code, _, err = remind(project, MON_10)
    assert code == 0, err
    [raw] = inbox.raw
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert b"\n" not in head.replace(b"\r\n", b"")  # CRLF line ends only
    lines = head.split(b"\r\n")
    date = next(line for line in lines if line.startswith(b"Date: "))
    assert date == b"Date: Mon, 23 Nov 2026 10:00:00 +0100"  # Berlin's offset, not -0000
    subject = next(i for i, line in enumerate(lines) if line.startswith(b"Subject:"))
    assert lines[subject][len(b"Subject:") :].startswith(b" ") and lines[subject][9:10].strip()
    unfolded = b"".join([lines[subject], *[x for x in lines[subject + 1 :] if x[:1] in b" \t"]])
    parsed = message_from_bytes(raw)  # compat32, as many clients read it
    assert str(parsed["Subject"]) == str(inbox.messages[0]["Subject"])
    assert not str(parsed["Subject"]).startswith(" ") and len(unfolded) > 9
