"""`sopgen remind [--once]`: the reminder worker (see `sopgen.cases.service.reminders`)."""

from __future__ import annotations

import signal
import time
from types import FrameType

import click

from sopgen.cases.cli.db import _errors
from sopgen.console import App, fail, pass_app
from sopgen.problems import InputError


@click.command()
@click.option("--once", is_flag=True, help="One pass: send what is due now, then exit.")
@click.option(
    "--interval",
    type=click.IntRange(5, 3600),
    default=60,
    show_default=True,
    metavar="SECONDS",
    help="Pause between passes when running on.",
)
@pass_app
@_errors
def remind(app: App, once: bool, interval: int) -> None:
    """E-mail assignees before and when steps are due, and managers a daily digest.

    Settings are `smtp:` and `reminders:` in sopgen.yaml. Each reminder goes
    out once, even with several workers on one database; a person gets at most
    one e-mail a run with all their reminders in it, and `max_per_minute`
    caps the e-mails of a run (the rest go out on the next). Run it as a
    service (docs/operations.md: the reminder worker) or from cron with --once.
    """
    from sopgen.cases.service.caseservice import CaseService
    from sopgen.cases.service.reminders import Worker
    from sopgen.cases.store.tables import Store
    from sopgen.cases.views.mail import Mailer
    from sopgen.clock import now as clock_now

    library = app.library()
    config = library.config
    if config is None:
        raise InputError([p for p in library.config_problems if p.is_error])
    if config.smtp is None:
        fail(
            "sopgen.yaml has no smtp: settings, so reminders cannot be sent",
            "add e.g. smtp: {host: mail.example.com, from: desk@example.com, "
            "username: desk@example.com, password_env: SOPGEN_SMTP_PASSWORD}",
        )
    assert config.smtp is not None
    store = Store.for_project(app.root, config.database)
    mailer = Mailer(config.smtp)
    worker = Worker(app.root, CaseService(store, library), mailer)
    stopping = False

    def stop(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    if not once:
        signal.signal(signal.SIGTERM, stop)
    try:
        while True:
            report = worker.run_once(clock_now(config.zone))
            for line in report.sent:
                click.echo(f"sent: {line}")
            for line in report.failed:
                click.echo(f"not sent, will retry: {line}", err=True)
            if once:
                click.echo(
                    f"remind: {len(report.sent)} sent in {report.messages} e-mail"
                    f"{'s' * (report.messages != 1)}, {len(report.failed)} to retry, "
                    f"{report.planned} planned, {report.cancelled} cancelled"
                    + (
                        f", {report.deferred} left for the next run (reminders.max_per_minute)"
                        if report.deferred
                        else ""
                    ),
                    err=True,
                )
                if report.failed:
                    raise SystemExit(1)
                return
            # over the cap: the rest goes out a minute later at the earliest
            for _ in range(max(interval, 60) if report.deferred else interval):
                if stopping:
                    return
                time.sleep(1)
            if stopping:
                return
    finally:
        mailer.close()
        store.close()
