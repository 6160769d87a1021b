"""A redline of one SOP between two versions: view data for `sopgen diff`.

Pure: the old and the new `Sop` (and the config) in, frozen view data out.
Every text is compared word by word (difflib); steps are matched by their id,
so a step that changes section or order shows as moved, one whose id is new
as added, one whose id is gone as removed; responsible roles, timeframes (each
per-priority target, `after` anchors as the document writes them: "after step
B1"), accountable/consulted/informed roles and the responsibility matrix show
old and new side by side. Every field `sopgen check` counts as content (see
`sopgen.release.content`) shows its old and new value when it changed; the
test `tests/test_redline_fields.py` changes each in turn. The template marks
insertions with underline and deletions with strike-through, plus words
("added", "removed", "moved from A3"), so a black-and-white print reads the
same as the screen.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from markupsafe import Markup, escape

from sopgen.model import Config, Sop, Step
from sopgen.render.view import (
    STATUS_LABELS,
    Brand,
    brand,
    retention_text,
    within_text,
)

EMPTY = Markup("")

_MARKS = re.compile(r"\*\*|__|(?<!\w)[*_](?=\S)|(?<=\S)[*_](?!\w)|`")


def plain(text: str) -> str:
    """Markdown source as a reader sees it: emphasis and code marks removed, one line."""
    return " ".join(_MARKS.sub("", text).split())


def words_diff(old: str, new: str) -> Markup:
    """Word-level redline of two texts: <del> for deleted words, <ins> for inserted ones."""
    a, b = old.split(), new.split()
    out: list[str] = []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            out.append(str(escape(" ".join(a[i1:i2]))))
            continue
        if op in ("delete", "replace"):
            out.append(f"<del>{escape(' '.join(a[i1:i2]))}</del>")
        if op in ("insert", "replace"):
            out.append(f"<ins>{escape(' '.join(b[j1:j2]))}</ins>")
    return Markup(" ".join(out))


def changed(old: str, new: str) -> Markup:
    """A short value shown as old → new when it changed, else as it is."""
    if old == new:
        return Markup(escape(new))
    parts = []
    if old:
        parts.append(f"<del>{escape(old)}</del>")
    if new:
        parts.append(f"<ins>{escape(new)}</ins>")
    return Markup(" ".join(parts))


@dataclass(frozen=True, slots=True)
class FieldChange:
    label: str
    old: str
    new: str


@dataclass(frozen=True, slots=True)
class TextBlock:
    title: str
    text: Markup
    changed: bool


@dataclass(frozen=True, slots=True)
class StepChange:
    label: str  # A1 … in the new version; the old label for a removed step
    state: str  # "same", "changed", "added", "removed", "moved"
    note: str  # "added", "removed", "moved from A3", ""
    text: Markup
    responsible: Markup
    within: Markup
    timing_changed: bool
    role_changed: bool
    key: Markup = EMPTY  # `section.step` (how cases name it): added, removed or changed
    raci: Markup = EMPTY  # changed accountable / consulted / informed roles
    raci_changed: bool = False


@dataclass(frozen=True, slots=True)
class SectionChange:
    letter: str
    title: Markup
    steps: tuple[StepChange, ...]
    key: Markup = EMPTY  # the section id, when it was added, removed or changed


@dataclass(frozen=True, slots=True)
class MatrixChange:
    label: str
    state: str
    text: str
    letters: tuple[Markup, ...]


@dataclass(frozen=True, slots=True)
class RedlineView:
    brand: Brand
    medium: str
    id: str
    title: str
    old_version: str
    new_version: str
    old_date: str
    new_date: str
    base: str  # which git revision the old version came from
    metadata: tuple[FieldChange, ...]
    summary: tuple[str, ...]  # "2 steps added", "1 timeframe changed" …
    parts: tuple[str, ...]  # other parts whose text changed: "II. Purpose", "VII. References"
    texts: tuple[TextBlock, ...]
    responsibilities: tuple[TextBlock, ...]
    sections: tuple[SectionChange, ...]
    matrix_roles: tuple[str, ...]
    matrix: tuple[MatrixChange, ...]
    references: tuple[TextBlock, ...]
    revisions: tuple[TextBlock, ...]


def _labels(sop: Sop) -> dict[str, str]:
    return {
        step.id: f"{section.letter}{step.number}"
        for section in sop.procedure
        for step in section.steps
    }


def _renamed_sections(old: Sop, new: Sop) -> dict[str, str]:
    """Old section id → new section id: the same id, or, for a section whose id is
    gone, the section at the same place whose id is new (its id was changed)."""
    new_ids = [s.id for s in new.procedure]
    old_ids = {s.id for s in old.procedure}
    mapping = {}
    for index, section in enumerate(old.procedure):
        if section.id in new_ids:
            mapping[section.id] = section.id
        elif index < len(new_ids) and new_ids[index] not in old_ids:
            mapping[section.id] = new_ids[index]
    return mapping


def _moved(old: Sop, new: Sop, sections: dict[str, str]) -> set[str]:
    """Ids of steps present in both whose place in the process changed.

    The longest common subsequence of the step order stays put; every other
    common step moved (into another section, or past other steps). A section
    whose id changed (`sections`) is the same place.
    """
    old_order = [(sections.get(s.section, s.section), s.id) for s in old.steps()]
    new_order = [(s.section, s.id) for s in new.steps()]
    common = {s.id for s in old.steps()} & {s.id for s in new.steps()}
    a = [key for key in old_order if key[1] in common]
    b = [key for key in new_order if key[1] in common]
    kept: set[str] = set()
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for block in matcher.get_matching_blocks():
        kept.update(key[1] for key in a[block.a : block.a + block.size])
    return common - kept


def _period(value: object) -> str:
    return str(value) if value else "—"


def _retention(sop: Sop, config: Config) -> str:
    return retention_text(sop, config) or "—"


def _metadata(old: Sop, new: Sop, config: Config) -> tuple[FieldChange, ...]:
    role = config.role_name
    pairs = [
        ("Title", config.fill(old.title), config.fill(new.title)),
        ("Version", old.version, new.version),
        ("Status", STATUS_LABELS.get(old.status, old.status), STATUS_LABELS.get(new.status, "")),
        ("Effective date", _period(old.effective), _period(new.effective)),
        ("Owner", role(old.owner), role(new.owner)),
        ("Review period", _period(old.review_every), _period(new.review_every)),
        ("Retention period", _retention(old, config), _retention(new, config)),
    ]
    return tuple(FieldChange(label, a, b) for label, a, b in pairs if a != b)


def _targets(sop: Sop, step: Step) -> dict[str, str]:
    """The step's timeframes as the document writes them: priority → text ("" for one)."""
    if not step.within_by:
        return {"": within_text(sop, step.within.text, step.within.after)}
    return {p: within_text(sop, tf.text, tf.after) for p, tf in step.within_by}


def _target(targets: dict[str, str], priority: str) -> str:
    """The timeframe a case of `priority` got: its own, else normal's (the fallback)."""
    return targets.get(priority) or targets.get("normal") or targets.get("", "")


def _timing(old: Sop, old_step: Step, new: Sop, step: Step, config: Config) -> tuple[Markup, bool]:
    """Old and new timeframes side by side, per priority when either version has targets."""
    before, after = _targets(old, old_step), _targets(new, step)
    if set(before) == set(after) == {""}:
        return changed(before[""], after[""]), before[""] != after[""]
    rank = {p: i for i, p in enumerate(config.priorities)}
    listed = sorted(
        dict.fromkeys(p for p in [*after, *before] if p), key=lambda p: rank.get(p, len(rank))
    )
    parts = []
    differs = False
    for priority in listed:
        a, b = _target(before, priority), _target(after, priority)
        differs = differs or a != b
        parts.append(f"{escape(priority)}: {changed(a, b)}")
    return Markup("; ".join(parts)), differs


def _raci(old_step: Step, step: Step, config: Config) -> tuple[Markup, bool]:
    """Accountable, consulted and informed roles that changed, old struck through beside new."""
    role = config.role_name
    parts = []
    for label, a, b in (
        ("Accountable", [old_step.accountable or ""], [step.accountable or ""]),
        ("Consulted", list(old_step.consulted), list(step.consulted)),
        ("Informed", list(old_step.informed), list(step.informed)),
    ):
        if a != b:
            was = ", ".join(role(r) for r in a if r)
            now = ", ".join(role(r) for r in b if r)
            parts.append(f"{label}: {changed(was or '—', now or '—')}")
    return Markup(" · ".join(parts)), bool(parts)


def _step_change(
    step: Step,
    old_step: Step | None,
    label: str,
    old_label: str | None,
    moved: bool,
    config: Config,
    old: Sop,
    new: Sop,
    old_key: str | None,
) -> StepChange:
    role = config.role_name
    text = plain(config.fill(step.do))
    if step.notes:
        text += " Note: " + plain(config.fill(step.notes))
    if old_step is None:
        return StepChange(
            label,
            "added",
            "added",
            Markup(f"<ins>{escape(text)}</ins>"),
            Markup(f"<ins>{escape(role(step.responsible))}</ins>"),
            Markup(f"<ins>{escape('; '.join(_targets_listed(new, step)))}</ins>"),
            False,
            False,
            key=Markup(f"<ins>{escape(step.key)}</ins>"),
        )
    old_text = plain(config.fill(old_step.do))
    if old_step.notes:
        old_text += " Note: " + plain(config.fill(old_step.notes))
    within, timing = _timing(old, old_step, new, step, config)
    raci, raci_changed = _raci(old_step, step, config)
    responsible = old_step.responsible != step.responsible
    rekeyed = old_key is not None and old_key != step.key
    differs = text != old_text or timing or responsible or raci_changed or rekeyed
    note = f"moved from {old_label}" if moved else ""
    state = "moved" if moved else ("changed" if differs else "same")
    return StepChange(
        label,
        state,
        note,
        words_diff(old_text, text),
        changed(role(old_step.responsible), role(step.responsible)),
        within,
        timing,
        responsible,
        key=changed(old_key, step.key) if rekeyed and old_key else Markup(""),
        raci=raci,
        raci_changed=raci_changed,
    )


def _targets_listed(sop: Sop, step: Step) -> list[str]:
    return [f"{p}: {text}" if p else text for p, text in _targets(sop, step).items()]


def _removed_step(step: Step, label: str, config: Config, sop: Sop) -> StepChange:
    text = plain(config.fill(step.do))
    return StepChange(
        label,
        "removed",
        "removed",
        Markup(f"<del>{escape(text)}</del>"),
        Markup(f"<del>{escape(config.role_name(step.responsible))}</del>"),
        Markup(f"<del>{escape('; '.join(_targets_listed(sop, step)))}</del>"),
        False,
        False,
        key=Markup(f"<del>{escape(step.key)}</del>"),
    )


def _blocks(old: dict[str, str], new: dict[str, str]) -> tuple[TextBlock, ...]:
    keys = list(dict.fromkeys([*new, *old]))
    return tuple(
        TextBlock(key, words_diff(old.get(key, ""), new.get(key, "")), old.get(key) != new.get(key))
        for key in keys
    )


def _reference(ref_sop: str | None, title: str | None, url: str | None, note: str | None) -> str:
    return " ".join(x for x in [ref_sop, title, f"({url})" if url else None, note] if x)


def redline_view(
    old: Sop, new: Sop, config: Config, base: str, medium: str, logo: str | None = None
) -> RedlineView:
    """The redline of `new` against `old` (from git revision `base`) for `medium`."""
    fill = config.fill
    role = config.role_name
    old_labels, new_labels = _labels(old), _labels(new)
    old_steps = {s.id: s for s in old.steps()}
    new_ids = {s.id for s in new.steps()}
    renamed = _renamed_sections(old, new)
    moved = _moved(old, new, renamed)
    old_sections = {renamed[s.id]: s for s in old.procedure if s.id in renamed}

    sections = []
    retitled = 0
    for section in new.procedure:
        rows = [
            _step_change(
                step,
                old_steps.get(step.id),
                new_labels[step.id],
                old_labels.get(step.id),
                step.id in moved,
                config,
                old,
                new,
                old_steps[step.id].key if step.id in old_steps else None,
            )
            for step in section.steps
        ]
        before = old_sections.get(section.id)
        if before is not None:  # removed steps stay where they were, struck through
            for index, step in enumerate(before.steps):
                if step.id not in new_ids:
                    rows.insert(
                        min(index, len(rows)),
                        _removed_step(step, old_labels[step.id], config, old),
                    )
        title = words_diff(fill(before.title), fill(section.title)) if before else None
        retitled += before is not None and before.title != section.title
        if before is None:
            key = Markup(f"<ins>{escape(section.id)}</ins>")
        else:
            key = changed(before.id, section.id) if before.id != section.id else Markup("")
        sections.append(
            SectionChange(
                section.letter,
                title if title is not None else Markup(f"<ins>{escape(fill(section.title))}</ins>"),
                tuple(rows),
                key,
            )
        )
    for section in old.procedure:
        if section.id not in renamed:
            sections.append(
                SectionChange(
                    section.letter,
                    Markup(f"<del>{escape(fill(section.title))}</del>"),
                    tuple(
                        _removed_step(step, old_labels[step.id], config, old)
                        for step in section.steps
                        if step.id not in new_ids
                    ),
                    Markup(f"<del>{escape(section.id)}</del>"),
                )
            )

    roles = list(dict.fromkeys(r for s in [*new.steps(), *old.steps()] for r in s.raci()))
    matrix = []
    for step in new.steps():
        letters = step.raci()
        before_step = old_steps.get(step.id)
        before_letters = before_step.raci() if before_step else {}
        state = (
            "added"
            if before_step is None
            else "moved"
            if step.id in moved
            else ("changed" if letters != before_letters else "same")
        )
        matrix.append(
            MatrixChange(
                new_labels[step.id],
                state,
                plain(fill(step.do)),
                tuple(
                    changed(before_letters.get(r, ""), letters.get(r, ""))
                    if before_step
                    else Markup(f"<ins>{letters[r]}</ins>" if r in letters else "")
                    for r in roles
                ),
            )
        )
    for step in old.steps():
        if step.id not in new_ids:
            letters = step.raci()
            matrix.append(
                MatrixChange(
                    old_labels[step.id],
                    "removed",
                    plain(fill(step.do)),
                    tuple(
                        Markup(f"<del>{letters[r]}</del>" if r in letters else "") for r in roles
                    ),
                )
            )

    all_new = [c for s in sections for c in s.steps]
    summary = [
        f"{count} {one if count == 1 else many}"
        for count, one, many in (
            (sum(s.key != "" for s in sections), "section id changed", "section ids changed"),
            (sum(c.state == "added" for c in all_new), "step added", "steps added"),
            (sum(c.state == "removed" for c in all_new), "step removed", "steps removed"),
            (sum(c.state == "moved" for c in all_new), "step moved", "steps moved"),
            (sum(c.timing_changed for c in all_new), "timeframe changed", "timeframes changed"),
            (sum(c.role_changed for c in all_new), "responsible role changed", "roles changed"),
            (
                sum(c.raci_changed for c in all_new),
                "step with accountable, consulted or informed roles changed",
                "steps with accountable, consulted or informed roles changed",
            ),
            (
                sum(c.state in ("changed", "moved") and "<del>" in c.text for c in all_new),
                "step reworded",
                "steps reworded",
            ),
            (
                sum(c.state in ("changed", "moved") and c.key != "" for c in all_new),
                "step key changed (cases name steps by it)",
                "step keys changed (cases name steps by them)",
            ),
            (
                retitled,
                "section title changed",
                "section titles changed",
            ),
        )
        if count
    ]

    def text_fields(sop: Sop) -> dict[str, str]:
        return {
            "I. Introduction": plain(fill(sop.introduction)),
            "II. Purpose": plain(fill(sop.purpose)),
            "III. Scope": plain(fill(sop.scope)),
            "VI. Documentation": plain(fill(sop.documentation)),
        }

    def references(sop: Sop) -> dict[str, str]:
        return {
            (r.sop or r.title or r.url or str(i)): plain(
                fill(_reference(r.sop, r.title, r.url, r.note))
            )
            for i, r in enumerate(sop.references)
        }

    def revisions(sop: Sop) -> dict[str, str]:
        return {
            r.version: plain(f"{r.version} of {r.date}: {fill(r.description)} ({r.author})")
            for r in sop.revisions
        }

    texts = _blocks(text_fields(old), text_fields(new))
    duties = _blocks(
        {role(r): plain(fill(t)) for r, t in old.responsibilities},
        {role(r): plain(fill(t)) for r, t in new.responsibilities},
    )
    refs = _blocks(references(old), references(new))
    parts = [b.title for b in texts if b.changed]
    if any(b.changed for b in duties):
        parts.insert(len([t for t in parts if not t.startswith("VI")]), "IV. Responsibilities")
    if any(b.changed for b in refs):
        parts.append("VII. References")
    old_newest, new_newest = old.revisions[-1], new.revisions[-1]
    return RedlineView(
        brand=brand(config, logo),
        medium=medium,
        id=new.id,
        title=fill(new.title),
        old_version=old.version,
        new_version=new.version,
        old_date=str(old_newest.date),
        new_date=str(new_newest.date),
        base=base,
        metadata=_metadata(old, new, config),
        summary=tuple(summary),
        parts=tuple(parts),
        texts=texts,
        responsibilities=duties,
        sections=tuple(sections),
        matrix_roles=tuple(role(r) for r in roles),
        matrix=tuple(matrix),
        references=refs,
        revisions=_blocks(revisions(old), revisions(new)),
    )
