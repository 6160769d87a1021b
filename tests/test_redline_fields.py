"""A complete redline: every field `sopgen check` counts as content shows its old and new value.

The list of fields comes from the SOP schema minus what `check` leaves out of the content
(`sopgen.release.CONTROL_FIELDS`), so a content field added to the schema without a
change below (and redline support for it) fails `test_every_content_field_has_a_change`.
Each change is made in turn to SOP-CS-001; the redline must show the old value inside a
<del> and the new one inside an <ins>, not only say "changed".
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import yaml

from sopgen.library import load_config
from sopgen.model import Config, Sop, make_sop
from sopgen.release import CONTROL_FIELDS, changed_fields, content
from sopgen.render.environment import environment
from sopgen.render.redline import redline_view
from sopgen.source import load_text

REPO = Path(__file__).resolve().parent.parent

NOT_IN_REDLINE = {"id": "the redline pairs two versions of one SOP by its id"}
"""Content fields a redline cannot show, and why."""

Change = Callable[[dict[str, Any]], tuple[str, str]]
"""Edits the SOP data in place; returns (old, new) as the redline must show them."""


def step(data: dict[str, Any], step_id: str) -> dict[str, Any]:
    for section in data["procedure"]:
        for item in section["steps"]:
            if item["id"] == step_id:
                return item
    raise KeyError(step_id)


def section(data: dict[str, Any], section_id: str) -> dict[str, Any]:
    return next(s for s in data["procedure"] if s["id"] == section_id)


def ref(data: dict[str, Any], key: str, value: str) -> dict[str, Any]:
    return next(r for r in data["references"] if r.get(key) == value)


def base() -> dict[str, Any]:
    """SOP-CS-001 with every optional content field present: per-priority targets, an
    `after` anchor, retention counted from an event, a reference with a URL."""
    data = yaml.safe_load((REPO / "sops" / "sop-cs-001.yaml").read_text())
    step(data, "assign")["within"] = {"critical": "4 business hours", "normal": "Within 48 hours"}
    step(data, "implement")["within"] = "Within 3 business days after plan"
    data["retention_from"] = "closure of the complaint"
    ref(data, "title", "CRM System User Guide")["url"] = "https://crm.example.org/guide"
    return data


def _set(path: tuple[Any, ...], value: Any, old: str, new: str) -> Change:
    def change(data: dict[str, Any]) -> tuple[str, str]:
        target = data
        for key in path[:-1]:
            target = (
                step(target, key[5:])
                if isinstance(key, str) and key[:5] == "step:"
                else (
                    section(target, key[8:])
                    if isinstance(key, str) and key[:8] == "section:"
                    else target[key]
                )
            )
        target[path[-1]] = value
        return old, new

    return change


def _reword(path: tuple[Any, ...], old: str, new: str) -> Change:
    """Replace the word `old` by `new` in a text field."""

    def change(data: dict[str, Any]) -> tuple[str, str]:
        target = data
        for key in path[:-1]:
            target = (
                step(target, key[5:])
                if isinstance(key, str) and key[:5] == "step:"
                else (
                    section(target, key[8:])
                    if isinstance(key, str) and key[:8] == "section:"
                    else target[key]
                )
            )
        assert old in target[path[-1]]
        target[path[-1]] = target[path[-1]].replace(old, new, 1)
        return old, new

    return change


def _ref(key: str, value: str, field: str, new_value: str, old: str, new: str) -> Change:
    def change(data: dict[str, Any]) -> tuple[str, str]:
        ref(data, key, value)[field] = new_value
        return old, new

    return change


CHANGES: dict[str, list[Change]] = {
    "title": [_set(("title",), "Handling Customer Complaints", "Customer Complaint Handling",
                   "Handling Customer Complaints")],
    "owner": [_set(("owner",), "manager", "Quality Assurance Team", "Customer Service Manager")],
    "review_every": [_set(("review_every",), "24 months", "12 months", "24 months")],
    "introduction": [_reword(("introduction",), "promptly", "without delay")],
    "purpose": [_reword(("purpose",), "consistent", "uniform")],
    "scope": [_reword(("scope",), "representatives", "agents")],
    "responsibilities": [
        _reword(("responsibilities", "manager"), "Oversees", "Supervises"),
        _set(("responsibilities", "hr"), "Trains new representatives.", "",
             "Trains new representatives."),
    ],
    "procedure": [],  # its parts below
    "procedure.id": [_set(("section:intake", "id"), "reception", "intake", "reception")],
    "procedure.title": [_reword(("section:intake", "title"), "Intake", "Reception")],
    "procedure.steps": [],  # its parts below
    "procedure.steps.id": [_set(("step:receive", "id"), "take-in", "intake.receive",
                                "intake.take-in")],
    "procedure.steps.do": [_reword(("step:record", "do"), "details", "particulars")],
    "procedure.steps.notes": [_reword(("step:record", "notes"), "contact", "postal")],
    "procedure.steps.responsible": [
        _set(("step:receive", "responsible"), "complaint-clerk",
             "Customer Service Representative", "Customer Complaint Clerk"),
    ],
    "procedure.steps.accountable": [
        _set(("step:receive", "accountable"), "manager", "Customer Complaint Clerk",
             "Customer Service Manager"),
    ],
    "procedure.steps.consulted": [
        _set(("step:investigate", "consulted"), ["cs-rep"],
             "Customer Service Representative, Customer Complaint Clerk",
             "Customer Service Representative"),
    ],
    "procedure.steps.informed": [
        _set(("step:investigate", "informed"), ["qa-team", "hr"], "Quality Assurance Team",
             "Quality Assurance Team, Human Resources"),
    ],
    "procedure.steps.within": [
        _set(("step:record", "within"), "Within 2 hours", "Within 1 hour", "Within 2 hours"),
        # an `after` anchor, written as the document writes it
        _set(("step:implement", "within"), "Within 3 business days after investigate",
             "Within 3 business days after step C2", "Within 3 business days after step C1"),
        _set(("step:plan", "within"), "Within 7 business days after investigate",
             "Within 7 business days", "Within 7 business days after step C1"),
        # per-priority targets: each target struck through beside the new one
        _set(("step:assign", "within"),
             {"critical": "2 business hours", "normal": "Within 48 hours"},
             "4 business hours", "2 business hours"),
        _set(("step:assign", "within"),
             {"critical": "4 business hours", "normal": "Within 3 days"},
             "Within 48 hours", "Within 3 days"),
        _set(("step:acknowledge", "within"),
             {"high": "Within 4 hours", "normal": "Within 24 hours"},
             "Within 24 hours", "Within 4 hours"),
    ],
    "documentation": [_reword(("documentation",), "minimum", "period")],
    "retention": [_set(("retention",), "5 years", "3 years after closure of the complaint",
                       "5 years after closure of the complaint")],
    "retention_from": [_set(("retention_from",), "the end of the warranty",
                            "3 years after closure of the complaint",
                            "3 years after the end of the warranty")],
    "references": [],  # its parts below
    "references.sop": [_ref("sop", "SOP-CS-005", "sop", "SOP-CS-006", "SOP-CS-005",
                            "SOP-CS-006")],
    "references.note": [_ref("sop", "SOP-CS-002", "note",
                             "Communication Protocol for any contact with the customer during "
                             "the case.", "all", "any")],
    "references.title": [_ref("title", "CRM System User Guide", "title",
                              "CRM System Handbook", "CRM System User Guide",
                              "CRM System Handbook")],
    "references.url": [_ref("title", "CRM System User Guide", "url",
                            "https://crm.example.org/handbook",
                            "(https://crm.example.org/guide)",
                            "(https://crm.example.org/handbook)")],
}  # fmt: skip


def schema_paths(node: dict[str, Any], prefix: str = "") -> Iterator[str]:
    """Every property path of the SOP schema: `procedure.steps.within` …"""
    options = [node, *node.get("oneOf", []), *node.get("anyOf", [])]
    for option in options:
        items = option.get("items")
        if isinstance(items, dict):
            yield from schema_paths(items, prefix)
        for name, child in option.get("properties", {}).items():
            path = f"{prefix}{name}"
            yield path
            yield from schema_paths(child, path + ".")


def content_paths() -> set[str]:
    schema = json.loads((REPO / "schema" / "sop.schema.json").read_text())
    return {
        path
        for path in schema_paths(schema)
        if path.split(".")[0] not in CONTROL_FIELDS and path not in NOT_IN_REDLINE
    }


def test_every_content_field_has_a_change() -> None:
    paths = content_paths()
    assert "procedure.steps.within" in paths and "references.url" in paths  # the walk works
    missing = sorted(paths - set(CHANGES))
    assert not missing, f"content fields with no redline test (and maybe no redline): {missing}"
    assert not set(CHANGES) - paths, "changes for fields the schema no longer has"


class Marks(HTMLParser):
    """The text inside each <del> and each <ins> of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.dels: list[str] = []
        self.inss: list[str] = []
        self._open: list[list[str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("del", "ins"):
            self._open.append(self.dels if tag == "del" else self.inss)
            self._open[-1].append("")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("del", "ins") and self._open:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        if self._open:
            self._open[-1][-1] += data


def sop_of(data: dict[str, Any]) -> Sop:
    document = load_text(yaml.safe_dump(data, sort_keys=False).encode(), "sops/sop-cs-001.yaml")
    assert not document.problems
    return make_sop(document.data, document.source, document.digest)


@pytest.fixture(scope="module")
def config() -> Config:
    config, problems = load_config(REPO)
    assert config is not None, problems
    return config


def redline(old: dict[str, Any], new: dict[str, Any], config: Config) -> str:
    template = environment(REPO).get_template("redline.html.j2")
    return template.render(v=redline_view(sop_of(old), sop_of(new), config, "HEAD", "html"))


def squeeze(text: str) -> str:
    return " ".join(text.split())


CASES = [
    pytest.param(path, index, id=f"{path}-{index}")
    for path, changes in CHANGES.items()
    for index in range(len(changes))
]


@pytest.mark.parametrize(("path", "index"), CASES)
def test_redline_shows_old_and_new_value(path: str, index: int, config: Config) -> None:
    old = base()
    new = copy.deepcopy(old)
    was, now = CHANGES[path][index](new)
    assert changed_fields(old, new), "not a content change for check"
    assert content(old) != content(new)
    page = redline(old, new, config)
    marks = Marks()
    marks.feed(page)
    dels, inss = [squeeze(d) for d in marks.dels], [squeeze(i) for i in marks.inss]
    if was:
        assert any(was in d for d in dels), f"{was!r} not struck through: {dels[:40]}"
    if now:
        assert any(now in i for i in inss), f"{now!r} not inserted: {inss[:40]}"
    if path.startswith("procedure"):
        assert "The procedure's steps are unchanged" not in page
    unchanged = redline(old, copy.deepcopy(old), config)
    assert "<del>" not in unchanged.split('<section aria-labelledby="summary">')[1]


def test_per_priority_targets_side_by_side(config: Config) -> None:
    old = base()
    new = copy.deepcopy(old)
    step(new, "assign")["within"] = {"critical": "2 business hours", "normal": "Within 3 days"}
    page = squeeze(redline(old, new, config))
    assert (
        "critical: <del>4 business hours</del> <ins>2 business hours</ins>; "
        "normal: <del>Within 48 hours</del> <ins>Within 3 days</ins>"
    ) in page
    assert "Procedure: 1 timeframe changed." in page


def test_summary_names_each_kind_of_change(config: Config) -> None:
    old = base()
    new = copy.deepcopy(old)
    step(new, "investigate")["informed"] = ["qa-team", "hr"]
    new["purpose"] = new["purpose"].replace("consistent", "uniform")
    ref(new, "sop", "SOP-CS-002")["note"] = "Communication Protocol."
    page = squeeze(redline(old, new, config))
    assert "1 step with accountable, consulted or informed roles changed" in page
    assert "Text changed in: II. Purpose, VII. References." in page
    assert "Informed: <del>Quality Assurance Team</del> <ins>Quality Assurance Team, " in page


# --------------------------------------------------------------------------- header contrast


def luminance(rgb: tuple[int, ...]) -> float:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: tuple[int, ...], b: tuple[int, ...]) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def word_contrast(png: Path, box: tuple[float, float, float, float], scale: float) -> float:
    """Contrast between the background (the commonest colour) and the text (the colour
    farthest from it) inside a word's box."""
    from PIL import Image

    with Image.open(png) as image:
        x0, y0, x1, y1 = (round(v * scale) for v in box)
        crop = image.convert("RGB").crop((x0, y0, x1, y1))
        colours = crop.getcolors(crop.width * crop.height) or []
    background = max(colours)[1]
    text = max((c for _, c in colours), key=lambda c: abs(luminance(c) - luminance(background)))
    return contrast(background, text)


needs_poppler = pytest.mark.skipif(
    shutil.which("pdftoppm") is None or shutil.which("pdftotext") is None, reason="needs poppler"
)


@needs_poppler
def test_field_was_now_header_is_readable_in_the_pdf(tmp_path: Path, config: Config) -> None:
    from sopgen.assets import templates_dir
    from sopgen.render.pdf import render_pdf

    old = base()
    new = copy.deepcopy(old)
    new["owner"] = "manager"
    template = environment(REPO).get_template("redline.html.j2")
    page = template.render(v=redline_view(sop_of(old), sop_of(new), config, "HEAD", "pdf"))
    pdf = tmp_path / "redline.pdf"
    pdf.write_bytes(render_pdf(page, [REPO.resolve(), templates_dir().resolve()]).data)
    subprocess.run(["pdftotext", "-f", "1", "-l", "1", "-bbox", str(pdf), str(tmp_path / "w.html")],
                   check=True)  # fmt: skip
    words = re.findall(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(\w+)</word>',
        (tmp_path / "w.html").read_text(),
    )
    boxes = {w[4]: tuple(float(v) for v in w[:4]) for w in reversed(words)}
    assert {"Field", "Was", "Now"} <= set(boxes)
    subprocess.run(["pdftoppm", "-f", "1", "-l", "1", "-r", "144", "-png", "-singlefile",
                    str(pdf), str(tmp_path / "page")], check=True)  # fmt: skip
    for word in ("Field", "Was", "Now"):
        ratio = word_contrast(tmp_path / "page.png", boxes[word], 2.0)
        assert ratio >= 4.5, f"'{word}' header: contrast {ratio:.2f}:1"
