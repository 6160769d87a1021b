"""View data: what the templates show, computed once from the model.

Pure functions: `Sop` + `Config` (+ the titles of referenced SOPs) in, plain
frozen dataclasses of strings and `Markup` out. Templates own presentation;
nothing here knows about HTML layout, and everything is picklable so a
worker process can take it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from markupsafe import Markup

from sopgen.model import Config, Sop
from sopgen.render import markdown

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
    label: str  # A1, A2 … (matrix rows)
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


@dataclass(frozen=True, slots=True)
class RevisionView:
    version: str
    date: str
    description: Markup
    author: str


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
    documentation: Markup
    retention: str | None
    references: tuple[ReferenceView, ...]
    revisions: tuple[RevisionView, ...]
    description: str  # PDF subject / meta description
    keywords: str
    created: str  # dcterms dates from the SOP's own data, never the build time
    modified: str


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
    today: str
    overdue: int


def _iso(day: date | None) -> str:
    return day.isoformat() if day else "—"


def _within(sop: Sop, text: str, after: str | None) -> str:
    """The timeframe as written, with an anchor step named by its label (`after step C1`)."""
    anchor = sop.step(after) if after else None
    if anchor is None:
        return text
    letter = next(s.letter for s in sop.procedure if s.id == anchor.section)
    head = re.split(r"\s+after\s+", text, maxsplit=1, flags=re.IGNORECASE)[0]
    return f"{head} after step {letter}{anchor.number}"


def brand(config: Config, logo: str | None = None) -> Brand:
    return Brand(
        company=config.company,
        language=config.language,
        primary=config.primary_color,
        accent=config.accent_color,
        font=config.font or DEFAULT_FONT,
        logo=logo,
    )


def sop_view(
    sop: Sop,
    config: Config,
    titles: Mapping[str, str],
    medium: str,
    logo: str | None = None,
) -> SopView:
    """The view of one SOP for `medium` ("html" or "pdf").

    `titles` maps the ids of SOPs that are built (valid) to their titles; a
    reference to one of them becomes a link to its document of the same medium.
    """
    fill = config.fill
    role = config.role_name
    sections = []
    matrix_rows = []
    roles = sop.roles()
    for section in sop.procedure:
        rows = []
        for step in section.steps:
            text = markdown.inline(step.do, fill)
            label = f"{section.letter}{step.number}"
            rows.append(
                StepRow(
                    label=label,
                    number=step.number,
                    text=text,
                    notes=markdown.inline(step.notes, fill) if step.notes else None,
                    responsible=role(step.responsible),
                    within=_within(sop, step.within.text, step.within.after),
                )
            )
            raci = step.raci()
            matrix_rows.append(MatrixRow(label, text, tuple(raci.get(r, "") for r in roles)))
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
                    note=markdown.inline(ref.note, fill) if ref.note else None,
                )
            )
        else:
            url = ref.url if markdown.safe_url(ref.url) else None
            references.append(
                ReferenceView(
                    sop=None,
                    title=fill(ref.title or ref.url or ""),
                    href=url,
                    note=markdown.inline(ref.note, fill) if ref.note else None,
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
        effective=_iso(sop.effective),
        owner=role(sop.owner),
        review_every=str(sop.review_every) if sop.review_every else "—",
        next_review=_iso(sop.next_review),
        approvals=tuple(Signature(a.name, role(a.role), _iso(a.date)) for a in sop.approvals),
        introduction=markdown.block(sop.introduction, fill),
        purpose=markdown.block(sop.purpose, fill),
        scope=markdown.block(sop.scope, fill),
        responsibilities=tuple(
            (role(r), markdown.inline(text, fill)) for r, text in sop.responsibilities
        ),
        sections=tuple(sections),
        matrix_roles=tuple(role(r) for r in roles),
        matrix=tuple(matrix_rows),
        documentation=markdown.block(sop.documentation, fill),
        retention=str(sop.retention) if sop.retention else None,
        references=tuple(references),
        revisions=tuple(
            RevisionView(r.version, _iso(r.date), markdown.inline(r.description, fill), r.author)
            for r in sop.revisions
        ),
        description=f"Standard operating procedure {sop.id}: {fill(sop.title)}, "
        f"version {sop.version} ({STATUS_LABELS.get(sop.status, sop.status).lower()})",
        keywords=", ".join(
            [sop.id, "SOP", config.company, *(fill(s.title) for s in sop.procedure)]
        ),
        created=_iso(created),
        modified=_iso(modified),
    )


def index_view(
    sops: list[Sop],
    config: Config,
    today: date,
    pdf_ids: set[str],
    logo: str | None = None,
) -> IndexView:
    """The library at a glance; `pdf_ids` are the SOPs that have a PDF to link to."""
    rows = tuple(
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
    )
    return IndexView(brand(config, logo), rows, today.isoformat(), sum(r.overdue for r in rows))
