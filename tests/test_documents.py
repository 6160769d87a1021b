"""What a controlled document says about itself: history, signatures, timing rules, withdrawal.

One small build (two SOPs, HTML and PDF) is shared; the PDFs are read back
with pypdf as a reader's text, the HTML as a browser gets it.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
from pathlib import Path

import pypdf
import pytest
from click.testing import CliRunner

from sopgen.cli import cli
from sopgen.library import load_library
from sopgen.render import html, view

REPO = Path(__file__).resolve().parent.parent
NOW = "2026-11-28T10:00:00+01:00"
EPOCH = "1795856400"  # 2026-11-28 09:00 UTC, the same day


def make_library(dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "sopgen.yaml", dest / "sopgen.yaml")
    shutil.copytree(REPO / "sops", dest / "sops")
    return dest


def build(root: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--root", str(root), "build", *args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def words(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = make_library(tmp_path_factory.mktemp("docs"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOPGEN_NOW", NOW)
        mp.setenv("SOURCE_DATE_EPOCH", EPOCH)
        code, output = build(root, "SOP-CS-001", "SOP-CS-008")
    assert code == 0, output
    return root


def pdf_words(root: Path, sop_id: str) -> str:
    reader = pypdf.PdfReader(root / "output" / "pdf" / f"{sop_id}.pdf")
    return words(" ".join(page.extract_text() for page in reader.pages))


def first_page(root: Path, sop_id: str) -> str:
    reader = pypdf.PdfReader(root / "output" / "pdf" / f"{sop_id}.pdf")
    return words(reader.pages[0].extract_text())


def test_page_one_states_what_it_supersedes_and_why(built: Path) -> None:
    page = first_page(built, "SOP-CS-001")
    assert "Supersedes version 1.1 of 2026-10-15." in page
    assert "This version: Obligations worded as requirements (must)" in page


def test_first_issue_says_so(built: Path) -> None:
    library = load_library(built)
    sop = library.sops["SOP-CS-008"]
    assert view.supersedes(sop) == "Supersedes version 0.1 of 2026-11-16"
    first = dataclasses.replace(sop, revisions=sop.revisions[:1], version="0.1")
    assert library.config is not None
    page = html.render_sop(built, view.sop_view(first, library.config, {}, "html"))
    assert '<strong class="supersedes">First issue.</strong>' in page


def test_signatures_carry_their_meaning(built: Path) -> None:
    text = pdf_words(built, "SOP-CS-001")
    assert "Signed as Name Role Date" in text
    assert "Author Miriam Hoffmann Quality Assurance Team 2026-10-19" in text
    assert "Approver Jonas Albrecht" in text
    assert "Reviewer Piotr Nowak" in text


def test_generated_date_beside_uncontrolled_when_printed(built: Path) -> None:
    page = first_page(built, "SOP-CS-001")
    assert "Generated on 2026-11-28 · Uncontrolled when printed" in page
    assert "Uncontrolled when printed · generated 2026-11-28" in page  # running footer


def test_draft_notice_is_text_in_the_pdf(built: Path) -> None:
    page = first_page(built, "SOP-CS-008")
    assert "This document is a draft: it is not in force yet." in page


def test_timing_rules_come_from_the_config(built: Path) -> None:
    text = pdf_words(built, "SOP-CS-001")
    assert "Time zone All times are Europe/Berlin local time." in text
    assert "Monday to Friday, except public holidays of DE-BE" in text
    assert "closure days (2026-12-24, 2026-12-31" in text
    assert "Opening hours are 09:00–17:00." in text
    assert "Plain hours and days are calendar time" in text


def test_pdf_is_tagged(built: Path) -> None:
    reader = pypdf.PdfReader(built / "output" / "pdf" / "SOP-CS-001.pdf")
    root = reader.trailer["/Root"]
    assert bool(root["/MarkInfo"]["/Marked"])
    assert "/StructTreeRoot" in root
    if shutil.which("pdfinfo"):
        import subprocess

        info = subprocess.run(
            ["pdfinfo", str(built / "output" / "pdf" / "SOP-CS-001.pdf")],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert re.search(r"^Tagged:\s+yes$", info, re.MULTILINE)


def test_step_labels_and_sop_links(built: Path) -> None:
    text = pdf_words(built, "SOP-CS-001")
    assert "A1 Take in the complaint" in text
    assert "Legend: R = Responsible: does the work of the step;" in text
    page = (built / "output" / "html" / "SOP-CS-001.html").read_text()
    assert '<tr id="step-A1" class="step">' in page
    assert '<a class="label" href="#step-B2">B2</a>' in page
    # every mention of a library SOP's id in text is a link, kept on one line
    assert '<a class="sop-ref" href="SOP-CS-005.html"' in page
    assert re.search(r'<a class="sop-ref" href="SOP-CS-003.html"[^>]*>SOP-CS-003</a>', page)


def test_html_page_links_index_pdf_and_has_contents(built: Path) -> None:
    page = (built / "output" / "html" / "SOP-CS-001.html").read_text()
    assert '<a href="index.html">← All SOPs</a>' in page
    assert '<a href="../pdf/SOP-CS-001.pdf">PDF of SOP-CS-001</a>' in page
    assert '<nav class="toc" aria-labelledby="contents">' in page
    assert '<a href="#timing">Timeframes</a>' in page


def test_reference_notes_do_not_repeat_the_title(built: Path) -> None:
    text = pdf_words(built, "SOP-CS-001")
    assert "Escalation Procedure — Escalation Procedure" not in text
    assert "SOP-CS-005 Escalation Procedure — for cases that require" in text


def test_deleted_and_retired_sops_leave_no_documents(tmp_path: Path) -> None:
    root = make_library(tmp_path / "lib")
    code, output = build(root, "--html")
    assert code == 0, output
    assert (root / "output" / "html" / "SOP-CS-006.html").is_file()
    (root / "sops" / "sop-cs-006.yaml").unlink()
    retired = root / "sops" / "sop-cs-007.yaml"
    text = retired.read_text().replace("status: in-review", "status: retired", 1)
    retired.write_text(re.sub(r"  - sop: SOP-CS-006\n(    note: .*\n)?", "", text))
    code, output = build(root, "--html")
    assert code == 0, output
    assert "removed output/html/SOP-CS-006.html (SOP withdrawn or retired)" in output
    html = root / "output" / "html"
    assert not (html / "SOP-CS-006.html").exists()
    assert not (html / "SOP-CS-007.html").exists()
    assert not list((root / "output").rglob("SOP-CS-006*"))
    index = (html / "index.html").read_text()
    current, _, retired_part = index.partition('<h2 id="retired">Retired SOPs</h2>')
    assert "SOP-CS-007" in retired_part and 'href="SOP-CS-007.html"' not in index
    assert "SOP-CS-006" not in index
    assert "SOP-CS-001" in current


def test_unreadable_sop_file_blocks_removal(tmp_path: Path) -> None:
    root = make_library(tmp_path / "lib")
    assert build(root, "--html")[0] == 0
    (root / "sops" / "sop-cs-006.yaml").write_text("id: [unclosed\n")
    code, _ = build(root, "--html")
    assert code == 1
    assert (root / "output" / "html" / "SOP-CS-006.html").is_file()  # it may still be that SOP


def matrix_pdf_pages(root: Path, padding: int) -> list[str]:
    """test_validate's small SOP as a PDF, its scope `padding` list lines longer (one line each)."""
    from test_validate import CONFIG, OTHER, sop_text

    shutil.rmtree(root, ignore_errors=True)
    (root / "sops").mkdir(parents=True)
    (root / "sopgen.yaml").write_text(CONFIG)
    (root / "sops" / "sop-t-002.yaml").write_text(OTHER)
    lines = "".join(f"  - Intake channel {i}\n" for i in range(padding))
    scope = "scope: |\n  All complaints, from these channels:\n\n" + lines
    (root / "sops" / "sop-t-001.yaml").write_text(
        sop_text().replace("scope: All complaints.\n", scope)
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOPGEN_NOW", NOW)
        code, output = build(root, "--pdf", "SOP-T-001")
    assert code == 0, output
    reader = pypdf.PdfReader(root / "output" / "pdf" / "SOP-T-001.pdf")
    return [words(page.extract_text()) for page in reader.pages]


def legend_page(pages: list[str]) -> int:
    return next(i for i, page in enumerate(pages) if "Legend:" in page)


def test_the_matrix_legend_is_never_alone_at_the_top_of_a_page(tmp_path: Path) -> None:
    """Lengthen the text before the matrix line by line until the legend moves to the next
    page (binary search): the last matrix row must move with it, not stay behind."""
    root = tmp_path / "lib"
    start = legend_page(matrix_pdf_pages(root, 0))
    low, high = 0, 60  # the legend is on page `start` at low, later at high
    assert legend_page(matrix_pdf_pages(root, high)) > start
    while high - low > 1:
        middle = (low + high) // 2
        if legend_page(matrix_pdf_pages(root, middle)) > start:
            high = middle
        else:
            low = middle
    pages = matrix_pdf_pages(root, high)  # the first padding that moves the legend
    assert "B2 Plan the resolution. R Legend:" in pages[legend_page(pages)], pages
