"""View data: what the templates show, computed once from the model.

Pure functions: `Sop` + `Config` (+ the titles of referenced SOPs) in, plain
frozen dataclasses of strings and `Markup` out. Templates own presentation;
nothing here knows about HTML layout, and everything is picklable so a
worker process can take it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date

from markupsafe import Markup

from sopgen.model import Config, Sop
from sopgen.render import markdown
from sopgen.render.timing import TimingRule, timing_rules
from sopgen.signatures import signed_text
from sopgen.timeframe import Timeframe

STATUS_LABELS = {
    "draft": "Draft",
    "in-review": "In review",
    "approved": "Approved",
    "effective": "Effective",
    "retired": "Retired",
}
WATERMARKS = {"draft": "DRAFT", "in-review": "IN REVIEW", "retired": "RETIRED"}
NOTICES = {
    "draft": "This document is a draft: it is not in force yet.",
    "in-review": "This document is in review: it is not in force yet.",
    "retired": "This document is retired: it is no longer in force.",
}
DEFAULT_FONT = "Liberation Sans"
MEANINGS = {"author": "Author", "review": "Reviewer", "approval": "Approver"}
RACI_LEGEND = (
    ("R", "Responsible", "does the work of the step"),
    ("A", "Accountable", "answers for the result; one role per step"),
    ("C", "Consulted", "gives input before or while the step is done"),
    ("I", "Informed", "is told of the outcome"),
)


@dataclass(frozen=True, slots=True)
class Brand:
    company: str
    language: str
    primary: str
    accent: str
    font: str
    logo: str | None  # a data: URI, so pages work from file:// and PDFs fetch nothing


@dataclass(frozen=True, slots=True)
class StepRow:
    label: str  # A1, A2 … as steps are referred to everywhere
    anchor: str  # "step-A1": a stable link target in the HTML
    number: int
    text: Markup
    notes: Markup | None
    responsible: str  # display name
    within: str


@dataclass(frozen=True, slots=True)
class SectionView:
    letter: str
    title: str
    anchor: str
    steps: tuple[StepRow, ...]


@dataclass(frozen=True, slots=True)
class MatrixRow:
    label: str
    anchor: str
    text: Markup
    letters: tuple[str, ...]  # one per matrix role, "" when none


@dataclass(frozen=True, slots=True)
class ReferenceView:
    sop: str | None  # id of a library SOP
    title: str
    href: str | None
    note: Markup | None


@dataclass(frozen=True, slots=True)
class Signature:
    name: str
    role: str
    date: str
    meaning: str  # Author, Reviewer, Approver


@dataclass(frozen=True, slots=True)
class ESignature:
    """An electronic signature as the document manifests it (`sopgen.signatures`)."""

    text: str  # "Electronically signed by Dana Reyes (Manager) · Approval · 20 Nov 2026 14:03 CET"
    covers: bool  # False: it signed earlier content (the SOP was edited after signing)
    signed_hash: str


@dataclass(frozen=True, slots=True)
class RevisionView:
    version: str
    date: str
    description: Markup
    author: str


@dataclass(frozen=True, slots=True)
class TargetRow:
    """A step with timeframes per case priority: one cell per priority of sopgen.yaml."""

    label: str
    anchor: str
    text: Markup
    cells: tuple[str, ...]  # the timeframe for each priority (normal's where not listed)


@dataclass(frozen=True, slots=True)
class SopView:
    brand: Brand
    medium: str  # "html" or "pdf"
    id: str
    title: str
    version: str
    status: str
    status_label: str
    watermark: str | None
    notice: str | None
    supersedes: str | None  # "Supersedes version 1.0 of 2025-09-18"
    change: Markup  # the newest revision's description: why this version
    generated: str  # the date this file was written (the project clock)
    timing: tuple[TimingRule, ...]
    effective: str
    owner: str
    review_every: str
    next_review: str
    approvals: tuple[Signature, ...]
    introduction: Markup
    purpose: Markup
    scope: Markup
    responsibilities: tuple[tuple[str, Markup], ...]
    sections: tuple[SectionView, ...]
    matrix_roles: tuple[str, ...]
    matrix: tuple[MatrixRow, ...]
    legend: tuple[tuple[str, str, str], ...]
    documentation: Markup
    retention: str | None
    references: tuple[ReferenceView, ...]
    revisions: tuple[RevisionView, ...]
    description: str  # PDF subject / meta description
    keywords: str
    created: str  # dcterms dates from the SOP's own data, never the build time
    modified: str
    index_href: str | None  # the HTML page links to the index and to its PDF
    pdf_href: str | None
    priorities: tuple[str, ...] = ()  # the columns of `targets`
    targets: tuple[TargetRow, ...] = ()  # steps with a timeframe per priority
    electronic: bool = False  # sopgen.yaml `signatures: electronic`
    content_sha256: str = ""  # what electronic signatures sign (`sopgen check`'s content)
    esignatures: tuple[ESignature, ...] = ()


@dataclass(frozen=True, slots=True)
class IndexRow:
    id: str
    title: str
    version: str
    status: str
    status_label: str
    effective: str
    owner: str
    next_review: str
    overdue: bool
    html: str
    pdf: str | None


@dataclass(frozen=True, slots=True)
class IndexView:
    brand: Brand
    rows: tuple[IndexRow, ...]
    retired: tuple[IndexRow, ...]  # withdrawn: listed apart, without documents
    today: str
    overdue: int


def _iso(day: date | None) -> str:
    return day.isoformat() if day else "—"


def within_text(sop: Sop, text: str, after: str | None) -> str:
    """The timeframe as written, with an anchor step named by its label (`after step C1`)."""
    anchor = sop.step(after) if after else None
    if anchor is None:
        return text
    letter = next(s.letter for s in sop.procedure if s.id == anchor.section)
    head = re.split(r"\s+after\s+", text, maxsplit=1, flags=re.IGNORECASE)[0]
    return f"{head} after step {letter}{anchor.number}"


def ordered_targets(
    within_by: tuple[tuple[str, Timeframe], ...], priorities: tuple[str, ...]
) -> list[tuple[str, Timeframe]]:
    """Per-priority timeframes in the order of `priorities:` (unknown ones last)."""
    rank = {p: i for i, p in enumerate(priorities)}
    return sorted(within_by, key=lambda item: rank.get(item[0], len(rank)))


def brand(config: Config, logo: str | None = None) -> Brand:
    return Brand(
        company=config.company,
        language=config.language,
        primary=config.primary_color,
        accent=config.accent_color,
        font=config.font or DEFAULT_FONT,
        logo=logo,
    )


def matrix_roles(sop: Sop) -> list[str]:
    """Matrix columns in process order: roles as the steps first name them."""
    seen: dict[str, None] = {}
    for step in sop.steps():
        for role in step.raci():
            seen.setdefault(role, None)
    return list(seen)


def retention_text(sop: Sop, config: Config) -> str | None:
    """ "3 years", or "3 years after the end of employment" when it counts from an event."""
    if sop.retention is None:
        return None
    if sop.retention_from:
        return f"{sop.retention} after {config.fill(sop.retention_from)}"
    return str(sop.retention)


def supersedes(sop: Sop) -> str | None:
    """ "Supersedes version 1.0 of 2025-09-18", or None for a first issue."""
    if len(sop.revisions) < 2:
        return None
    previous = sop.revisions[-2]
    return f"Supersedes version {previous.version} of {_iso(previous.date)}"


def sop_view(
    sop: Sop,
    config: Config,
    titles: Mapping[str, str],
    medium: str,
    logo: str | None = None,
    generated: date | None = None,
) -> SopView:
    """The view of one SOP for `medium` ("html" or "pdf").

    `titles` maps the ids of SOPs that are built (valid) to their titles; a
    reference to one of them, and every mention of its id in any text, becomes
    a link to its document of the same medium. `generated` is the date the
    file is written (the project clock), printed beside "Uncontrolled when
    printed".
    """
    link = markdown.SopLinker(titles, medium, own=sop.id)

    def fill(text: str) -> str:
        return config.fill(text)

    def inline(text: str) -> Markup:
        return link(markdown.inline(text, fill))

    def block(text: str) -> Markup:
        return link(markdown.block(text, fill))

    role = config.role_name
    sections = []
    matrix_rows = []
    roles = matrix_roles(sop)
    targets: list[TargetRow] = []
    for section in sop.procedure:
        rows = []
        for step in section.steps:
            text = inline(step.do)
            label = f"{section.letter}{step.number}"
            rows.append(
                StepRow(
                    label=label,
                    anchor=f"step-{label}",
                    number=step.number,
                    text=text,
                    notes=inline(step.notes) if step.notes else None,
                    responsible=role(step.responsible),
                    within=(
                        "; ".join(
                            f"{priority}: {within_text(sop, tf.text, tf.after)}"
                            for priority, tf in ordered_targets(step.within_by, config.priorities)
                        )
                        if step.within_by
                        else within_text(sop, step.within.text, step.within.after)
                    ),
                )
            )
            if step.within_by:
                targets.append(
                    TargetRow(
                        label,
                        f"step-{label}",
                        text,
                        tuple(
                            within_text(sop, step.timeframe(p).text, step.timeframe(p).after)
                            for p in config.priorities
                        ),
                    )
                )
            raci = step.raci()
            matrix_rows.append(
                MatrixRow(label, f"step-{label}", text, tuple(raci.get(r, "") for r in roles))
            )
        sections.append(
            SectionView(section.letter, fill(section.title), f"section-{section.id}", tuple(rows))
        )
    references = []
    for ref in sop.references:
        if ref.sop:
            known = ref.sop in titles
            references.append(
                ReferenceView(
                    sop=ref.sop,
                    title=titles.get(ref.sop, ref.title or ""),
                    href=f"{ref.sop}.{medium}" if known else None,
                    note=_ref_note(inline, ref.note, titles.get(ref.sop, ref.title or "")),
                )
            )
        else:
            url = ref.url if markdown.safe_url(ref.url) else None
            references.append(
                ReferenceView(
                    sop=None,
                    title=fill(ref.title or ref.url or ""),
                    href=url,
                    note=_ref_note(inline, ref.note, fill(ref.title or ref.url or "")),
                )
            )
    revision_dates = [r.date for r in sop.revisions if r.date != date.min]
    created = min(revision_dates) if revision_dates else sop.effective
    modified = max(revision_dates) if revision_dates else sop.effective
    return SopView(
        brand=brand(config, logo),
        medium=medium,
        id=sop.id,
        title=fill(sop.title),
        version=sop.version,
        status=sop.status,
        status_label=STATUS_LABELS.get(sop.status, sop.status),
        watermark=WATERMARKS.get(sop.status),
        notice=NOTICES.get(sop.status),
        supersedes=supersedes(sop),
        change=inline(sop.revisions[-1].description),
        generated=_iso(generated),
        timing=timing_rules(config),
        effective=_iso(sop.effective),
        owner=role(sop.owner),
        review_every=str(sop.review_every) if sop.review_every else "—",
        next_review=_iso(sop.next_review),
        approvals=tuple(
            Signature(a.name, role(a.role), _iso(a.date), MEANINGS.get(a.meaning, a.meaning))
            for a in sop.approvals
        ),
        electronic=config.signatures == "electronic",
        content_sha256=sop.content_sha256,
        esignatures=tuple(
            ESignature(signed_text(s, config), s.covers, s.content_sha256) for s in sop.signed
        ),
        introduction=block(sop.introduction),
        purpose=block(sop.purpose),
        scope=block(sop.scope),
        responsibilities=tuple((role(r), inline(text)) for r, text in sop.responsibilities),
        sections=tuple(sections),
        matrix_roles=tuple(role(r) for r in roles),
        matrix=tuple(matrix_rows),
        legend=RACI_LEGEND,
        documentation=block(sop.documentation),
        retention=retention_text(sop, config),
        references=tuple(references),
        revisions=tuple(
            RevisionView(r.version, _iso(r.date), inline(r.description), r.author)
            for r in sop.revisions
        ),
        description=f"Standard operating procedure {sop.id}: {fill(sop.title)}, "
        f"version {sop.version} ({STATUS_LABELS.get(sop.status, sop.status).lower()})",
        keywords=", ".join(
            [sop.id, "SOP", config.company, *(fill(s.title) for s in sop.procedure)]
        ),
        created=_iso(created),
        modified=_iso(modified),
        index_href="index.html" if medium == "html" else None,
        pdf_href=f"../pdf/{sop.id}.pdf" if medium == "html" else None,
        priorities=config.priorities if targets else (),
        targets=tuple(targets),
    )


def _ref_note(inline: Callable[[str], Markup], note: str | None, title: str) -> Markup | None:
    """A reference's note, unless it only repeats the reference's title in other words."""
    if not note:
        return None
    if title and note.lower().startswith(title.lower()):
        note = note[len(title) :].lstrip(" ,:;.—–-")  # "Escalation Procedure, for cases …"
    if not note or _words(note) <= _words(title) | _FILLER:
        return None
    return inline(note)


_FILLER = frozenset({"the", "a", "an", "of", "for", "and", "to", "on", "in", "sop", "procedure"})


def _words(text: str) -> set[str]:
    return {w.rstrip("s") for w in re.findall(r"[a-z0-9]+", text.lower())}


def index_view(
    sops: list[Sop],
    config: Config,
    today: date,
    pdf_ids: set[str],
    logo: str | None = None,
) -> IndexView:
    """The library at a glance; `pdf_ids` are the SOPs that have a PDF to link to."""
    rows = [
        IndexRow(
            id=sop.id,
            title=config.fill(sop.title),
            version=sop.version,
            status=sop.status,
            status_label=STATUS_LABELS.get(sop.status, sop.status),
            effective=_iso(sop.effective),
            owner=config.role_name(sop.owner),
            next_review=_iso(sop.next_review),
            overdue=sop.review_overdue(today),
            html=f"{sop.id}.html",
            pdf=f"../pdf/{sop.id}.pdf" if sop.id in pdf_ids else None,
        )
        for sop in sorted(sops, key=lambda s: s.id)
    ]
    current = tuple(r for r in rows if r.status != "retired")
    retired = tuple(r for r in rows if r.status == "retired")
    return IndexView(
        brand(config, logo),
        current,
        retired,
        today.isoformat(),
        sum(r.overdue for r in current),
    )
