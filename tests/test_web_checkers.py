"""The standard checkers over every desk page and every generated HTML document.

axe-core (accessibility) runs in Debian's chromium at desktop and phone width
(1280 and 390 px); the Nu HTML Checker (vnu) reads the same pages as served,
in one run per test. Every page must come out with no violation and no error:
a failure lists each finding as `page @ width: rule (impact): …` or
`page:line:column: error: …`. See tests/webcheck.py for where the checkers
come from (they skip on a developer's machine without them, never in CI).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import webcheck
from deskkit import PASSWORD, Desk, csrf_of, desk_fixture, serving  # noqa: F401 - `desk`
from sopgen.cli import cli

CHROMIUM = "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(
    shutil.which(CHROMIUM) is None, reason="needs Debian's chromium at /usr/bin/chromium"
)
WIDTHS = {"1280": (1280, 900), "390": (390, 844)}
CASE = "C-2026-0042"


@pytest.fixture(name="browser", scope="module")
def browser_fixture() -> Iterator[Any]:
    """One chromium for the module's tests."""
    webcheck.require()
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            yield browser
        finally:
            browser.close()


class Pages:
    """Pages checked so far: axe-core's violations at each width, and each page's HTML as
    served saved into `folder` for one vnu run at the end."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.saved: dict[Path, str] = {}
        self.violations: list[str] = []

    def check(self, page: Any, name: str, html: str | None) -> None:
        """axe-core over what `page` shows, at each width; `html` (as served) for vnu."""
        for width, (w, h) in WIDTHS.items():
            page.set_viewport_size({"width": w, "height": h})
            self.violations += webcheck.axe_violations(page, f"{name} @ {width}px")
        if html is not None:
            path = self.folder / (re.sub(r"[^A-Za-z0-9.-]+", "_", name) + ".html")
            path.write_text(html, encoding="utf-8")
            self.saved[path] = name

    def visit(self, page: Any, url: str, name: str) -> None:
        response = page.goto(url)
        assert response is not None and response.ok, (name, response and response.status)
        self.check(page, name, response.text())

    def findings(self) -> list[str]:
        return [*self.violations, *webcheck.vnu_errors(self.saved, self.saved)]


def _case_with_history(desk: Desk) -> None:
    """A case with done steps, a note, a finished hold and a priority change, and a second
    case nobody has: the case page, My work and the dashboard show every kind of row."""
    mia = desk.api("mia")
    body = {"case": CASE, "sop": "SOP-CS-003", "received": "2026-11-20T18:05",
            "assignee": "alice", "summary": "Parcel <b>late</b>"}  # fmt: skip
    assert mia.post("/api/cases", json=body).status_code == 201
    other = {"case": "C-2026-0043", "sop": "SOP-CS-001", "received": "2026-11-19T09:00"}
    assert mia.post("/api/cases", json=other).status_code == 201
    alice = desk.api("alice")
    for step, at in (("create-file.open-file", "2026-11-23T09:12"),
                     ("create-file.record-details", "2026-11-23T09:30")):  # fmt: skip
        done = alice.post(f"/api/cases/{CASE}/steps/{step}/done", json={"at": at})
        assert done.status_code == 200, done.text
    hold = {"at": "2026-11-23T09:40", "reason": "waiting for the customer's photos"}
    assert alice.post(f"/api/cases/{CASE}/hold", json=hold).status_code == 200
    assert alice.post(f"/api/cases/{CASE}/resume", json={"at": "2026-11-23T09:50"}).is_success


def _sign_in(page: Any, server: str, login: str) -> None:
    page.goto(server + "/signin")
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_url(server + "/")


def _submitted(page: Any, click: str) -> str:
    """Click the button `click` submits a form with; the HTML of the page it ends on
    (after a redirect, the page redirected to)."""
    with page.expect_navigation() as answer:
        page.click(click)
    page.wait_for_load_state()
    text: str = answer.value.text()
    return text


def test_every_desk_page_passes_axe_core_and_the_nu_html_checker(
    desk: Desk, browser: Any, tmp_path: Path
) -> None:
    """Signed out, as a rep and as an admin: every page the desk serves (issue #18,
    item 22: the Users table's empty header cell, Open a case's SOP list without an
    empty first option)."""
    _case_with_history(desk)
    pages = Pages(tmp_path / "desk")
    with serving(desk.app) as server:
        context = browser.new_context(bypass_csp=True)
        page = context.new_page()
        page.set_default_timeout(20_000)
        pages.visit(page, server + "/signin", "sign-in")
        page.fill("input[name=login]", "alice")
        page.fill("input[name=password]", "not the password")
        pages.check(page, "sign-in refused", _submitted(page, "button:has-text('Sign in')"))
        context.close()

        for login in ("alice", "ada"):
            context = browser.new_context(bypass_csp=True)
            page = context.new_page()
            page.set_default_timeout(20_000)
            _sign_in(page, server, login)
            paths = {"my work": "/", "cases": "/cases", "case": f"/cases/{CASE}",
                     "open a case": "/cases/new", "account": "/account",
                     "no such case": "/cases/C-0000-0000", "documents": "/documents",
                     "document": "/documents/SOP-CS-001"}  # fmt: skip
            if login == "ada":
                paths |= {"dashboard": "/dashboard", "users": "/users",
                          "cases of alice": "/cases?assignee=alice"}  # fmt: skip
            for name, path in paths.items():
                if name == "no such case":
                    response = page.goto(server + path)
                    assert response is not None and response.status == 404
                    pages.check(page, f"{login}: {name}", response.text())
                else:
                    pages.visit(page, server + path, f"{login}: {name}")

            # Open a case without choosing an SOP: the browser refuses (`required` can
            # fail only with an empty first option), and so does the desk
            page.goto(server + "/cases/new")
            page.fill("input[name=case]", "C-2026-0099")
            sop = page.locator("select[name=sop]")
            assert sop.input_value() == ""
            assert not sop.evaluate("s => s.checkValidity()")
            sop.evaluate("s => s.removeAttribute('required')")
            html = _submitted(page, "button:has-text('Open the case')")
            assert "no SOP chosen" in page.locator("p.error").inner_text()
            pages.check(page, f"{login}: open a case refused", html)

            page.goto(server + "/")
            html = _submitted(page, "button:has-text('Get a new link')")
            pages.check(page, f"{login}: new calendar link", html)
            page.click("summary:has-text('API token')")
            html = _submitted(page, "button:has-text('API token')")
            pages.check(page, f"{login}: API token", html)
            context.close()
    assert desk.project.run("show", "C-2026-0099").exit_code != 0
    assert len(pages.saved) >= 24
    findings = pages.findings()
    assert not findings, "\n".join(["the checkers found:", *findings])


def test_every_generated_html_document_passes_axe_core_and_the_nu_html_checker(
    desk: Desk, browser: Any, tmp_path: Path
) -> None:
    """`sopgen build` on the example library (a page per SOP and the index), a case
    checklist and `sopgen report`'s HTML, opened from disk."""
    _case_with_history(desk)
    root = desk.root
    runner = CliRunner()
    for args in (["build", "--html"], ["report"]):
        result = runner.invoke(cli, ["--root", str(root), *args])
        assert result.exit_code == 0, result.output
    documents = sorted((root / "output" / "html").glob("*.html"))
    assert len(documents) >= 9  # the index and a page per SOP
    documents += [
        root / "output" / "cases" / CASE / "checklist.html",
        root / "output" / "report.html",
    ]
    pages = Pages(tmp_path / "unused")
    names = {path: str(path.relative_to(root)) for path in documents}
    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    for path in documents:
        page.goto(path.as_uri())
        pages.check(page, names[path], None)
    context.close()
    findings = [*pages.violations, *webcheck.vnu_errors(documents, names)]
    assert not findings, "\n".join(["the checkers found:", *findings])


def test_a_case_opened_without_choosing_an_sop_is_refused(desk: Desk) -> None:
    """The form's SOP list starts with an empty "Choose…" entry, which the desk refuses
    with a message, keeping what was typed (it used to open the case under the first
    SOP of the list)."""
    client = desk.signed_in("alice")
    form = client.get("/cases/new")
    first = re.search(
        r'<select name="sop" required>\s*<option value="([^"]*)"[^>]*>([^<]*)<', form.text
    )
    assert first is not None and first.group(1) == "", form.text
    answer = client.post(
        "/cases/new",
        data={"csrf": csrf_of(form.text), "case": "C-2026-0099", "sop": "",
              "summary": "Parcel late", "priority": "normal"},
    )  # fmt: skip
    assert answer.status_code == 422
    assert "no SOP chosen: a case is opened under one SOP" in answer.text
    assert "Hint: choose it in the SOP list" in answer.text
    assert 'value="C-2026-0099"' in answer.text and "Parcel late</textarea>" in answer.text
    assert desk.project.run("show", "C-2026-0099").exit_code == 1


@pytest.fixture(name="signing_desk")
def signing_desk_fixture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The example library in git under `signatures: electronic`: SOP-CS-001 1.2, then 1.3
    (as tests/test_desk_documents.py makes it), and Mia, a manager."""
    from argon2 import PasswordHasher

    from deskkit import Clock
    from sopgen.cases.service.secretkey import SecretKey
    from sopgen.cases.service.users import UserService
    from sopgen.cases.store.tables import Store
    from sopgen.desk.app import create_app
    from test_desk_documents import REPO, commit, git, release_1_3

    if shutil.which("git") is None:
        pytest.skip("needs git")
    monkeypatch.delenv("SOPGEN_DATABASE_URL", raising=False)
    root = tmp_path / "repo"
    shutil.copytree(REPO / "sops", root / "sops")
    (root / "sopgen.yaml").write_text(
        (REPO / "sopgen.yaml").read_text() + "signatures: electronic\n"
    )
    (root / ".gitignore").write_text(".sopgen/\noutput/\n")
    git(root, "init", "-q")
    commit(root, "version 1.2")
    release_1_3(root / "sops" / "sop-cs-001.yaml")
    commit(root, "version 1.3")
    store = Store.for_project(root, None)
    users = UserService(store, SecretKey(root))
    users._hasher = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
    clock = Clock(__import__("zoneinfo").ZoneInfo("Europe/Berlin"))
    users.add("mia", "Mia Brandt", "manager", PASSWORD, clock.now)
    store.close()
    app = create_app(root, clock=clock)
    yield app
    app.state.desk.store.close()


def test_the_documents_pages_pass_axe_core_and_the_nu_html_checker(
    signing_desk: Any, browser: Any, tmp_path: Path
) -> None:
    """Documents with a redline and the signing form, a refused signature, and a signed
    one (issue #18, item 22)."""
    pages = Pages(tmp_path / "documents")
    with serving(signing_desk) as server:
        context = browser.new_context(bypass_csp=True)
        page = context.new_page()
        page.set_default_timeout(20_000)
        _sign_in(page, server, "mia")
        pages.visit(page, server + "/documents", "documents")
        pages.visit(page, server + "/documents/SOP-CS-002", "document without changes")
        pages.visit(page, server + "/documents/SOP-CS-001", "document with a redline")
        assert page.locator(".redline ins").count() > 0
        page.fill("input[name=password]", "not my password")
        pages.check(page, "signature refused", _submitted(page, "button:has-text('Sign version')"))
        page.fill("input[name=password]", PASSWORD)
        pages.check(page, "signed", _submitted(page, "button:has-text('Sign version')"))
        assert "Signed: record" in page.locator("main").inner_text()
        context.close()
    findings = pages.findings()
    assert not findings, "\n".join(["the checkers found:", *findings])


@pytest.mark.parametrize("checker", ["AXE", "VNU"])
def test_a_missing_checker_fails_in_ci_and_is_skipped_elsewhere(
    checker: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without axe-core or vnu.jar, the checks skip on a developer's machine and fail
    with what to install when CI=true: a missing checker never passes silently."""
    monkeypatch.setattr(webcheck, checker, tmp_path / "not-installed")
    try:
        webcheck._axe.cache_clear()
        webcheck._java.cache_clear()
        monkeypatch.setenv("CI", "true")
        with pytest.raises(RuntimeError, match=r"missing: .*npm ci --prefix tests/js"):
            webcheck.require()
        webcheck._axe.cache_clear()
        webcheck._java.cache_clear()
        monkeypatch.setenv("CI", "")
        with pytest.raises(pytest.skip.Exception, match="npm ci --prefix tests/js"):
            webcheck.require()
    finally:
        monkeypatch.undo()
        webcheck._axe.cache_clear()
        webcheck._java.cache_clear()
