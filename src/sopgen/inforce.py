"""Which version of an SOP was in force on a day, from the repository's git history.

A complaint received on Friday 2026-11-20 while version 1.0 was effective is
handled under 1.0, even after 1.1 took effect on 2026-12-07 (issue 20, item 3).
The older text comes from git: every commit that touched the SOP's file is read,
and each version's released state is the newest commit where the file had that
version with status `approved` or `effective` and an `effective:` date. The
version in force on a day is the released one with the latest effective date on
or before that day.

Pure apart from reading git (`sopgen.gitrev`); nothing here knows cases.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sopgen import schema
from sopgen.gitrev import Repo
from sopgen.model import Sop, make_sop, read_date
from sopgen.release import version_key
from sopgen.source import load_text

IN_FORCE = ("approved", "effective")
MAX_HISTORY = 500
"""How many commits back the history is read (bounded: one `git cat-file` each)."""


@dataclass(frozen=True)
class Released:
    """One released version of an SOP file, as the newest commit with it says."""

    version: str
    effective: date
    commit: str
    raw: bytes  # the file's bytes at `commit`


def released_versions(repo: Repo, path: str) -> list[Released]:
    """Every released version of the SOP file `path` in git, by effective date (oldest first).

    Raises `sopgen.gitrev.GitError` when git cannot be asked (not a repository).
    """
    repo.resolve("HEAD")  # "not in a git repository" as a GitError, not an empty history
    found: dict[str, Released] = {}
    for commit in repo.last_commit_touching(path)[:MAX_HISTORY]:  # newest first
        raw = repo.read(commit, path)
        if raw is None:
            continue
        data = _data(raw, path)
        if data is None:
            continue
        version = str(data.get("version"))
        effective = read_date(str(data.get("effective"))) if data.get("effective") else None
        if data.get("status") not in IN_FORCE or effective is None or version in found:
            continue
        found[version] = Released(version, effective, commit, raw)
    return sorted(found.values(), key=lambda r: (r.effective, version_key(r.version)))


def in_force_on(released: list[Released], day: date) -> Released | None:
    """The released version with the latest effective date on or before `day`, if any."""
    before = [r for r in released if r.effective <= day]
    return before[-1] if before else None


def sop_of(released: Released, path: str) -> Sop:
    """The `Sop` of a released version (it passed the schema when it was found)."""
    document = load_text(released.raw, path)
    assert isinstance(document.data, dict)
    return make_sop(document.data, document.source, document.digest)


def _data(raw: bytes, path: str) -> dict[str, Any] | None:
    document = load_text(raw, path)
    if not isinstance(document.data, dict) or document.problems:
        return None
    if schema.validate(schema.SOP, document.data, document.source):
        return None
    return document.data


def governed_note(case_sop: Sop, current: Sop | None) -> str | None:
    """ "governed by version 1.0; 1.1 in force since 7 Dec 2026" for a case planned under an
    older version than the one in force now; None when it runs under the current one."""
    if current is None or current.status not in IN_FORCE or current.effective is None:
        return None
    if version_key(current.version) <= version_key(case_sop.version):
        return None
    since = f"{current.effective.day} {current.effective:%b %Y}"
    return f"governed by version {case_sop.version}; {current.version} in force since {since}"
