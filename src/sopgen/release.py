"""The release gate: what changed in an SOP since an earlier revision, and is it released?

Pure: two loaded documents (the SOP as it was at a git revision, and as it is
now) in, `Problem`s out. `sopgen check --since REV` (in `cli_check.py`) reads
the files from git and calls `release_problems` for every SOP.

Rules (docs/authoring.md "The release gate"):

- content changed → the newest revision is a new entry whose version is higher
  than the old version (reported at `version:`);
- the version never goes down (at `version:`);
- revision entries that existed before are never edited or removed (at the
  edited entry);
- an `effective` SOP has an approval dated on or after its newest revision (at
  `status:`; checked for every SOP, changed or not).

"Content" is everything a reader of the document sees except the
document-control record itself: `revisions`, `approvals`, `status` and
`effective` change when a version is reviewed and released, not when it is
written. Formatting is not content: comments, blank lines, key order, YAML
quoting and block style, and runs of spaces inside a line all load to the same
normalised data.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from typing import Any

from sopgen.problems import Problem, error
from sopgen.source import Document, FieldPath

CONTROL_FIELDS = frozenset({"version", "revisions", "approvals", "status", "effective"})
"""Fields that record the release of a version rather than what the version says (a
changed `version` alone is judged by the version rules, not as a content change)."""


def version_key(version: str) -> tuple[int, ...]:
    """`"1.10"` → (1, 10): versions compare part by part, as numbers."""
    return tuple(int(part) for part in version.split("."))


def normalise(value: Any) -> Any:
    """Loaded YAML data with formatting differences removed (mappings compare unordered)."""
    if isinstance(value, dict):
        return {key: normalise(item) for key, item in value.items()}
    if isinstance(value, list):
        return [normalise(item) for item in value]
    if isinstance(value, str):
        lines = (re.sub(r"[ \t]+", " ", line).strip() for line in value.strip().splitlines())
        return "\n".join(lines)
    return value


def content(data: dict[str, Any]) -> dict[str, Any]:
    """What the document says, without its release record, normalised."""
    return {key: normalise(value) for key, value in data.items() if key not in CONTROL_FIELDS}


def changed_fields(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Top-level content fields that differ, in the order of the new file."""
    before, after = content(old), content(new)
    keys = list(dict.fromkeys([*after, *before]))
    return [key for key in keys if before.get(key) != after.get(key)]


class _At:
    def __init__(self, document: Document):
        self.document = document

    def error(self, path: FieldPath, code: str, message: str, hint: str) -> Problem:
        mark = self.document.source.value(path)
        return error(self.document.file, mark.line, mark.column, code, message, hint)

    def key_error(self, path: FieldPath, code: str, message: str, hint: str) -> Problem:
        mark = self.document.source.key(path)
        return error(self.document.file, mark.line, mark.column, code, message, hint)


def _revisions(data: dict[str, Any]) -> list[dict[str, Any]]:
    revisions = data.get("revisions")
    if not isinstance(revisions, list):
        return []
    return [r for r in revisions if isinstance(r, dict)]


def release_problems(
    old: Document | None, new: Document, since: str, *, electronic: bool = False
) -> Iterator[Problem]:
    """Problems of releasing `new` when `old` was its text at revision `since`.

    `old` is None for an SOP that did not exist at `since` (then only the
    approval rule applies). Both documents must have loaded and passed the
    schema; the caller skips those that did not. Under `signatures: electronic`
    (`electronic`) the typed approvals are not judged: signature records are
    (`sopgen.signatures`, problem `unsigned-effective`).
    """
    at = _At(new)
    data = new.data
    if old is not None:
        yield from _version_rules(at, old.data, data, since)
    if not electronic:
        yield from _approval_rule(at, data)


def _version_rules(
    at: _At, old: dict[str, Any], new: dict[str, Any], since: str
) -> Iterator[Problem]:
    old_version, new_version = str(old["version"]), str(new["version"])
    old_revisions, new_revisions = _revisions(old), _revisions(new)
    if version_key(new_version) < version_key(old_version):
        yield at.error(
            ("version",),
            "version-down",
            f'version went down from "{old_version}" (at {since}) to "{new_version}"',
            f'versions only rise: keep "{old_version}" or release a higher one with a new '
            "revision entry",
        )
    changes = changed_fields(old, new)
    if changes:
        known = {str(r.get("version")) for r in old_revisions}
        newest = new_revisions[-1] if new_revisions else {}
        released = version_key(new_version) > version_key(old_version) and (
            str(newest.get("version")) not in known
        )
        if not released:
            shown = ", ".join(changes[:4]) + (" …" if len(changes) > 4 else "")
            if version_key(new_version) > version_key(old_version):
                # raised, but the newest revision entry is one that was there at `since`
                yield at.error(
                    ("version",),
                    "unreleased-change",
                    f"content changed since {since} ({shown}) and version went from "
                    f'"{old_version}" (at {since}) to "{new_version}", but revisions has no '
                    f'new entry for "{new_version}"',
                    f"add a revision entry for \"{new_version}\" at the end of 'revisions' "
                    "(version, date, description, author)",
                )
            elif new_version == old_version:
                yield at.error(
                    ("version",),
                    "unreleased-change",
                    f"content changed since {since} ({shown}) but version is still "
                    f'"{new_version}", as at {since}',
                    f'raise version above "{old_version}" and add a revision entry for it at '
                    "the end of 'revisions' (version, date, description, author)",
                )
    by_version = {str(r.get("version")): (i, r) for i, r in enumerate(new_revisions)}
    for old_revision in old_revisions:
        version = str(old_revision.get("version"))
        if version not in by_version:
            yield at.key_error(
                ("revisions",),
                "revision-removed",
                f"revision {version} (at {since}) was removed from the history",
                "the revision history is a record: keep every earlier entry as it was",
            )
            continue
        index, entry = by_version[version]
        edited = [
            key
            for key in dict.fromkeys([*entry, *old_revision])
            if normalise(entry.get(key)) != normalise(old_revision.get(key))
        ]
        if edited:
            yield at.error(
                ("revisions", index, edited[0]),
                "revision-edited",
                f"revision {version} was edited since {since} ({', '.join(edited)} changed)",
                f"restore revision {version} as it was; describe the change in a new revision "
                "entry instead",
            )


def _approval_rule(at: _At, data: dict[str, Any]) -> Iterator[Problem]:
    if data.get("status") != "effective":
        return
    revisions = _revisions(data)
    newest = _date(revisions[-1].get("date")) if revisions else None
    if newest is None:
        return  # an unreadable date is reported by validate where it stands
    dates = [
        d
        for a in data.get("approvals") or []
        if a.get("meaning", "approval") == "approval" and (d := _date(a.get("date"))) is not None
    ]
    if not any(d >= newest for d in dates):
        latest = f"the latest approval ({max(dates)}) predates" if dates else "nobody approved"
        yield at.error(
            ("status",),
            "effective-unapproved",
            f"status is 'effective' but {latest} the newest revision "
            f"({revisions[-1].get('version')} of {newest})",
            "record the approval of this version in 'approvals' (name, role, date on or after "
            f"{newest}), or set status: in-review until it is approved",
        )


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None
