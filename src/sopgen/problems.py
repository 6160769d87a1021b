"""Problems found in user input: what is wrong, where, and how to fix it.

Every check in sopgen yields `Problem`s instead of raising, so one run reports
everything that is wrong (Doorstop's `get_issues()` pattern).

`CODES` is the one registry of problem codes: each kind of mistake has one
code, one severity and so one exit code (an error makes the command exit 1,
a warning leaves it at 0). The codes are public (`--format json`, the desk's
API), listed in docs/authoring.md "Problem codes"; tests/test_problems.py checks
that every code the source uses is registered with the severity it is used
with, and that docs/authoring.md lists exactly these.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


EXIT_CODES = {Severity.ERROR: 1, Severity.WARNING: 0}
"""The exit code a problem of each severity leads to (usage errors exit 2, internal 3)."""


@dataclass(frozen=True, slots=True)
class Kind:
    """One kind of mistake: its code, severity and what it means."""

    code: str
    severity: Severity
    meaning: str

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.severity]


def _kinds(severity: Severity, table: str) -> dict[str, Kind]:
    rows = (line.split(None, 1) for line in table.strip().splitlines())
    return {code: Kind(code, severity, meaning.strip()) for code, meaning in rows}


CODES: dict[str, Kind] = {
    **_kinds(
        Severity.ERROR,
        """
        unreadable            a file is missing, a folder, or cannot be read
        skipped-file          a file in sops/ left unread (a link out of the repository, a FIFO)
        not-utf8              a file is not UTF-8 text
        too-large             a file is larger than sopgen accepts
        empty                 a file holds nothing
        yaml-syntax           YAML that cannot be parsed (tabs, indentation, quotes)
        yaml-tag              an explicit YAML tag (!!python/…, !custom)
        merge-key             a YAML merge key (<<)
        complex-key           a list or mapping used as a key
        duplicate-key         the same key twice in one mapping
        too-many-nodes        a document that expands beyond the node budget (alias bomb)
        too-deep              a document nested too deeply
        not-a-mapping         a file that is not a mapping of fields
        no-config             no sopgen.yaml at the repository root
        missing-field         a required field is missing
        unknown-field         a field the schema does not know
        wrong-type            a value of the wrong type (text, number, list, mapping)
        bad-value             a value that is not one of the allowed ones
        bad-format            a value not in the expected form (ids, times, periods)
        bad-reference         a reference that is neither an SOP nor an outside document
        empty-value           an empty text or list where one is required
        duplicate-item        the same entry twice in a list
        too-long              a text or list longer than allowed
        schema                any other JSON Schema violation
        bad-date              a date that does not exist (2026-13-45)
        bad-timezone          a time zone that is no IANA name
        bad-hours             business hours that close before they open
        bad-reminder          a reminder setting in sopgen.yaml that sopgen cannot use
        bad-holidays          a holiday country or subdivision the holidays package lacks
        bad-timeframe         a `within:` outside the timeframe grammar
        unknown-priority      a per-priority `within:` naming a priority sopgen.yaml lacks
        priority-anchors      the per-priority timeframes of one step with different anchors
        unknown-role          a role not defined in sopgen.yaml
        unknown-anchor        an `after` anchor naming no step of the SOP
        anchor-cycle          `after` anchors that form a cycle
        unknown-reference     a reference to an SOP not in the library
        self-reference        an SOP referencing itself
        unknown-sop           an SOP id on the command line that the library lacks
        unsafe-id             an SOP id that cannot be a file name
        duplicate-sop-id      two SOP files with the same id
        duplicate-section-id  two sections of an SOP with the same id
        duplicate-step-id     two steps of an SOP with the same id
        version-mismatch      `version` is not the newest revision
        duplicate-revision    a revision version listed twice
        revision-order        revisions out of date or version order
        bad-logo              a logo that is a URL, outside the project, missing or no image
        render-failed         a document that could not be rendered or written
        bad-csv               a CSV file that cannot be read as CSV
        bad-header            a CSV header sopgen cannot map to its columns
        bad-row               a CSV row that cannot become a case
        unreleased-change     an SOP changed since REV without a new revision (sopgen check)
        version-down          a version lower than at REV (sopgen check)
        revision-removed      a revision entry removed since REV (sopgen check)
        revision-edited       a revision entry edited since REV (sopgen check)
        effective-unapproved  an effective SOP without an approval of its newest revision
        unknown-placeholder   a `{word}` in SOP text other than {company}
        approval-in-future    an approval dated after today
        approval-after-effective  an approval dated after the SOP took effect
        effective-in-future   status effective before the effective date (it is approved)
        signature-malformed   a signature record line that is no record (sopgen.signatures)
        signature-invalid     a signature record that does not match its signature (edited)
        signature-unknown-key  a signature record signed by a key not in signatures/keys/
        signature-other-sop   a signature record of another SOP (copied)
        signature-chain       a signature record out of its hash chain (one deleted or edited)
        signature-history     a signature record removed or changed since REV (sopgen check)
        bad-signing-key       a file in signatures/keys/ that is no Ed25519 public key
        unsigned-effective    an effective SOP without the required electronic signatures
        """,
    ),
    **_kinds(
        Severity.WARNING,
        """
        review-overdue        the periodic review date has passed
        placeholder           template text left in (`[Your Company Name]`, TBD)
        no-approval           an effective SOP without an approval
        no-effective-date     an effective SOP without an effective date
        fetch-refused         a document asked for a file outside the project (not fetched)
        no-responsibility     a step's responsible role has no entry under responsibilities
        no-accountable        a step that names no Accountable role
        """,
    ),
}


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an input file, pointed at 1-based line and column."""

    file: str
    line: int
    column: int
    severity: Severity
    code: str
    message: str
    hint: str | None = None

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def format(self) -> str:
        text = f"{self.file}:{self.line}:{self.column}: {self.severity}: {self.message}"
        if self.hint:
            text += f"\n    hint: {self.hint}"
        return text

    def to_json(self) -> dict[str, object]:
        data = asdict(self)
        data["severity"] = str(self.severity)
        return data


def error(
    file: str, line: int, column: int, code: str, message: str, hint: str | None = None
) -> Problem:
    return Problem(file, line, column, Severity.ERROR, code, message, hint)


def warning(
    file: str, line: int, column: int, code: str, message: str, hint: str | None = None
) -> Problem:
    return Problem(file, line, column, Severity.WARNING, code, message, hint)


def has_errors(problems: Iterable[Problem]) -> bool:
    return any(p.is_error for p in problems)


def sort_key(problem: Problem) -> tuple[str, int, int, str]:
    return (problem.file, problem.line, problem.column, problem.code)


def to_json(problems: Iterable[Problem]) -> str:
    return json.dumps([p.to_json() for p in sorted(problems, key=sort_key)], indent=2)


class InputError(Exception):
    """Raised at the edges (CLI, build, cases) when input problems stop the work."""

    def __init__(self, problems: list[Problem]):
        super().__init__("\n".join(p.format() for p in problems))
        self.problems = problems


def not_text(value: str) -> str | None:
    """None when `value` is text that can be written as UTF-8; else `value` shown with
    its offending parts escaped (`caf\\xe9`, `\\ud800`). Python keeps bytes that are not
    UTF-8 in a command-line argument as lone surrogates (`surrogateescape`), and JSON
    may spell one (`"\\ud800"`); neither can be stored, printed or sent as text."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        pass
    else:
        return None
    try:  # a command-line argument's bytes: show them as bytes
        raw = value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate from JSON: show it as its escape
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    return raw.decode("utf-8", "backslashreplace")
