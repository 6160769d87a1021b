"""`sopgen sign SOP-ID --meaning M` and `sopgen signatures export`: electronic signatures.

Both run where the desk runs (its case store and its signing key); the records
they make are verified anywhere by `validate`, `check` and `build`
(`sopgen.signatures`). See docs/authoring.md, "Electronic signatures".
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from sopgen import clock, signatures
from sopgen.cases.errors import CaseError
from sopgen.console import App, counted, fail, pass_app
from sopgen.library import unknown_sop
from sopgen.problems import InputError


@click.command()
@click.argument("sop_id", metavar="SOP-ID")
@click.option(
    "--meaning",
    required=True,
    metavar="MEANING",
    help="What the signature means: one of signature_meanings in sopgen.yaml "
    "(default author, review, approval).",
)
@click.option("--reason", metavar="TEXT", help="Why, when the record corrects an earlier one.")
@pass_app
def sign(app: App, sop_id: str, meaning: str, reason: str | None) -> None:
    """Sign an SOP's current content electronically (prompts for login and password).

    The signature binds your login and name, the meaning, the server's time and
    the SHA-256 of the SOP's content as `sopgen check` defines it. The password
    is asked every time and never taken from an argument; a wrong one is refused
    and recorded. Then run `sopgen signatures export` and commit signatures/.
    """
    from sopgen.cases.store.tables import Store
    from sopgen.desk.signing import SigningService

    library = app.library()
    config = library.config
    if config is None:
        raise InputError([p for p in library.config_problems if p.is_error])
    if config.signatures != "electronic":
        fail(
            "sopgen.yaml has signatures: typed, so SOPs are signed by their 'approvals:'",
            "set 'signatures: electronic' in sopgen.yaml to sign with desk users' passwords",
        )
    if meaning not in config.signature_meanings:
        fail(
            f"'{meaning}' is not a signature meaning",
            f"signature meanings in sopgen.yaml: {', '.join(config.signature_meanings)}",
        )
    entry = library.entry(sop_id)
    if entry is None:
        fail(*unknown_sop(library, [sop_id]))
        return
    assert entry.sop is not None
    content_hash = signatures.content_sha256(entry.document.data)
    click.echo(
        f"Signing {sop_id} version {entry.sop.version} ({config.fill(entry.sop.title)}) "
        f"as {meaning}; content SHA-256 {content_hash}",
        err=True,
    )
    login, password = _credentials()
    now = clock.now(config.zone)
    store = Store.for_project(app.root, config.database)
    try:
        made = SigningService(store, app.root.resolve()).sign(
            login=login,
            password=password,
            sop=sop_id,
            version=entry.sop.version,
            content_hash=content_hash,
            meaning=meaning,
            reason=reason,
            now=now,
        )
    except CaseError as exc:
        fail(exc.message, exc.hint)
        return
    finally:
        store.close()
    record = signatures.signed_of([_fields(made.line)], content_hash)[0]
    click.echo(f"{sop_id}: record {made.seq}: {signatures.signed_text(record, config)}")
    if made.new_public_key is not None:
        shown = made.new_public_key.relative_to(app.root.resolve())
        click.echo(
            f"made the desk's signing key; commit its public key {shown} "
            "(check and build accept only records signed by a key in signatures/keys/)",
            err=True,
        )
    click.echo("next: sopgen signatures export, then commit signatures/", err=True)


def _credentials() -> tuple[str, str]:
    """Login and password: prompted on a terminal (the password hidden); from two lines of
    stdin otherwise (scripts). Never from an argument, so never in a shell's history."""
    if not sys.stdin.isatty():
        login = sys.stdin.readline().rstrip("\r\n")
        return login, sys.stdin.readline().rstrip("\r\n")
    login_typed: str = click.prompt("Login", err=True)
    password: str = click.prompt("Password", hide_input=True, err=True)
    return login_typed, password


def _fields(line: str) -> dict[str, Any]:
    fields: dict[str, Any] = json.loads(line)
    return fields


@click.group("signatures")
def signatures_group() -> None:
    """Electronic signature records: export them from the desk into the repository."""


@signatures_group.command("export")
@pass_app
def export(app: App) -> None:
    """Write every SOP's signature records to signatures/SOP-ID.jsonl (append-only)."""
    from sopgen.cases.store.tables import Store
    from sopgen.desk.signing import SigningService

    library = app.library()
    config = library.config
    if config is None:
        raise InputError([p for p in library.config_problems if p.is_error])
    store = Store.for_project(app.root, config.database)
    try:
        written = SigningService(store, app.root.resolve()).export()
    except CaseError as exc:
        fail(exc.message, exc.hint)
        return
    finally:
        store.close()
    for path, added in written:
        click.echo(f"{signatures.SIGNATURES_DIR}/{path.name}: {counted(added, 'new record')}")
    click.echo(
        f"{counted(len(written), 'SOP')} with signatures exported; commit signatures/", err=True
    )
