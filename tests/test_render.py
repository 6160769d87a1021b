"""Renderers: safe Markdown, view data, HTML escaping, the PDF URL fetcher."""

from __future__ import annotations

import itertools
import re
import shutil
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sopgen.library import load_library
from sopgen.render import barchart, html, markdown, view
from sopgen.render.pdf import FetchRefused, check_url, render_pdf

REPO = Path(__file__).resolve().parent.parent
HOSTILE = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "[x](javascript:alert(1))",
    "{{ 7*7 }}",
    "{company.__class__}",
]


# --------------------------------------------------------------------------- markdown


@pytest.mark.parametrize(
    "text",
    [
        "[x](javascript:alert(1))",
        "[x](JavaScript:alert(1))",
        "[x]( javascript:alert(1))",
        "[x](data:text/html;base64,PHNjcmlwdD4=)",
        "[x](vbscript:msgbox(1))",
        "[x](file:///etc/passwd)",
        "<javascript:alert(1)>",
        "[r]\n\n[r]: javascript:alert(1)",
    ],
)
def test_dangerous_links_are_not_links(text: str) -> None:
    for rendered in (markdown.inline(text), markdown.block(text)):
        assert "<a" not in rendered
        assert "href" not in rendered


def test_validate_link_is_installed_on_the_parser() -> None:
    assert not markdown._MD.validateLink("javascript:alert(1)")
    assert not markdown._MD.validateLink("data:image/png;base64,AAAA")
    assert not markdown._MD.validateLink("vbscript:x")
    assert markdown._MD.validateLink("https://example.com/")
    assert markdown._MD.validateLink("mailto:qa@example.com")


def test_safe_links_and_emphasis_render() -> None:
    out = markdown.inline("**bold** and [guide](https://example.com/a?b=1&c=2)")
    assert "<strong>bold</strong>" in out
    assert '<a href="https://example.com/a?b=1&amp;c=2">guide</a>' in out


def test_raw_html_is_text() -> None:
    out = markdown.block("<script>alert(1)</script>\n\n<b onclick=x>hi</b>")
    assert "<script" not in out and "<b " not in out
    assert "&lt;script&gt;" in out


@pytest.mark.parametrize("text", ["![x](http://169.254.169.254/)", "![x](file:///etc/passwd)"])
def test_images_are_never_emitted(text: str) -> None:
    out = markdown.block(text)
    assert "<img" not in out and "169.254" not in out.replace("![x](http://169.254", "")


def test_company_is_filled_before_rendering() -> None:
    out = markdown.inline("within {company}", lambda t: t.replace("{company}", "*ACME*"))
    assert out == "within <em>ACME</em>"


# --------------------------------------------------------------------------- views and HTML


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("lib")
    shutil.copy(REPO / "sopgen.yaml", root / "sopgen.yaml")
    shutil.copytree(REPO / "sops", root / "sops")
    lib = load_library(root, None, date(2027, 1, 1))
    assert lib.config is not None and lib.valid_sops()
    return lib


def test_view_derives_matrix_from_steps(library) -> None:  # type: ignore[no-untyped-def]
    sop = library.valid_sops()[0]
    v = view.sop_view(sop, library.config, {}, "html")
    steps = list(sop.steps())
    assert len(v.matrix) == len(steps)
    # columns in process order: each role where a step first names it
    first_named = list(dict.fromkeys(r for s in steps for r in s.raci()))
    assert v.matrix_roles == tuple(library.config.role_name(r) for r in first_named)
    assert [row.label for row in v.matrix][:2] == ["A1", "A2"]
    for row, step in zip(v.matrix, steps, strict=True):
        letters = dict(zip(first_named, row.letters, strict=True))
        for role, expected in step.raci().items():
            assert letters[role] == expected


def test_sop_page_has_structure_and_accessibility(library) -> None:  # type: ignore[no-untyped-def]
    sop = library.valid_sops()[0]
    titles = {s.id: s.title for s in library.valid_sops()}
    page = html.render_sop(library.root, view.sop_view(sop, library.config, titles, "html"))
    assert f'<html lang="{library.config.language}">' in page
    headings = re.findall(r"<h([1-6])", page)
    assert headings[0] == "1" and headings.count("1") == 1
    for a, b in itertools.pairwise(headings):
        assert int(b) <= int(a) + 1, "heading levels must not skip"
    for numeral, name in [
        ("I", "Introduction"),
        ("II", "Purpose"),
        ("III", "Scope"),
        ("IV", "Responsibilities"),
        ("V", "Procedure"),
        ("VI", "Documentation"),
        ("VII", "References"),
        ("VIII", "Revision History"),
    ]:
        assert f"{numeral}. {name}</h2>" in page
    assert page.count("<caption>") >= len(sop.procedure) + 2
    assert "<th>" not in page, "every header cell has a scope"
    assert "<script" not in page


def test_hostile_text_is_escaped_not_linked_not_evaluated(library) -> None:  # type: ignore[no-untyped-def]
    sop = library.valid_sops()[0]
    section = sop.procedure[0]
    evil = " ".join(HOSTILE)
    step = type(section.steps[0])(
        **{**{f: getattr(section.steps[0], f) for f in section.steps[0].__slots__}, "do": evil}
    )
    section = type(section)(section.id, evil, section.letter, (step, *section.steps[1:]))
    import dataclasses

    sop = dataclasses.replace(
        sop, title=evil, purpose=evil, procedure=(section, *sop.procedure[1:])
    )
    for medium in ("html", "pdf"):
        page = html.render_sop(library.root, view.sop_view(sop, library.config, {}, medium))
        assert "<script>alert(1)</script>" not in page
        assert "<img src=x" not in page
        assert "javascript:" not in page.replace("[x](javascript:alert(1))", "")
        assert 'href="javascript' not in page
        assert "{{ 7*7 }}" in page and ">49<" not in page
        assert "{company.__class__}" in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_outside_references_link_only_safe_urls(library) -> None:  # type: ignore[no-untyped-def]
    import dataclasses

    from sopgen.model import Reference

    sop = dataclasses.replace(
        library.valid_sops()[0],
        references=(
            Reference(title="Guide", url="https://example.com/guide"),
            Reference(title="Evil", url="javascript:alert(1)"),
            Reference(sop="SOP-NOT-BUILT"),
        ),
    )
    page = html.render_sop(library.root, view.sop_view(sop, library.config, {}, "html"))
    assert '<a href="https://example.com/guide">Guide</a>' in page
    assert "javascript:" not in page
    assert "SOP-NOT-BUILT" in page and 'href="SOP-NOT-BUILT' not in page


def test_index_marks_overdue_reviews(library) -> None:  # type: ignore[no-untyped-def]
    sops = library.valid_sops()
    far = view.index_view(sops, library.config, date(2099, 1, 1), set())
    near = view.index_view(sops, library.config, date(2000, 1, 1), set())
    reviewed = [s for s in sops if s.next_review and s.status != "retired"]
    assert far.overdue == len(reviewed) and near.overdue == 0
    page = html.render_index(library.root, far)
    assert page.count('class="nowrap overdue"') == len(reviewed)
    assert "innerHTML" not in page
    assert "http://" not in page and "https://" not in page, "no external resources"


# --------------------------------------------------------------------------- PDF fetcher


def test_check_url_allows_only_project_files(tmp_path: Path) -> None:
    (tmp_path / "logo.png").write_bytes(b"x")
    assert check_url((tmp_path / "logo.png").as_uri(), [tmp_path]) == tmp_path / "logo.png"
    assert check_url("data:image/png;base64,AAAA", [tmp_path]) is None
    for url in [
        "http://example.com/x.png",
        "https://169.254.169.254/latest/meta-data",
        "ftp://example.com/x",
        "file:///etc/passwd",
        (tmp_path / ".." / "x").as_uri(),
        "file://evil.example.com/etc/passwd",
    ]:
        with pytest.raises(FetchRefused):
            check_url(url, [tmp_path])


def test_render_pdf_fetches_nothing_outside(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import urllib.request

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("network access attempted")

    monkeypatch.setattr(urllib.request.OpenerDirector, "open", no_network)
    page = (
        "<html><head><link rel=stylesheet href='http://example.com/x.css'></head><body>"
        "<img src='http://169.254.169.254/'><img src='file:///etc/passwd'>"
        "<div style=\"background: url('https://example.com/t.png')\">hi</div></body></html>"
    )
    result = render_pdf(page, [tmp_path])
    assert result.data.startswith(b"%PDF")
    assert set(result.refused) >= {
        "http://169.254.169.254/",
        "file:///etc/passwd",
        "http://example.com/x.css",
    }


@given(st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=120))
def test_chart_labels_take_at_most_two_lines_and_lose_only_their_end(text: str) -> None:
    """Each line fits the chart's width; what is shown is the label's start, whitespace
    runs as one space; a cut label ends in "…"."""
    lines = barchart.label_lines(text)
    flat = " ".join(text.split())
    assert 1 <= len(lines) <= 2
    assert all(barchart.text_width(line) <= barchart.LINE_EM for line in lines)
    shown = "".join(lines)
    if shown.endswith("…") and not flat.endswith("…"):
        shown = shown.removesuffix("…")
    assert flat.replace(" ", "").startswith(shown.replace(" ", ""))
    assert lines[-1].endswith("…") or shown.replace(" ", "") == flat.replace(" ", "")
