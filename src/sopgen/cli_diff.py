"""`sopgen diff [REV] [SOP-ID…]`: a redline of each changed SOP, as HTML and PDF."""

from __future__ import annotations

import re
from pathlib import Path

import click

from sopgen import schema
from sopgen.assets import templates_dir
from sopgen.cli_check import sops_at
from sopgen.console import App, counted, fail, pass_app, report
from sopgen.files import write_atomic
from sopgen.gitrev import GitError, Repo
from sopgen.library import Entry
from sopgen.model import Sop, make_sop
from sopgen.release import changed_fields
from sopgen.source import Document, load_text

DIFF_DIR = Path("output") / "diff"
ID_LINE = re.compile(r"""^id:[ \t]*["']?([A-Za-z0-9][\w.-]*)""", re.MULTILINE)
"""An SOP's `id:` line, read from the text of a file whose YAML does not load."""
MAX_HISTORY = 500
"""How many commits back `diff` looks for an SOP's previous version."""


def _sop(document: Document) -> Sop | None:
    if not isinstance(document.data, dict) or document.problems:
        return None
    if schema.validate(schema.SOP, document.data, document.source):
        return None
    return make_sop(document.data, document.source, document.digest)


def previous_version(repo: Repo, entry: Entry, version: str) -> tuple[str, Document] | None:
    """The newest commit where the SOP's file had another `version`, and the file there."""
    for commit in repo.last_commit_touching(entry.file)[:MAX_HISTORY]:
        raw = repo.read(commit, entry.file)
        if raw is None:
            continue
        document = load_text(raw, entry.file)
        if isinstance(document.data, dict) and str(document.data.get("version")) != version:
            return commit, document
    return None


def _broken(entries: list[Entry]) -> dict[str, Entry]:
    """SOP files that did not load (a YAML syntax error…), by the id their text names.

    A file without a readable `id:` line is named by its path instead, so that it is
    reported when every SOP is compared.
    """
    found: dict[str, Entry] = {}
    for entry in entries:
        data = entry.document.data
        if isinstance(data, dict) and "id" in data:
            continue
        if not any(p.is_error for p in entry.problems):
            continue
        try:
            text = entry.path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            text = ""
        match = ID_LINE.search(text)
        found.setdefault(match.group(1) if match else entry.file, entry)
    return found


@click.command()
@click.argument("args", nargs=-1, metavar="[REV] [SOP-ID]...")
@pass_app
def diff(app: App, args: tuple[str, ...]) -> None:
    """Write a redline of each changed SOP to output/diff/ (HTML and PDF).

    REV is the git revision to compare with; without it, each SOP is compared
    with the last commit where its version was different. Without SOP-IDs,
    every SOP that changed is compared.
    """
    from sopgen.render.environment import environment
    from sopgen.render.pdf import render_pdf
    from sopgen.render.redline import redline_view

    library = app.library()
    config = library.config
    if config is None:
        fail("sopgen.yaml is not valid", "run 'sopgen validate' and fix it first")
        return
    known = {
        str(e.document.data["id"]): e
        for e in library.entries
        if isinstance(e.document.data, dict) and "id" in e.document.data
    }
    broken = _broken(library.entries)
    rev: str | None = None
    ids = list(args)
    if ids and ids[0] not in known and ids[0] not in broken:
        rev, ids = ids[0], ids[1:]
    failed = False
    for sop_id, entry in broken.items():  # named, or every one when none is named
        if ids and sop_id not in ids:
            continue
        report([next(p for p in entry.problems if p.is_error)])
        click.echo(f"{sop_id}: skipped, {entry.file} cannot be read (the error above)", err=True)
        failed = True
    if ids and all(i in broken for i in ids):  # nothing named is left to compare
        raise SystemExit(1)
    ids = [i for i in ids if i not in broken]
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise click.BadParameter(
            f"unknown SOP id {', '.join(unknown)} (known: {', '.join(sorted(known))})",
            param_hint="SOP-ID",
        )
    repo = Repo(app.root)
    try:
        commit = repo.resolve(rev) if rev else None
        before = sops_at(repo, commit) if commit else {}
        if commit is None:
            repo.resolve("HEAD")
    except GitError as exc:
        fail(exc.message, exc.hint, code=2)
        return
    template = environment(app.root).get_template("redline.html.j2")
    allowed = [app.root.resolve(), templates_dir().resolve()]
    out = app.root / DIFF_DIR
    written = 0
    for sop_id in ids or sorted(known):
        entry = known[sop_id]
        new = entry.sop
        if new is None or not entry.valid:
            click.echo(f"{sop_id}: skipped, the SOP is not valid (run 'sopgen validate')", err=True)
            failed = True
            continue
        try:
            found = (
                (commit, before[sop_id])
                if commit and sop_id in before
                else (None if commit else previous_version(repo, entry, new.version))
            )
        except GitError as exc:
            fail(exc.message, exc.hint, code=2)
            return
        if found is None:
            if ids:
                click.echo(f"{sop_id}: no earlier version to compare with", err=True)
            continue
        base, document = found
        old = _sop(document)
        if old is None:
            click.echo(f"{sop_id}: the version at {base[:10]} cannot be read; skipped", err=True)
            continue
        if not changed_fields(document.data, entry.document.data) and old.version == new.version:
            if ids:
                click.echo(f"{sop_id}: unchanged since {rev or base[:10]}", err=True)
            continue
        label = rev or base[:10]
        html_page = template.render(v=redline_view(old, new, config, label, "html"))
        pdf_page = template.render(v=redline_view(old, new, config, label, "pdf"))
        write_atomic(out / f"{sop_id}.html", html_page)
        write_atomic(out / f"{sop_id}.pdf", render_pdf(pdf_page, allowed).data)
        written += 1
        click.echo(
            f"{sop_id}: version {old.version} → {new.version}: "
            f"{DIFF_DIR / sop_id}.html, {DIFF_DIR / sop_id}.pdf",
            err=True,
        )
    click.echo(f"{counted(written, 'redline')} written to {DIFF_DIR}/", err=True)
    if failed:
        raise SystemExit(1)
