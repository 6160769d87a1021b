"""`sopgen check --since REV`: the release gate for CI and pre-commit."""

from __future__ import annotations

import click

from sopgen import schema, signatures
from sopgen.console import App, counted, fail, pass_app, report, summary
from sopgen.gitrev import GitError, Repo
from sopgen.library import SOPS_DIR
from sopgen.problems import Problem, has_errors
from sopgen.release import changed_fields, release_problems
from sopgen.source import Document, load_text


def sops_at(repo: Repo, commit: str) -> dict[str, Document]:
    """SOP documents at `commit` that load and pass the schema, by SOP id."""
    found: dict[str, Document] = {}
    for path in repo.files(commit, SOPS_DIR):
        if not path.endswith((".yaml", ".yml")):
            continue
        raw = repo.read(commit, path)
        if raw is None:
            continue
        document = load_text(raw, path)
        if not isinstance(document.data, dict) or document.problems:
            continue
        if schema.validate(schema.SOP, document.data, document.source):
            continue  # an SOP that was broken then has no version to compare with
        found.setdefault(str(document.data["id"]), document)
    return found


VERSION_RULES = frozenset({"version-down", "unreleased-change"})
"""The gate's problems at `version:` that say all validate's `version-mismatch` would."""


@click.command()
@click.option(
    "--since",
    "rev",
    required=True,
    metavar="REV",
    help="The git revision to compare with, e.g. origin/main or the pull request's base.",
)
@pass_app
def check(app: App, rev: str) -> None:
    """Refuse SOP changes since REV that are not released as a new version.

    Every SOP whose content changed needs a higher version with a new revision
    entry; versions never go down; earlier revision entries are never edited;
    an effective SOP needs an approval dated on or after its newest revision
    (under signatures: electronic, valid signature records of the required
    meanings on its current content; records are only ever appended).
    An SOP that `sopgen validate` rejects fails the check with the same errors.
    """
    repo = Repo(app.root)
    try:
        commit = repo.resolve(rev)
        before = sops_at(repo, commit)
    except GitError as exc:
        fail(exc.message, exc.hint, code=2)
        return
    library = app.library()
    # An SOP that validate rejects fails the gate too, with validate's errors: a release
    # of an invalid SOP is no release (signature records included: sopgen.signatures).
    electronic = library.config is not None and library.config.signatures == "electronic"
    problems: list[Problem] = [p for p in library.config_problems if p.is_error]
    problems += library.skipped
    problems += [p for p in library.other_problems if p.is_error]
    changed = 0
    for entry in library.entries:
        invalid = [p for p in entry.problems if p.is_error]
        if entry.sop is None:  # cannot be compared: the errors say why
            problems += invalid
            continue
        old = before.get(entry.sop.id)
        if old is not None and changed_fields(old.data, entry.document.data):
            changed += 1
        released = list(release_problems(old, entry.document, rev, electronic=electronic))
        if any(p.code in VERSION_RULES for p in released):  # says more than validate's
            invalid = [p for p in invalid if p.code != "version-mismatch"]
        problems += invalid + released
    try:
        problems += _record_history(repo, commit, app)
    except GitError as exc:
        fail(exc.message, exc.hint, code=2)
        return
    report(problems)
    checked = len(library.entries)
    if has_errors(problems):
        files = counted(checked, "SOP file")
        click.echo(f"{summary(problems)}; {files} checked since {rev}", err=True)
        raise SystemExit(1)
    click.echo(
        f"ok: {counted(checked, 'SOP file')} checked since {rev} ({commit[:10]}); "
        f"{changed} changed, all released",
        err=True,
    )


def _record_history(repo: Repo, commit: str, app: App) -> list[Problem]:
    """Signature records at `commit` that are no longer in the working tree, unchanged."""
    problems: list[Problem] = []
    for path in repo.files(commit, signatures.SIGNATURES_DIR):
        if not path.endswith(".jsonl"):
            continue
        raw = repo.read(commit, path)
        if raw is None:
            continue
        current = app.root / path
        try:
            now = current.read_text(encoding="utf-8") if current.exists() else ""
        except (OSError, UnicodeDecodeError):
            continue  # reported by the verification
        problems += signatures.history_problems(raw.decode("utf-8", "replace"), now, path)
    return problems
