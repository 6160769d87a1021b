"""`sopgen user …` (people of the desk and their tokens) and `sopgen serve` (the desk)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING

import click

from sopgen import clock
from sopgen.cases.errors import CaseError
from sopgen.console import App, counted, fail, pass_app
from sopgen.problems import InputError

if TYPE_CHECKING:
    from sopgen.cases.service.users import UserService


@contextmanager
def _users(app: App) -> Iterator[tuple[UserService, datetime]]:
    from sopgen.cases.service.secretkey import SecretKey
    from sopgen.cases.service.users import UserService
    from sopgen.cases.store.tables import Store

    library = app.library()
    config = library.config
    if config is None:
        raise InputError([p for p in library.config_problems if p.is_error])
    store = Store.for_project(app.root, config.database)
    try:
        yield UserService(store, SecretKey(app.root.resolve())), clock.now(config.zone)
    except CaseError as exc:
        fail(exc.message, exc.hint)
    finally:
        store.close()


def _read_password(prompt: str = "Password") -> str:
    """From stdin when it is not a terminal (scripts), else prompted twice, hidden."""
    if not sys.stdin.isatty():
        line = sys.stdin.readline()
        return line.rstrip("\r\n")
    password: str = click.prompt(prompt, hide_input=True, confirmation_prompt=True)
    return password


@click.group()
def user() -> None:
    """Desk users: add, list, disable, enable, set passwords; issue feed and API tokens.

    Users live in the case store (.sopgen/cases.db or SOPGEN_DATABASE_URL).
    """


@user.command("add")
@click.argument("login", metavar="LOGIN")
@click.option("--name", required=True, metavar="NAME", help="The person's name.")
@click.option(
    "--role",
    required=True,
    type=click.Choice(["rep", "manager", "admin"]),
    help="rep: works own and unassigned cases; manager: all cases; admin: also users.",
)
@click.option("--email", metavar="EMAIL", help="E-mail address (for reminders).")
@pass_app
def add(app: App, login: str, name: str, role: str, email: str | None) -> None:
    """Create a user; the password comes from stdin, or a prompt on a terminal."""
    with _users(app) as (users, now):
        password = _read_password()
        made = users.add(login, name, role, password, now, email)
        click.echo(f"added user {made.login} ({made.name}, {made.role})")
        click.echo(f"tokens for the calendar feed and the API: sopgen user token {made.login}")


@user.command("list")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@pass_app
def list_(app: App, fmt: str) -> None:
    """The desk's users."""
    with _users(app) as (users, _now):
        everyone = users.list()
        if fmt == "json":
            click.echo(
                json.dumps(
                    [
                        {
                            "login": u.login,
                            "name": u.name,
                            "role": u.role,
                            "email": u.email,
                            "disabled": u.disabled,
                            "tokens": u.has_tokens,
                        }
                        for u in everyone
                    ],
                    indent=2,
                    ensure_ascii=False,
                )
            )
            return
        if not everyone:
            click.echo(
                "no users yet; add the first admin with: "
                "sopgen user add LOGIN --name NAME --role admin"
            )
            return
        width = max(len(u.login) for u in everyone)
        for u in everyone:
            state = "disabled" if u.disabled else "active"
            state += ", tokens issued" if u.has_tokens else ", no tokens"
            email = f" <{u.email}>" if u.email else ""
            click.echo(f"{u.login:<{width}}  {u.role:<7}  {u.name}{email}  ({state})")


@user.command()
@click.argument("login", metavar="LOGIN")
@pass_app
def disable(app: App, login: str) -> None:
    """Disable a user: no sign-in, no tokens, signed-in browsers signed out."""
    with _users(app) as (users, _now):
        gone = users.disable(login)
        click.echo(f"disabled user {gone.login}; their sessions and tokens no longer work")
        left = users.open_case_ids(gone.login)
        if left:
            shown = ", ".join(left[:10]) + (", …" if len(left) > 10 else "")
            click.echo(
                f"{gone.login} still has {counted(len(left), 'open case')}: {shown}\n"
                f"hint: give each to someone else: sopgen case assign CASE-ID LOGIN "
                f"(sopgen case list --assignee {gone.login} lists them)"
            )


@user.command()
@click.argument("login", metavar="LOGIN")
@pass_app
def password(app: App, login: str) -> None:
    """Set a new password for a user (one who forgot theirs, or your own); the password
    comes from stdin, or a prompt on a terminal. The user is signed out everywhere;
    their calendar link and API token stay as they were.

    Like every `sopgen user` command, this needs access to the case store, not
    the old password: on the desk, users change their own under Your account.
    """
    with _users(app) as (users, _now):
        new = _read_password(f"New password for {login}")
        changed = users.set_password(login, new)
        click.echo(
            f"new password set for {changed.login}; signed out everywhere "
            "(their calendar link and API token did not change)"
        )


@user.command()
@click.argument("login", metavar="LOGIN")
@pass_app
def enable(app: App, login: str) -> None:
    """Enable a disabled user again: sign-in, feed link and API token work again."""
    with _users(app) as (users, _now):
        back, changed = users.enable(login)
        if not changed:
            click.echo(f"user {back.login} is not disabled; nothing changed")
            return
        click.echo(f"enabled user {back.login}; they can sign in again")
        if back.has_tokens:
            click.echo(
                "their earlier feed link and API token work again; to replace them: "
                f"sopgen user token {back.login} --rotate"
            )


@user.command()
@click.argument("login", metavar="LOGIN")
@click.option(
    "--rotate", is_flag=True, help="Replace the feed link and the API token; old ones stop working."
)
@click.option(
    "--base-url",
    metavar="URL",
    help="The desk's public address, as for sopgen serve (default: SOPGEN_BASE_URL, else "
    "reminders.base_url in sopgen.yaml; without one the feed's path is printed).",
)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@pass_app
def token(app: App, login: str, rotate: bool, base_url: str | None, fmt: str) -> None:
    """A user's calendar-feed URL (the same as on their My work page) and API token.

    The API token is shown once, when it is issued (the first time, or with
    --rotate); the feed URL every time, as it is derived from the server's
    secret key (SOPGEN_SECRET_KEY or .sopgen/secret.key).
    """
    from sopgen.cases.baseurl import HOW_TO_SET, desk_base_url

    base = desk_base_url(base_url, app.library().config)
    with _users(app) as (users, _now):
        issued = users.issue_tokens(login, rotate=rotate)
        path = f"/feeds/{issued.feed_token}.ics" if issued.feed_token else None
        url = f"{base or ''}{path}" if path else None
        if fmt == "json":
            click.echo(
                json.dumps(
                    {
                        "login": issued.login,
                        "feed_token": issued.feed_token,
                        "feed_url": url,
                        "api_token": issued.api_token,
                    },
                    indent=2,
                )
            )
            return
        click.echo(f"tokens for {issued.login} (keep them secret):")
        if url and base:
            click.echo(f"  calendar feed: {url}")
        elif url:
            click.echo(f"  calendar feed: {url}  (on the desk's address; {HOW_TO_SET})")
        else:
            click.echo(
                "  calendar feed: issued by an earlier sopgen, which cannot show it again; "
                "it keeps working. For a link to show: --rotate (the old link stops working)"
            )
        if issued.api_token:
            click.echo(f"  API token:     {issued.api_token}  (shown this once)")
            click.echo("  use it as: Authorization: Bearer <API token>")
        else:
            click.echo(
                "  API token:     issued earlier and shown only then; --rotate replaces it "
                "(and the feed link)"
            )


@user.command()
@pass_app
def rekey(app: App) -> None:
    """Adopt this machine's secret key for the case store, after the old key was lost.

    Every user's calendar link changes (the old links stop working); users find
    their new link on My work. Give every desk of the store the same key.
    """
    with _users(app) as (users, _now):
        count = users.rekey()
        click.echo(
            f"the case store now uses this secret key; {counted(count, 'calendar link')} "
            "replaced (users find the new one on My work)"
        )


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--base-url",
    metavar="URL",
    help="The desk's public address, for feed links (default: SOPGEN_BASE_URL, else "
    "reminders.base_url in sopgen.yaml; without one My work shows the feed's path).",
)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 32),
    help="Processes serving requests (the desk keeps no state outside the database).",
)
@pass_app
def serve(app: App, host: str, port: int, base_url: str | None, workers: int) -> None:
    """Run the case desk (pages, calendar feeds and the JSON API) until interrupted."""
    import uvicorn

    from sopgen.cases.baseurl import VARIABLE as BASE_URL_VARIABLE
    from sopgen.cases.baseurl import desk_base_url
    from sopgen.desk.app import ROOT_VARIABLE, create_app, settle_heap

    base = desk_base_url(base_url, app.library().config)
    try:
        desk = create_app(app.root, base_url=base)  # checks config, library and store now
    except CaseError as exc:
        fail(exc.message, exc.hint)
    click.echo(f"sopgen desk on http://{host}:{port}/ (Ctrl+C stops it)", err=True)
    if workers == 1:
        settle_heap()
        uvicorn.run(desk, host=host, port=port, log_level="warning", proxy_headers=True)
        return
    os.environ[ROOT_VARIABLE] = str(app.root.resolve())
    if base:
        os.environ[BASE_URL_VARIABLE] = base
    uvicorn.run(
        "sopgen.desk.app:app_from_environment",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        log_level="warning",
        proxy_headers=True,
    )
