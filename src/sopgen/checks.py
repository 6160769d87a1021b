"""Semantic checks: what the JSON Schema cannot say about an SOP library.

Each check is a generator of `Problem`s over built model objects (Doorstop's
`get_issues()` pattern), so one run reports everything. `check_library`
runs all of them and returns the problems of each entry, in entry order.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator, Sequence
from datetime import date
from typing import TYPE_CHECKING

from sopgen.cases.plan import find_cycle, unknown_anchors
from sopgen.model import Config, Sop
from sopgen.problems import Problem, error, warning
from sopgen.source import Document, Path_, walk

if TYPE_CHECKING:
    from sopgen.library import Entry

RESERVED_IDS = {
    "CON", "PRN", "AUX", "NUL", "INDEX",
    *(f"COM{i}" for i in range(10)),
    *(f"LPT{i}" for i in range(10)),
}  # fmt: skip
"""Ids that cannot be file stems on Windows, or that collide with output/html/index.html."""

PLACEHOLDER = re.compile(
    r"\[(?:your|insert|company|name|date|tbd)[^\]]*\]|\bTBD\b|\blorem ipsum\b", re.IGNORECASE
)


class _Reporter:
    def __init__(self, sop: Sop):
        assert sop.source is not None
        self.sop = sop
        self.source = sop.source

    def at(self, path: Path_, code: str, message: str, hint: str | None = None) -> Problem:
        mark = self.source.value(path)
        return error(self.source.file, mark.line, mark.column, code, message, hint)

    def warn(self, path: Path_, code: str, message: str, hint: str | None = None) -> Problem:
        mark = self.source.value(path)
        return warning(self.source.file, mark.line, mark.column, code, message, hint)

    def step_path(self, key: str, field: str) -> Path_:
        for s_i, section in enumerate(self.sop.procedure):
            for t_i, step in enumerate(section.steps):
                if step.key == key:
                    return ("procedure", s_i, "steps", t_i, field)
        return ("procedure",)


def check_library(
    entries: Sequence[Entry], config: Config | None, today: date
) -> list[list[Problem]]:
    """Problems of each entry from the library-wide and per-SOP checks."""
    ids: dict[str, Entry] = {}
    results: list[list[Problem]] = []
    # Ids of every file that names one, even files with schema errors: a reference to
    # a broken SOP is not "unknown", the broken SOP is reported on its own.
    known = {
        e.document.data["id"]
        for e in entries
        if isinstance(e.document.data, dict) and isinstance(e.document.data.get("id"), str)
    }
    for entry in entries:
        sop = entry.sop
        if sop is None:
            results.append([])
            continue
        problems = list(check_sop(sop, config, known, today))
        problems += check_placeholders(entry.document)
        first = ids.setdefault(sop.id, entry)
        if first is not entry:
            problems.append(
                _Reporter(sop).at(
                    ("id",),
                    "duplicate-sop-id",
                    f"SOP id {sop.id} is already used by {first.file}",
                    "every SOP needs its own id; it is also the output file name",
                )
            )
        results.append(problems)
    return results


def check_sop(
    sop: Sop, config: Config | None, known_ids: set[str], today: date
) -> Iterator[Problem]:
    r = _Reporter(sop)
    yield from check_id(r)
    yield from check_unique_ids(r)
    if config is not None:
        yield from check_roles(r, config)
    yield from check_references(r, known_ids)
    yield from check_anchors(r)
    yield from check_revisions(r)
    yield from check_lifecycle(r, today)


def check_id(r: _Reporter) -> Iterator[Problem]:
    if r.sop.id.upper() in RESERVED_IDS:
        yield r.at(
            ("id",),
            "unsafe-id",
            f"SOP id {r.sop.id} cannot be used as an output file name",
            "ids such as CON, NUL, COM1 or INDEX clash with system or output names; "
            "use a prefix, e.g. SOP-CS-001",
        )


def check_unique_ids(r: _Reporter) -> Iterator[Problem]:
    sections: set[str] = set()
    steps: dict[str, str] = {}
    for s_i, section in enumerate(r.sop.procedure):
        if section.id in sections:
            yield r.at(
                ("procedure", s_i, "id"),
                "duplicate-section-id",
                f"section id '{section.id}' is used twice",
                "give every section its own id",
            )
        sections.add(section.id)
        for t_i, step in enumerate(section.steps):
            if step.id in steps:
                yield r.at(
                    ("procedure", s_i, "steps", t_i, "id"),
                    "duplicate-step-id",
                    f"step id '{step.id}' is already used in section '{steps[step.id]}'",
                    "step ids must be unique within an SOP; cases and anchors refer to them",
                )
            steps.setdefault(step.id, section.id)


def _role_problem(r: _Reporter, path: Path_, role: str, config: Config) -> Problem:
    close = difflib.get_close_matches(role, list(config.roles), n=1, cutoff=0.5)
    hint = f"did you mean '{close[0]}'?" if close else None
    defined = ", ".join(config.roles)
    hint = (hint + " " if hint else "") + f"roles defined in {config.path}: {defined}"
    return r.at(path, "unknown-role", f"unknown role '{role}'", hint)


def check_roles(r: _Reporter, config: Config) -> Iterator[Problem]:
    sop, roles = r.sop, config.roles
    uses: list[tuple[Path_, str]] = [(("owner",), sop.owner)]
    uses += [(("responsibilities", role), role) for role, _ in sop.responsibilities]
    uses += [(("approvals", i, "role"), a.role) for i, a in enumerate(sop.approvals)]
    for s_i, section in enumerate(sop.procedure):
        for t_i, step in enumerate(section.steps):
            base: Path_ = ("procedure", s_i, "steps", t_i)
            uses.append(((*base, "responsible"), step.responsible))
            if step.accountable:
                uses.append(((*base, "accountable"), step.accountable))
            uses += [((*base, "consulted", i), role) for i, role in enumerate(step.consulted)]
            uses += [((*base, "informed", i), role) for i, role in enumerate(step.informed)]
    for path, role in uses:
        if role not in roles:
            if path[0] == "responsibilities":
                mark = r.source.key(path)
                problem = _role_problem(r, path, role, config)
                yield error(
                    problem.file,
                    mark.line,
                    mark.column,
                    problem.code,
                    problem.message,
                    problem.hint,
                )
            else:
                yield _role_problem(r, path, role, config)


def check_references(r: _Reporter, known_ids: set[str]) -> Iterator[Problem]:
    for i, ref in enumerate(r.sop.references):
        if ref.sop is None:
            continue
        if ref.sop == r.sop.id:
            yield r.at(("references", i, "sop"), "self-reference", "an SOP cannot reference itself")
        elif ref.sop not in known_ids:
            close = difflib.get_close_matches(ref.sop, sorted(known_ids), n=1, cutoff=0.6)
            yield r.at(
                ("references", i, "sop"),
                "unknown-reference",
                f"no SOP with id {ref.sop} in this library",
                f"did you mean {close[0]}?"
                if close
                else "for a document outside the library write '- title: …' instead",
            )


def check_anchors(r: _Reporter) -> Iterator[Problem]:
    keys = [s.key for s in r.sop.steps()]
    for step, anchor in unknown_anchors(r.sop):
        close = difflib.get_close_matches(anchor, keys + [k.split(".")[1] for k in keys], n=1)
        yield r.at(
            r.step_path(step.key, "within"),
            "unknown-anchor",
            f"'{step.within.text}' is anchored on '{anchor}', which is no step of this SOP",
            f"did you mean '{close[0]}'?" if close else f"steps of this SOP: {', '.join(keys)}",
        )
    cycle = find_cycle(r.sop)
    if cycle:
        yield r.at(
            r.step_path(cycle[0], "within"),
            "anchor-cycle",
            "'after' anchors form a cycle: " + " → ".join([*cycle, cycle[0]]),
            "anchor at least one of these steps on the case's receipt (drop its 'after …')",
        )


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def check_revisions(r: _Reporter) -> Iterator[Problem]:
    sop = r.sop
    newest = sop.revisions[-1]
    if sop.version != newest.version:
        yield r.at(
            ("version",),
            "version-mismatch",
            f'version "{sop.version}" is not the newest revision ("{newest.version}")',
            "add a revision entry for this version at the end of 'revisions', "
            "or set version to the newest one",
        )
    seen: dict[str, int] = {}
    for i, rev in enumerate(sop.revisions):
        if rev.version in seen:
            yield r.at(
                ("revisions", i, "version"),
                "duplicate-revision",
                f"revision {rev.version} appears twice (first as entry {seen[rev.version] + 1})",
                "each revision gets a new version number",
            )
        seen.setdefault(rev.version, i)
        if i == 0:
            continue
        previous = sop.revisions[i - 1]
        if date.min in (rev.date, previous.date):
            continue  # an unreadable date is reported where it stands
        if rev.date < previous.date:
            yield r.at(
                ("revisions", i, "date"),
                "revision-order",
                f"revision {rev.version} is dated {rev.date}, before revision "
                f"{previous.version} ({previous.date})",
                "list revisions oldest first, with dates in order",
            )
        elif _version_key(rev.version) <= _version_key(previous.version) and rev.version not in (
            previous.version,
        ):
            yield r.at(
                ("revisions", i, "version"),
                "revision-order",
                f"revision {rev.version} does not come after {previous.version}",
                "list revisions oldest first, with rising version numbers",
            )


def check_lifecycle(r: _Reporter, today: date) -> Iterator[Problem]:
    sop = r.sop
    if sop.status == "effective" and not sop.approvals:
        yield r.warn(
            ("status",),
            "no-approval",
            "status is 'effective' but the SOP has no approval",
            "add 'approvals: [{name: …, role: …, date: YYYY-MM-DD}]', or set status: draft",
        )
    if sop.status == "effective" and sop.effective is None:
        yield r.warn(
            ("status",),
            "no-effective-date",
            "status is 'effective' but there is no 'effective:' date",
            "add 'effective: YYYY-MM-DD'",
        )
    if sop.review_overdue(today):
        yield r.warn(
            ("review_every",),
            "review-overdue",
            f"periodic review was due on {sop.next_review} "
            f"({sop.review_every} after {sop.review_base})",
            "review the SOP, then record the review as a new approval or revision",
        )


def check_placeholders(document: Document) -> Iterator[Problem]:
    """Warn about template text left in: `[Your Company Name]`, `[Your Name]`, TBD …"""
    for path, value in walk(document.data):
        if isinstance(value, str) and (match := PLACEHOLDER.search(value)):
            mark = document.source.value(path)
            yield warning(
                document.file,
                mark.line,
                mark.column,
                "placeholder",
                f"leftover template placeholder '{match.group(0)}'",
                "write the real text; use {company} for the company name from sopgen.yaml",
            )
