"""`sopgen build` end to end on the example library: PDFs read back, HTML, incremental builds."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from xml.etree import ElementTree

import pypdf
import pytest
from click.testing import CliRunner

from pdfkit import ua_problems, xmp
from sopgen.cli import cli
from sopgen.library import load_library
from sopgen.model import Sop
from sopgen.render.environment import environment

REPO = Path(__file__).resolve().parent.parent
SECTIONS = [
    "I. Introduction",
    "II. Purpose",
    "III. Scope",
    "IV. Responsibilities",
    "V. Procedure",
    "VI. Documentation",
    "VII. References",
    "VIII. Revision History",
]


def make_library(dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "sopgen.yaml", dest / "sopgen.yaml")
    shutil.copytree(REPO / "sops", dest / "sops")
    return dest


def run(root: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--root", str(root), "build", *args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def words(text: str) -> str:
    """Text with all whitespace runs as one space (PDF text wraps inside table cells)."""
    return re.sub(r"\s+", " ", text).strip()


def squash(text: str) -> str:
    """Text without any whitespace (hyphenated ids may wrap at the hyphen in a cell)."""
    return re.sub(r"\s+", "", text)


def mtimes(folder: Path) -> dict[str, int]:
    return {
        str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()
    }


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example library, built once (HTML and PDF, two workers)."""
    root = make_library(tmp_path_factory.mktemp("built"))
    code, output = run(root, "--jobs", "2")
    assert code == 0, output
    return root


@pytest.fixture(scope="module")
def sops(built: Path) -> list[Sop]:
    library = load_library(built)
    assert library.config is not None
    return library.valid_sops()


def pdf_text(path: Path) -> tuple[pypdf.PdfReader, list[str]]:
    reader = pypdf.PdfReader(path)
    return reader, [page.extract_text() for page in reader.pages]


# --------------------------------------------------------------------------- PDF


def test_every_sop_has_a_page_and_a_pdf(built: Path, sops: list[Sop]) -> None:
    assert len(sops) >= 5
    for sop in sops:
        assert (built / "output" / "html" / f"{sop.id}.html").is_file()
        assert (built / "output" / "pdf" / f"{sop.id}.pdf").read_bytes().startswith(b"%PDF")
    assert not list((built / "output").rglob("*.tmp"))


def test_pdf_content(built: Path, sops: list[Sop]) -> None:
    library = load_library(built)
    config = library.config
    assert config is not None
    for sop in sops:
        _, pages = pdf_text(built / "output" / "pdf" / f"{sop.id}.pdf")
        text = squash(" ".join(pages))
        for heading in SECTIONS:
            assert squash(heading) in text, (sop.id, heading)
        for section in sop.procedure:
            assert squash(f"{section.letter}. {config.fill(section.title)}") in text
            for step in section.steps:
                plain = squash(re.sub(r"[*_`]", "", config.fill(step.do)))
                assert plain in text, (sop.id, step.key)
                assert squash(config.role_name(step.responsible)) in text
                within = re.split(r" after ", step.within.text)[0]
                if step.within.after:
                    within += " after step "
                assert squash(within) in text
        assert squash("Responsibility matrix") in text
        history = text[text.index(squash("VIII. Revision History")) :]
        for revision in sop.revisions:
            assert revision.version in history and revision.date.isoformat() in history
            assert squash(revision.author) in history
        for approval in sop.approvals:
            assert squash(approval.name) in text
        if sop.retention:
            assert squash(f"Retention period: {sop.retention}") in text


def test_pdf_matrix_letters(built: Path, sops: list[Sop]) -> None:
    sop = sops[0]
    _, pages = pdf_text(built / "output" / "pdf" / f"{sop.id}.pdf")
    text = words(" ".join(pages))
    matrix = text[text.index("Responsibility matrix") :]
    for section in sop.procedure:
        for step in section.steps:
            label = f"{section.letter}{step.number}"
            start = matrix.index(label + " ")
            row = matrix[start : start + 400]
            for letters in step.raci().values():
                assert re.search(rf"\b{letters}\b", row), (label, letters)


def test_pdf_header_footer_on_every_page(built: Path, sops: list[Sop]) -> None:
    library = load_library(built)
    assert library.config is not None
    company = library.config.company
    for sop in sops:
        _, pages = pdf_text(built / "output" / "pdf" / f"{sop.id}.pdf")
        assert len(pages) >= 2
        for number, page in enumerate(pages, 1):
            flat = words(page)
            assert company in flat
            assert f"{sop.id} {words(sop.title)}" in flat
            assert f"Version {sop.version}" in flat
            assert "Uncontrolled when printed" in flat
            assert f"Page {number} of {len(pages)}" in flat
            effective = sop.effective.isoformat() if sop.effective else "—"
            assert f"Effective: {effective}" in flat
            assert "Status: " in flat


def test_pdf_metadata_and_outline(built: Path, sops: list[Sop]) -> None:
    for sop in sops:
        reader = pypdf.PdfReader(built / "output" / "pdf" / f"{sop.id}.pdf")
        meta = reader.metadata
        assert meta is not None
        assert meta.title == f"{sop.id} {sop.title}"
        assert meta.author == "Havelstein Retail GmbH" or meta.author
        assert sop.id in (meta.subject or "") and sop.version in (meta.subject or "")
        assert sop.id in str(meta.get("/Keywords"))
        outline = [item for item in reader.outline if not isinstance(item, list)]
        titles = [item.title for item in outline]
        for heading in SECTIONS:
            assert heading in titles


def test_watermark_on_draft_only(built: Path, sops: list[Sop]) -> None:
    marks = {"draft": "DRAFT", "in-review": "IN REVIEW", "retired": "RETIRED"}
    seen = False
    for sop in sops:
        _, pages = pdf_text(built / "output" / "pdf" / f"{sop.id}.pdf")
        for page in pages:
            if sop.status in marks:
                seen = True
                assert marks[sop.status] in page
            else:
                assert not any(m in page for m in marks.values())
    assert seen, "the example library should hold a draft or in-review SOP"


def test_pdf_links_to_other_pdfs_exist(built: Path, sops: list[Sop]) -> None:
    targets = set()
    for sop in sops:
        reader = pypdf.PdfReader(built / "output" / "pdf" / f"{sop.id}.pdf")
        for page in reader.pages:
            for annot in page.get("/Annots") or []:
                action = annot.get_object().get("/A")
                if action and action.get("/S") == "/URI":
                    uri = str(action["/URI"])
                    if uri.endswith(".pdf"):
                        assert "/" not in uri, "links between PDFs stay relative"
                        assert (built / "output" / "pdf" / uri).is_file(), uri
                        targets.add(uri)
    assert targets


# --------------------------------------------------------------------------- HTML


def test_html_links_resolve_and_index_lists_every_sop(built: Path, sops: list[Sop]) -> None:
    folder = built / "output" / "html"
    links = 0
    for page in folder.glob("*.html"):
        for href in re.findall(r'href="([^"]+)"', page.read_text()):
            if href.startswith(("http:", "https:", "mailto:", "#")):
                continue
            assert (folder / href).resolve().is_file(), (page.name, href)
            links += 1
    assert links
    index = (folder / "index.html").read_text()
    for sop in sops:
        assert f'href="{sop.id}.html"' in index
        assert f'href="../pdf/{sop.id}.pdf"' in index
    assert "innerHTML" not in index
    assert not re.search(r"<(link|script|img)[^>]+(src|href)=\"https?:", index)


def test_html_is_reproducible(built: Path, tmp_path: Path) -> None:
    other = make_library(tmp_path)
    code, output = run(other, "--html")
    assert code == 0, output
    for page in (built / "output" / "html").glob("SOP-*.html"):
        assert page.read_bytes() == (other / "output" / "html" / page.name).read_bytes()


# --------------------------------------------------------------------------- incremental


def test_second_build_is_a_noop_without_weasyprint(built: Path) -> None:
    before = mtimes(built / "output")
    script = (
        "import sys\n"
        "from sopgen.cli import cli\n"
        f"code = cli.main(['--root', {str(built)!r}, 'build'], standalone_mode=False)\n"
        "print('weasyprint' in sys.modules)\n"
    )
    env = {**os.environ, "COLUMNS": "200"}
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.strip().splitlines()[-1] == "False", out.stdout + out.stderr
    assert "built " not in out.stdout
    assert mtimes(built / "output") == before


def test_change_rebuilds_the_sop_and_its_referrers(built: Path, tmp_path: Path) -> None:
    root = tmp_path / "lib"
    shutil.copytree(built, root)  # copy2 keeps mtimes and the manifest
    library = load_library(root)
    changed = next(
        s
        for s in library.valid_sops()
        if any(r.sop == s.id for o in library.valid_sops() for r in o.references)
    )
    referrers = {
        o.id for o in library.valid_sops() if any(r.sop == changed.id for r in o.references)
    }
    path = root / changed.path
    path.write_text(
        path.read_text().replace(f"title: {changed.title}", f"title: {changed.title} Renamed")
    )
    before = mtimes(root / "output")
    code, output = run(root, "--html")
    assert code == 0, output
    after = mtimes(root / "output")
    rewritten = {name for name in after if after[name] != before.get(name)}
    expected = {f"html/{i}.html" for i in {changed.id} | referrers} | {
        "html/index.html",
        ".manifest.json",
        ".build-stamp.json",
    }
    assert rewritten == expected
    manifest = json.loads((root / "output" / ".manifest.json").read_text())
    assert f"html/{changed.id}.html" in manifest["outputs"]


@pytest.mark.parametrize(
    ("edit", "referrers_rebuilt"),
    [
        (lambda text: "# reviewed, no change\n" + text, False),  # a comment only
        (lambda text: text.replace("purpose: >\n", "purpose: >\n  In short:\n", 1), False),
        (lambda text: text.replace("status: effective", "status: retired", 1), True),
    ],
)
def test_referrers_are_rebuilt_only_when_what_they_show_changed(
    built: Path, tmp_path: Path, edit: Callable[[str], str], referrers_rebuilt: bool
) -> None:
    root = tmp_path / "lib"
    shutil.copytree(built, root)
    path = root / "sops" / "sop-cs-005.yaml"
    referrers = {
        f"html/{sop.id}.html"
        for sop in load_library(root).valid_sops()
        if any(ref.sop == "SOP-CS-005" for ref in sop.references)
    }
    assert len(referrers) >= 2
    assert "status: effective" in path.read_text()
    path.write_text(edit(path.read_text()))
    before = mtimes(root / "output")
    code, output = run(root, "--html")
    assert code == 0, output
    after = mtimes(root / "output")
    pages = {n for n in after if n.startswith("html/SOP-") and after[n] != before.get(n)}
    withdrawn = "status: retired" in path.read_text()  # a retired SOP's document is removed
    assert (root / "output" / "html" / "SOP-CS-005.html").exists() is not withdrawn
    own = set() if withdrawn else {"html/SOP-CS-005.html"}
    assert pages == own | (referrers if referrers_rebuilt else set())


def contents(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def break_sop(root: Path, name: str) -> str:
    """Give sops/NAME an unknown owner role; return the problem's `file:line:column:` head."""
    path = root / "sops" / name
    text = path.read_text()
    line = text[: text.index("\nowner: ")].count("\n") + 2
    path.write_text(text.replace("\nowner: ", "\nowner: no-such-role #", 1))
    return f"sops/{name}:{line}:8: error: unknown role 'no-such-role'"


def test_an_invalid_sop_refuses_the_build_and_leaves_the_output_as_it_was(
    tmp_path: Path,
) -> None:
    """The index and the links of other documents keep the SOP: nothing is half-written."""
    root = make_library(tmp_path)
    code, output = run(root)
    assert code == 0, output
    before = contents(root / "output")
    problem = break_sop(root, "sop-cs-005.yaml")  # referenced by SOP-CS-001 and -002
    for options in ([], ["--html"], ["--force"]):
        result = CliRunner().invoke(cli, ["--root", str(root), "build", *options])
        assert result.exit_code == 1
        assert problem in result.stderr
        assert result.stderr.splitlines()[-2:] == [
            "sopgen: error: nothing built: 1 invalid file the build needs: sops/sop-cs-005.yaml",
            "    hint: fix the errors above ('sopgen validate' lists them); "
            "output/ was left as it was",
        ]
        assert contents(root / "output") == before


def test_an_invalid_sop_refuses_a_first_build_too(tmp_path: Path) -> None:
    root = make_library(tmp_path)
    break_sop(root, "sop-cs-002.yaml")
    code, output = run(root, "--html")
    assert code == 1
    assert "nothing built" in output
    assert not (root / "output" / "html").exists()


def test_building_named_sops_needs_only_them_and_what_they_reference(tmp_path: Path) -> None:
    """`build SOP-X` writes X when X and its references are valid; the index stays as it was."""
    root = make_library(tmp_path)
    code, output = run(root, "--html")
    assert code == 0, output
    index = (root / "output" / "html" / "index.html").read_bytes()
    problem = break_sop(root, "sop-cs-004.yaml")
    referenced = {ref.sop for ref in load_library(root).sops["SOP-CS-003"].references if ref.sop}
    assert "SOP-CS-004" not in referenced
    path = root / "sops" / "sop-cs-003.yaml"
    path.write_text(path.read_text().replace("\ntitle: ", "\ntitle: Revised ", 1))

    before = contents(root / "output")
    code, output = run(root, "--html", "SOP-CS-001")  # SOP-CS-001 references SOP-CS-004
    assert code == 1
    assert problem in output and "nothing built" in output
    assert contents(root / "output") == before

    code, output = run(root, "--html", "SOP-CS-003")
    assert code == 1  # the library still holds invalid input
    assert problem in output
    assert "1 file written" in output
    assert "index.html was left as it was" in output
    assert "Revised" in (root / "output" / "html" / "SOP-CS-003.html").read_text()
    assert (root / "output" / "html" / "index.html").read_bytes() == index


def test_unknown_sop_id_fails_as_everywhere_else(tmp_path: Path) -> None:
    """`build SOP-NOPE` fails as `case open X --sop SOP-NOPE` does: same exit code and form."""
    root = make_library(tmp_path)
    runner = CliRunner()
    env = {"SOPGEN_NOW": "2026-11-23T10:00"}
    built = runner.invoke(cli, ["--root", str(root), "build", "--html", "SOP-NOPE"], env=env)
    opened = runner.invoke(
        cli, ["--root", str(root), "case", "open", "X-1", "--sop", "SOP-NOPE"], env=env
    )
    assert built.exit_code == opened.exit_code == 1
    assert built.stderr == opened.stderr
    assert built.stderr.startswith("sopgen: error: unknown SOP 'SOP-NOPE'\n    hint: SOPs in")
    assert not (root / "output").exists()


def test_render_error_keeps_the_previous_file(tmp_path: Path) -> None:
    root = make_library(tmp_path / "lib")
    code, _ = run(root, "--html")
    assert code == 0
    page = root / "output" / "html" / "SOP-CS-001.html"
    old = page.read_bytes()
    (root / "templates").mkdir()
    (root / "templates" / "sop.html.j2").write_text("{{ v.no_such_field }}")
    environment.cache_clear()  # one Jinja environment per root and process, as in the CLI
    code, output = run(root, "--html", "--force")
    assert code == 1
    assert "could not render the HTML page of SOP-CS-001" in output
    assert page.read_bytes() == old
    assert not list((root / "output").rglob("*.tmp"))


@pytest.mark.parametrize("logo", ["../../etc/passwd", "http://example.com/x.png", "/etc/passwd"])
def test_hostile_logo_is_refused_not_fetched(tmp_path: Path, logo: str) -> None:
    root = make_library(tmp_path)
    config = root / "sopgen.yaml"
    text = config.read_text()
    text = re.sub(r"\nbranding:\n", f'\nbranding:\n  logo: "{logo}"\n', text)
    config.write_text(text)
    code, output = run(root, "--html", "SOP-CS-001")
    assert code == 1
    assert re.search(r"sopgen\.yaml:\d+:\d+: error: logo", output), output
    page = (root / "output" / "html" / "SOP-CS-001.html").read_text()
    assert "root:" not in page and "<img" not in page


def test_logo_inside_the_project_is_inlined(tmp_path: Path) -> None:
    root = make_library(tmp_path)
    (root / "branding").mkdir()
    (root / "branding" / "logo.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20">'
        '<rect width="40" height="20"/></svg>'
    )
    config = root / "sopgen.yaml"
    config.write_text(
        re.sub(r"\nbranding:\n", "\nbranding:\n  logo: branding/logo.svg\n", config.read_text())
    )
    code, output = run(root, "--html", "SOP-CS-001")
    assert code == 0, output
    assert (
        'src="data:image/svg+xml;base64,'
        in (root / "output" / "html" / "SOP-CS-001.html").read_text()
    )


def test_hostile_markdown_pdf_fetches_nothing(tmp_path: Path) -> None:
    root = make_library(tmp_path)
    sop = root / "sops" / "sop-cs-001.yaml"
    text = sop.read_text().replace(
        "documentation: >",
        "documentation: >\n  ![x](http://169.254.169.254/) ![y](file:///etc/passwd)"
        " <script>alert(1)</script> [x](javascript:alert(1))\n ",
        1,
    )
    sop.write_text(text)
    assert load_library(root).entry("SOP-CS-001").valid  # type: ignore[union-attr]
    code, output = run(root, "--pdf", "SOP-CS-001", "--jobs", "1")
    assert code == 0, output
    _, pages = pdf_text(root / "output" / "pdf" / "SOP-CS-001.pdf")
    assert "<script>alert(1)</script>" in words(" ".join(pages))


def test_pdf_a3b_variant_is_reproducible(built: Path, tmp_path: Path) -> None:
    root = make_library(tmp_path)
    code, output = run(root, "--pdf", "--pdf-variant", "pdf/a-3b", "--jobs", "1", "SOP-CS-002")
    assert code == 0, output
    data = (root / "output" / "pdf" / "SOP-CS-002.pdf").read_bytes()
    catalog = pypdf.PdfReader(root / "output" / "pdf" / "SOP-CS-002.pdf").trailer["/Root"]
    xmp = catalog["/Metadata"].get_object().get_data()
    assert b'pdfaid:part="3"' in xmp or b"<pdfaid:part>3<" in xmp, xmp[:600]
    assert b"pdfaid:conformance" in xmp
    assert "/OutputIntents" in catalog
    # archival PDFs identify as PDF/UA-1 too, tagged, titled and in a language
    assert ua_problems(root / "output" / "pdf" / "SOP-CS-002.pdf") == []
    code, output = run(
        root, "--pdf", "--pdf-variant", "pdf/a-3b", "--jobs", "1", "--force", "SOP-CS-002"
    )
    assert (root / "output" / "pdf" / "SOP-CS-002.pdf").read_bytes() == data
    # the plain variant, built in another folder with two workers, is byte-identical too
    code, output = run(root, "--pdf", "--jobs", "1", "SOP-CS-002")
    assert code == 0
    assert (root / "output" / "pdf" / "SOP-CS-002.pdf").read_bytes() == (
        built / "output" / "pdf" / "SOP-CS-002.pdf"
    ).read_bytes()


def test_every_pdf_identifies_as_tagged_pdf_ua(built: Path, sops: list[Sop]) -> None:
    """XMP metadata in the catalog: PDF/UA-1 (pdfuaid:part), the title and the language,
    and the PDF still tagged (issue #18, item 23)."""
    pdfs = sorted((built / "output" / "pdf").glob("*.pdf"))
    assert {p.stem for p in pdfs} >= {s.id for s in sops if s.status != "retired"}
    assert [problem for pdf in pdfs for problem in ua_problems(pdf)] == []
    rdf = xmp(pdfs[0])
    assert rdf is not None and b"pdfuaid:part" in ElementTree.tostring(rdf)
