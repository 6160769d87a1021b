"""The HTML documents in a real browser (Debian's chromium via Playwright) at phone width.

An SOP id or an ISO date broken at its hyphens ("SOP-CS-" / "001") misreads
as two things; at 390 px the document-control table and the index broke them.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from sopgen.cli import cli

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(
    shutil.which(CHROMIUM) is None, reason="needs Debian's chromium at /usr/bin/chromium"
)

# Every element whose whole text is an SOP id or an ISO date, and how many lines it takes.
BROKEN = """() => {
  const whole = /^(SOP-[A-Z0-9-]+|\\d{4}-\\d{2}-\\d{2})$/;
  const found = [];
  for (const el of document.querySelectorAll("td, th, a, span")) {
    const text = el.textContent.trim();
    if (!whole.test(text) || el.offsetParent === null) continue;
    const range = document.createRange();
    range.selectNodeContents(el);
    const lines = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
    if (lines.size > 1) found.push(text);
  }
  return found;
}"""


@pytest.fixture(scope="module")
def html(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("layout")
    shutil.copy(REPO / "sopgen.yaml", root)
    shutil.copytree(REPO / "sops", root / "sops")
    result = CliRunner().invoke(
        cli, ["--root", str(root), "build", "--html"], env={"SOPGEN_NOW": "2026-11-24T12:00"}
    )
    assert result.exit_code == 0, result.output
    return root / "output" / "html"


@pytest.mark.parametrize("width", [390, 1280])
def test_ids_and_dates_never_break_and_nothing_is_wider_than_the_screen(
    html: Path, width: int
) -> None:
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": width, "height": 844})
            for name in ("SOP-CS-001.html", "SOP-CS-007.html", "index.html"):
                page.goto((html / name).as_uri())
                checked = page.evaluate(
                    "() => document.querySelectorAll('.control-table td, .revisions td').length"
                )
                assert name == "index.html" or checked > 0
                assert page.evaluate(BROKEN) == [], f"{name} at {width} px"
                assert page.evaluate("document.documentElement.scrollWidth") <= width, name
        finally:
            browser.close()
