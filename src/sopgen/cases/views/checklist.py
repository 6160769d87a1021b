"""A case's checklist: view data, and its HTML, Markdown and PDF forms.

Pure: a `Case` and the `Config` in, plain view data out; templates
(`checklist.html.j2`, `checklist.md.j2`, overridable in the company's
`templates/`) own the presentation. The HTML page reuses the SOP documents'
stylesheets (`document.css`, and `pdf.css` when printed), so a checklist looks
like the SOP it comes from.

The files show the state of the case (deadlines, done times), not a status
against the clock: they are rewritten on changes, not as time passes, and the
same state always gives the same bytes. `sopgen case show` and `case list`
show the status against the clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

import jinja2
from markupsafe import Markup

from sopgen.cases.model import Case, Hold
from sopgen.cases.plan import PlannedStep
from sopgen.cases.timestamps import human, iso
from sopgen.model import Config
from sopgen.render import markdown
from sopgen.render.environment import environment
from sopgen.render.view import Brand, brand

HTML_TEMPLATE = "checklist.html.j2"
MARKDOWN_TEMPLATE = "checklist.md.j2"
STYLE_TEMPLATE = "checklist.css.j2"


@dataclass(frozen=True, slots=True)
class StepView:
    key: str  # section.step
    label: str  # A1, A2 …
    number: int
    text: Markup  # step text as inline Markdown → safe HTML
    text_plain: str  # step text as written ({company} filled)
    responsible: str  # display name
    within: str  # as written, e.g. "Within 5 business days"
    within_priority: str | None  # the priority whose target `within` is, if the step has some
    after: str | None  # anchor step key, when anchored on another step
    due: str  # "Tue 24 Nov 2026 17:00 CET"
    due_iso: str
    due_soon: str | None  # when an open step turns due-soon (`due_soon_at`)
    done: bool
    late: bool  # done after the deadline
    done_at: str | None
    done_iso: str | None


@dataclass(frozen=True, slots=True)
class SectionView:
    letter: str
    title: str
    steps: tuple[StepView, ...]


@dataclass(frozen=True, slots=True)
class ChecklistView:
    medium: str  # "html" or "pdf"
    brand: Brand
    case: str
    sop: str
    title: str
    version: str
    effective: str
    received: str
    received_iso: str
    assignee: str | None
    summary: str | None
    priority: str  # the case's priority now
    priority_history: str | None  # "normal from …, high from …" once it changed
    urgent: bool  # more urgent than normal: marked
    holds: tuple[str, ...]  # "from – until: reason", oldest first; a running one "since …"
    state: str  # "Open", "On hold", "Closed", or "Cancelled DATE: reason"
    done_count: int
    step_count: int
    next_due: str | None
    updated: str
    updated_iso: str
    sections: tuple[SectionView, ...]


def checklist_view(
    case: Case, config: Config, medium: str = "html", logo: str | None = None
) -> ChecklistView:
    zone = config.zone
    fill = config.fill
    by_section: dict[str, list[StepView]] = {}
    for planned in case.steps:
        by_section.setdefault(planned.section.id, []).append(_step_view(case, planned, config))
    sections = tuple(
        SectionView(section.letter, section.title, tuple(by_section.get(section.id, ())))
        for section in case.sop.procedure
    )
    following = case.next_step()
    done_count = sum(p.done is not None for p in case.steps)
    return ChecklistView(
        medium=medium,
        brand=brand(config, logo),
        case=case.id,
        sop=case.sop.id,
        title=fill(case.sop.title),
        version=case.sop.version,
        effective=case.sop.effective.isoformat() if case.sop.effective else "—",
        received=human(case.received, zone),
        received_iso=iso(case.received, zone),
        assignee=case.assignee,
        summary=case.summary,
        priority=case.priority,
        priority_history=", ".join(f"{p} from {human(t, zone)}" for t, p in case.priorities)
        if len(case.priorities) > 1
        else None,
        urgent=config.priority_rank(case.priority) < 0,
        holds=tuple(_hold_text(hold, zone) for hold in case.holds),
        state=(
            f"Cancelled {human(case.cancelled_at, zone)}: {case.cancel_reason}"
            if case.cancelled_at
            else "Closed"
            if following is None
            else "On hold"
            if case.on_hold
            else "Open"
        ),
        done_count=done_count,
        step_count=len(case.steps),
        next_due=human(following.due, zone) if following else None,
        updated=human(case.updated_at, zone),
        updated_iso=iso(case.updated_at, zone),
        sections=sections,
    )


def _hold_text(hold: Hold, zone: ZoneInfo) -> str:
    if hold.end is None:
        text = f"since {human(hold.start, zone)} (the clock is stopped: open deadlines move on)"
    else:
        text = f"{human(hold.start, zone)} – {human(hold.end, zone)}"
    return f"{text}: {hold.reason}" if hold.reason else text


def _step_view(case: Case, planned: PlannedStep, config: Config) -> StepView:
    zone = config.zone
    step = planned.step
    return StepView(
        key=step.key,
        label=f"{planned.section.letter}{step.number}",
        number=step.number,
        text=_inline(config.fill(step.do)),
        text_plain=config.fill(step.do).strip(),
        responsible=config.role_name(step.responsible),
        within=planned.within.text,
        within_priority=case.target_priority(planned),
        after=planned.after,
        due=human(planned.due, zone),
        due_iso=iso(planned.due, zone),
        due_soon=None if planned.done else human(planned.due_soon_from(config.due_soon), zone),
        done=planned.done is not None,
        late=planned.late,
        done_at=human(planned.done, zone) if planned.done else None,
        done_iso=iso(planned.done, zone) if planned.done else None,
    )


# --------------------------------------------------------------------------- rendering


@lru_cache(maxsize=4096)
def _inline(text: str) -> Markup:
    """Step text as inline Markdown (the same few texts recur in every case of an SOP)."""
    return markdown.inline(text)


@cache
def _template(root: Path, name: str) -> jinja2.Template:
    """Each template is looked up (and its file stat-ed) once per process, not per case."""
    return environment(root).get_template(name)


@lru_cache(maxsize=16)
def stylesheet(root: Path, look: Brand, medium: str) -> Markup:
    """The SOP documents' CSS (document.css, pdf.css when printed) plus checklist.css."""
    return Markup(_template(root, STYLE_TEMPLATE).render(brand=look, medium=medium))


def render_html(root: Path, view: ChecklistView) -> str:
    css = stylesheet(root, view.brand, view.medium)
    return _template(root, HTML_TEMPLATE).render(v=view, css=css)


def render_markdown(root: Path, view: ChecklistView) -> str:
    return _template(root, MARKDOWN_TEMPLATE).render(v=view, checked="[x]", unchecked="[ ]")


def render_pdf(root: Path, view: ChecklistView) -> bytes:
    """The checklist printed by WeasyPrint, with the SOP documents' look (no network, no
    files outside the project)."""
    from sopgen.assets import templates_dir
    from sopgen.render.pdf import render_pdf as print_pdf

    html = render_html(root, view)
    return print_pdf(html, [root, templates_dir()]).data
