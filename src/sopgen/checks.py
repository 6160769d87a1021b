"""Semantic checks: what the JSON Schema cannot say about an SOP library.

Each check is a generator of `Problem`s over built model objects (Doorstop's
`get_issues()` pattern), so one run reports everything. `check_library`
runs all of them and returns the problems of each entry, in entry order.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Iterator, Sequence
from contextlib import suppress
from datetime import date
from typing import TYPE_CHECKING, Any

from sopgen import timeframe
from sopgen.anchors import anchor_graph
from sopgen.model import Config, Sop, bad_date, read_date
from sopgen.problems import Problem, error, warning
from sopgen.regions import region_problem
from sopgen.source import Document, FieldPath, Mark, walk

if TYPE_CHECKING:
    from sopgen.library import Entry

RESERVED_IDS = {
    "CON", "PRN", "AUX", "NUL", "INDEX",
    *(f"COM{i}" for i in range(10)),
    *(f"LPT{i}" for i in range(10)),
}  # fmt: skip
"""Ids that cannot be file stems on Windows, or that collide with output/html/index.html."""

DATE_TEXT = re.compile(r"^\d{4}-\d{2}-\d{2}$")

FILLED = ("company",)
"""Placeholders sopgen fills in SOP text."""
BRACES = re.compile(r"\{\s*([A-Za-z_][A-Za-z0-9_ -]{0,40}?)\s*\}")

PLACEHOLDER = re.compile(
    r"\[(?:your|insert|company|name|date|tbd)[^\]]*\]|\bTBD\b|\blorem ipsum\b", re.IGNORECASE
)


class _Reporter:
    def __init__(self, sop: Sop):
        assert sop.source is not None
        self.sop = sop
        self.source = sop.source

    def at(self, path: FieldPath, code: str, message: str, hint: str | None = None) -> Problem:
        mark = self.source.value(path)
        return error(self.source.file, mark.line, mark.column, code, message, hint)

    def warn(self, path: FieldPath, code: str, message: str, hint: str | None = None) -> Problem:
        mark = self.source.value(path)
        return warning(self.source.file, mark.line, mark.column, code, message, hint)

    def step_path(self, key: str, field: str) -> FieldPath:
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
    nameless = [
        e.file
        for e in entries
        if isinstance(e.document.data, dict) and not isinstance(e.document.data.get("id"), str)
    ]
    for entry in entries:
        sop = entry.sop
        document_problems = list(check_document(entry.document, config))
        if sop is None:
            results.append(document_problems)
            continue
        roles = config.roles if config is not None else None
        problems = document_problems + list(check_sop(sop, known, today, nameless, roles))
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


def check_config(config: Config) -> Iterator[Problem]:
    """What the model cannot say about the config: is the holiday region one `holidays` knows?

    The answer is cached per user (`sopgen.regions`), the one side effect of
    validation, kept here rather than in building the model.
    """
    unknown = [m for m in config.required_signatures if m not in config.signature_meanings]
    if unknown and config.source is not None:
        mark = config.source.value(("required_signatures",))
        yield error(
            config.path,
            mark.line,
            mark.column,
            "bad-value",
            f"required_signatures names {', '.join(unknown)}, which signature_meanings lacks",
            f"signature meanings: {', '.join(config.signature_meanings)}",
        )
    if config.holiday_country is None:
        return
    problem = region_problem(config.holiday_country, config.holiday_subdivision)
    if problem and config.source is not None:
        field, message, hint = problem
        mark = config.source.value(("holidays", field))
        yield error(config.path, mark.line, mark.column, "bad-holidays", message, hint)


def check_sop(
    sop: Sop,
    known_ids: set[str],
    today: date,
    nameless: Sequence[str] = (),
    roles: Collection[str] | None = None,
) -> Iterator[Problem]:
    """Checks that need the built model: ids, references, anchors, revisions, lifecycle."""
    r = _Reporter(sop)
    yield from check_id(r)
    yield from check_unique_ids(r)
    yield from check_references(r, known_ids, nameless)
    yield from check_anchors(r)
    yield from check_revisions(r)
    yield from check_accountable(r)
    yield from check_responsibilities(r, roles)
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


def _role_fields(data: dict[str, Any]) -> Iterator[FieldPath]:
    """Paths of every field of a loaded SOP that names a role."""
    yield ("owner",)
    for i, _ in _items(data, "approvals"):
        yield ("approvals", i, "role")
    for s_i, section in _items(data, "procedure"):
        for t_i, step in _items(section, "steps"):
            base: FieldPath = ("procedure", s_i, "steps", t_i)
            yield (*base, "responsible")
            yield (*base, "accountable")
            for field in ("consulted", "informed"):
                for i, _ in _items(step, field):
                    yield (*base, field, i)


def _date_fields(data: dict[str, Any]) -> Iterator[FieldPath]:
    yield ("effective",)
    for key in ("approvals", "revisions"):
        for i, _ in _items(data, key):
            yield (key, i, "date")


def _within_fields(data: dict[str, Any]) -> Iterator[FieldPath]:
    """Every timeframe text: `within:`, or each entry of a per-priority `within:`."""
    for s_i, section in _items(data, "procedure"):
        for t_i, step in _items(section, "steps"):
            path: FieldPath = ("procedure", s_i, "steps", t_i, "within")
            within = step.get("within") if isinstance(step, dict) else None
            if isinstance(within, dict):
                yield from ((*path, priority) for priority in within)
            else:
                yield path


def _items(data: Any, key: str) -> Iterator[tuple[int, Any]]:
    """Index and item of a list field, whatever shape the (maybe invalid) data has."""
    value = data.get(key) if isinstance(data, dict) else None
    return enumerate(value) if isinstance(value, list) else iter(())


def _get(data: Any, path: FieldPath) -> Any:
    for part in path:
        if isinstance(data, dict) and isinstance(part, str):
            data = data.get(part)
        elif isinstance(data, list) and isinstance(part, int) and part < len(data):
            data = data[part]
        else:
            return None
    return data


def check_document(document: Document, config: Config | None) -> Iterator[Problem]:
    """Checks on the loaded data itself, run even when the schema found errors.

    Real dates, the timeframe grammar and known roles are what an author gets
    wrong most; reporting them together with schema errors saves a round trip.
    """
    data = document.data
    if not isinstance(data, dict):
        return
    for path in _date_fields(data):
        value = _get(data, path)
        # other forms than YYYY-MM-DD are the schema's to report
        if isinstance(value, str) and DATE_TEXT.match(value) and read_date(value) is None:
            yield _at(document, path, "bad-date", *bad_date(value))
    for path in _within_fields(data):
        value = _get(data, path)
        if isinstance(value, str):
            try:
                timeframe.parse(value)
            except timeframe.TimeframeError as exc:
                yield _at(document, path, "bad-timeframe", str(exc), exc.hint)
    yield from _check_priorities(document, data, config)
    if config is not None:
        for path in _role_fields(data):
            value = _get(data, path)
            if isinstance(value, str) and value not in config.roles:
                yield _unknown_role(document, path, value, config, document.source.value(path))
        responsibilities = data.get("responsibilities")
        for role in responsibilities if isinstance(responsibilities, dict) else ():
            if role not in config.roles:
                path = ("responsibilities", role)
                yield _unknown_role(document, path, role, config, document.source.key(path))
    yield from check_placeholders(document)
    yield from check_braces(document)


def _check_priorities(
    document: Document, data: dict[str, Any], config: Config | None
) -> Iterator[Problem]:
    """A per-priority `within:` names priorities of sopgen.yaml, all with one anchor."""
    for s_i, section in _items(data, "procedure"):
        for t_i, step in _items(section, "steps"):
            within = step.get("within") if isinstance(step, dict) else None
            if not isinstance(within, dict):
                continue
            path: FieldPath = ("procedure", s_i, "steps", t_i, "within")
            anchors = {}
            for priority, text in within.items():
                if config is not None and priority not in config.priorities:
                    mark = document.source.key((*path, priority))
                    yield error(
                        document.file,
                        mark.line,
                        mark.column,
                        "unknown-priority",
                        f"unknown priority '{priority}'",
                        config.priorities_hint,
                    )
                if isinstance(text, str):
                    with suppress(timeframe.TimeframeError):  # reported with the others
                        anchors[priority] = timeframe.parse(text).after
            if len(set(anchors.values())) > 1:
                named = ", ".join(f"{p}: {a or 'received'}" for p, a in anchors.items())
                yield _at(
                    document,
                    path,
                    "priority-anchors",
                    f"the timeframes of one step must share one anchor ({named})",
                    "anchor every priority on the same step (or none on the received time)",
                )


def _at(document: Document, path: FieldPath, code: str, message: str, hint: str) -> Problem:
    mark = document.source.value(path)
    return error(document.file, mark.line, mark.column, code, message, hint)


def _unknown_role(
    document: Document, path: FieldPath, role: str, config: Config, mark: Mark
) -> Problem:
    close = difflib.get_close_matches(role, list(config.roles), n=1, cutoff=0.5)
    hint = f"did you mean '{close[0]}'? " if close else ""
    hint += f"roles defined in {config.path}: {', '.join(config.roles)}"
    return error(
        document.file, mark.line, mark.column, "unknown-role", f"unknown role '{role}'", hint
    )


def check_references(
    r: _Reporter, known_ids: set[str], nameless: Sequence[str] = ()
) -> Iterator[Problem]:
    """References name SOPs of the library (never the SOP itself)."""
    for i, ref in enumerate(r.sop.references):
        if ref.sop is None:
            continue
        if ref.sop == r.sop.id:
            yield r.at(("references", i, "sop"), "self-reference", "an SOP cannot reference itself")
        elif ref.sop not in known_ids:
            others = sorted(known_ids - {r.sop.id})  # never suggest the SOP's own id
            close = difflib.get_close_matches(ref.sop, others, n=1, cutoff=0.6)
            if nameless:  # the SOP may well be there, in a file whose id is missing
                hint = f"{', '.join(nameless)} has no 'id:'; if that is {ref.sop}, add its id"
            elif close:
                hint = f"did you mean {close[0]}?"
            else:
                hint = "for a document outside the library write '- title: …' instead"
            yield r.at(
                ("references", i, "sop"),
                "unknown-reference",
                f"no SOP with id {ref.sop} in this library",
                hint,
            )


def check_anchors(r: _Reporter) -> Iterator[Problem]:
    graph = anchor_graph(r.sop)
    keys = [s.key for s in graph.steps]
    for step, anchor in graph.unknown:
        close = difflib.get_close_matches(anchor, keys + [k.split(".")[1] for k in keys], n=1)
        yield r.at(
            r.step_path(step.key, "within"),
            "unknown-anchor",
            f"'{step.within.text}' is anchored on '{anchor}', which is no step of this SOP",
            f"did you mean '{close[0]}'?" if close else f"steps of this SOP: {', '.join(keys)}",
        )
    for cycle in graph.cycles:
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


def check_accountable(r: _Reporter) -> Iterator[Problem]:
    """Warn about steps that name no Accountable (the schema admits only one per step)."""
    for s_i, section in enumerate(r.sop.procedure):
        for t_i, step in enumerate(section.steps):
            if step.accountable is None:
                yield r.warn(
                    ("procedure", s_i, "steps", t_i, "id"),
                    "no-accountable",
                    f"step {section.letter}{step.number} ({step.id}) has no Accountable role",
                    "add 'accountable: ROLE': the one role that answers for the step's result "
                    f"(it may be the responsible role, {step.responsible})",
                )


def check_lifecycle(r: _Reporter, today: date) -> Iterator[Problem]:
    sop = r.sop
    if sop.status == "effective" and not any(a.meaning == "approval" for a in sop.approvals):
        yield r.warn(
            ("status",),
            "no-approval",
            "status is 'effective' but the SOP has no approval"
            + (" (only author or review signatures)" if sop.approvals else ""),
            "add 'approvals: [{name: …, role: …, date: YYYY-MM-DD, meaning: approval}]', "
            "or set status: draft",
        )
    # an `effective:` that is there but not a real date is reported as such already
    if (
        sop.status == "effective"
        and sop.effective is None
        and ("effective",) not in r.source.values
    ):
        yield r.warn(
            ("status",),
            "no-effective-date",
            "status is 'effective' but there is no 'effective:' date",
            "add 'effective: YYYY-MM-DD'",
        )
    if sop.status == "effective" and sop.effective is not None and sop.effective > today:
        yield r.at(
            ("status",),
            "effective-in-future",
            f"status is 'effective' but the SOP takes effect on {sop.effective}",
            f"set status: approved; it reads 'approved, effective from {sop.effective}' until then",
        )
    for i, approval in enumerate(sop.approvals):
        if approval.date == date.min:
            continue  # an unreadable date is reported where it stands
        if approval.date > today:
            yield r.at(
                ("approvals", i, "date"),
                "approval-in-future",
                f"approval by {approval.name} is dated {approval.date}, in the future",
                "date an approval on the day it was given",
            )
        elif (
            approval.meaning == "approval"
            and sop.effective is not None
            and approval.date > sop.effective
        ):
            yield r.at(
                ("approvals", i, "date"),
                "approval-after-effective",
                f"approval by {approval.name} ({approval.date}) is dated after the SOP took "
                f"effect ({sop.effective})",
                "an SOP takes effect once approved: move 'effective:' to the approval date or "
                "later; a periodic review is recorded with 'meaning: review'",
            )
    if sop.review_overdue(today):
        yield r.warn(
            ("review_every",),
            "review-overdue",
            f"periodic review was due on {sop.next_review} "
            f"({sop.review_every} after {sop.review_base})",
            "review the SOP, then record the review as a new approval or revision",
        )


def check_responsibilities(r: _Reporter, roles: Collection[str] | None = None) -> Iterator[Problem]:
    """Every role responsible for a step says what it does in `responsibilities`.

    A role that sopgen.yaml lacks (`roles`) is already an unknown-role error at the same
    place; it gets no second word.
    """
    described = {role for role, _ in r.sop.responsibilities}
    seen: set[str] = set()
    for step in r.sop.steps():
        role = step.responsible
        if role in described or role in seen or (roles is not None and role not in roles):
            continue
        seen.add(role)
        yield r.warn(
            r.step_path(step.key, "responsible"),
            "no-responsibility",
            f"'{role}' is responsible for step {step.key} but has no entry under "
            "'responsibilities'",
            f"add '{role}: <what this role does in this SOP>' under responsibilities",
        )


def check_braces(document: Document) -> Iterator[Problem]:
    """`{company}` is the one placeholder sopgen fills; any other `{word}` is a mistake."""
    if all(m.group(1) in FILLED for m in BRACES.finditer(document.text)):
        return  # one search of the whole file spares walking every value
    for path, value in walk(document.data):
        if not isinstance(value, str):
            continue
        for match in BRACES.finditer(value):
            name = match.group(1)
            if name == "company":
                continue
            mark = document.source.value(path)
            close = difflib.get_close_matches(name, list(FILLED), n=1, cutoff=0.6)
            yield error(
                document.file,
                mark.line,
                mark.column,
                "unknown-placeholder",
                f"unknown placeholder '{{{name}}}'",
                f"did you mean '{{{close[0]}}}'?"
                if close
                else "sopgen fills only {company} (the company name from sopgen.yaml)",
            )


def check_placeholders(document: Document) -> Iterator[Problem]:
    """Warn about template text left in: `[Your Company Name]`, `[Your Name]`, TBD …"""
    if not PLACEHOLDER.search(document.text):
        return  # one search of the whole file spares walking every value
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
