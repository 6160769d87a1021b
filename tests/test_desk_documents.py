"""The desk's Documents area: see the redline of a new version, re-enter the password, sign.

A temporary git repository with the example library under `signatures: electronic`:
SOP-CS-001 version 1.2 committed, then 1.3 (a step reworded, a per-priority target
added). Mia (a manager) signs 1.3 as approver on the desk in Chromium; the record is in
the store, `sopgen signatures export` writes it and `sopgen check` passes offline.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from click.testing import CliRunner

from deskkit import PASSWORD, Clock, csrf_of, serving
from sopgen.cases.service.secretkey import SecretKey
from sopgen.cases.service.users import UserService
from sopgen.cases.store.tables import Store
from sopgen.cli import cli
from sopgen.desk.app import create_app

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def commit(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=QA", "-c", "user.email=qa@example.org", "commit", "-qm", message)


def release_1_3(path: Path) -> None:
    text = path.read_text()
    text = text.replace(
        "do: Enter the details of the complaint in the CRM system.",
        "do: Enter every detail of the complaint in the CRM system.",
    )
    text = text.replace('version: "1.2"\n', 'version: "1.3"\n', 1)
    text += (
        '  - version: "1.3"\n    date: 2026-11-20\n'
        "    description: Every detail recorded.\n    author: Miriam Hoffmann\n"
    )
    path.write_text(text)


class App:
    def __init__(self, root: Path, app: object):
        self.root = root
        self.app = app


@pytest.fixture
def desk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[App]:
    monkeypatch.delenv("SOPGEN_DATABASE_URL", raising=False)
    root = tmp_path / "repo"
    root.mkdir()
    shutil.copytree(REPO / "sops", root / "sops")
    (root / "sopgen.yaml").write_text(
        (REPO / "sopgen.yaml").read_text() + "signatures: electronic\n"
    )
    (root / ".gitignore").write_text(".sopgen/\noutput/\n")
    for path in (root / "sops").glob("*.yaml"):
        if path.name != "sop-cs-001.yaml":
            path.write_text(path.read_text().replace("status: effective", "status: in-review"))
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
    yield App(root, app)
    app.state.desk.store.close()  # type: ignore[attr-defined]


def client(desk: App):  # type: ignore[no-untyped-def]
    from starlette.testclient import TestClient

    c = TestClient(desk.app, follow_redirects=False)  # type: ignore[arg-type]
    page = c.get("/signin")
    r = c.post("/signin", data={"login": "mia", "password": PASSWORD, "csrf": csrf_of(page.text)})
    assert r.status_code == 303
    return c


def test_the_documents_page_lists_what_each_sop_awaits(desk: App) -> None:
    c = client(desk)
    page = c.get("/documents")
    assert page.status_code == 200
    row = page.text[page.text.index("SOP-CS-001</a>") :].split("</tr>")[0]
    assert "<td>1.3</td>" in row and "<td>approval</td>" in row  # awaits approval
    # an SOP id stays on one line on a phone, as on the Cases page
    assert '<td class="nowrap"><a href="/documents/SOP-CS-001">SOP-CS-001</a></td>' in page.text


def test_the_document_page_shows_the_redline_and_refuses_a_wrong_password(desk: App) -> None:
    c = client(desk)
    page = c.get("/documents/SOP-CS-001")
    assert "Enter <del>the details</del> <ins>every detail</ins> of the complaint" in page.text
    assert "Against version 1.2" in page.text
    digest = page.text.split('name="content_sha256" value="')[1].split('"')[0]
    wrong = c.post(
        "/documents/SOP-CS-001/sign",
        data={"csrf": csrf_of(page.text), "meaning": "approval", "content_sha256": digest,
              "password": "not my password"},
    )  # fmt: skip
    assert wrong.status_code == 403
    assert "That is not your password: nothing was signed" in wrong.text
    with sqlite3.connect(desk.root / ".sopgen" / "cases.db") as db:
        assert db.execute("SELECT login, why FROM signature_refusals").fetchall() == [
            ("mia", "wrong login or password")
        ]
        assert db.execute("SELECT count(*) FROM signature_records").fetchone() == (0,)


def test_a_change_after_the_page_was_opened_is_not_signed(desk: App) -> None:
    c = client(desk)
    page = c.get("/documents/SOP-CS-001")
    digest = page.text.split('name="content_sha256" value="')[1].split('"')[0]
    sop = desk.root / "sops" / "sop-cs-001.yaml"
    sop.write_text(sop.read_text().replace("every detail", "each detail"))
    changed = c.post(
        "/documents/SOP-CS-001/sign",
        data={"csrf": csrf_of(page.text), "meaning": "approval", "content_sha256": digest,
              "password": PASSWORD},
    )  # fmt: skip
    assert changed.status_code == 409
    assert "The SOP changed since you opened this page: nothing was signed" in changed.text
    assert "<del>the details</del> <ins>each detail</ins>" in changed.text


@pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="needs Debian's chromium")
def test_sign_on_the_desk_in_a_browser_then_export_and_check(desk: App, tmp_path: Path) -> None:
    playwright = pytest.importorskip("playwright.sync_api")
    with serving(desk.app) as server, playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(20_000)
            page.goto(server + "/signin")
            page.fill("input[name=login]", "mia")
            page.fill("input[name=password]", PASSWORD)
            page.click("button:has-text('Sign in')")
            page.wait_for_url(server + "/")
            page.click("nav >> text=Documents")
            page.click("text=SOP-CS-001")
            page.wait_for_url(server + "/documents/SOP-CS-001")
            redline = page.locator(".redline")
            assert redline.locator("del", has_text="the details").count() == 1
            assert redline.locator("ins", has_text="every detail").count() == 1
            page.screenshot(
                path=str(
                    Path(__import__("os").environ.get("SOPGEN_SHOTS") or tmp_path) / "document.png"
                ),
                full_page=True,
            )
            page.select_option("select[name=meaning]", "approval")
            page.fill("input[name=password]", PASSWORD)
            page.click("button:has-text('Sign version 1.3 as Mia Brandt')")
            page.wait_for_url(server + "/documents/SOP-CS-001?signed=1#signatures")
            shown = page.locator(".esignatures").inner_text()
            assert (
                "Electronically signed by Mia Brandt (Manager) · Approval · 23 Nov 2026 10:00 CET"
                in shown
            )
        finally:
            browser.close()
    exported = CliRunner().invoke(cli, ["--root", str(desk.root), "signatures", "export"])
    assert exported.exit_code == 0, exported.output
    record = json.loads((desk.root / "signatures" / "SOP-CS-001.jsonl").read_text())
    assert (record["login"], record["meaning"], record["version"]) == ("mia", "approval", "1.3")
    commit(desk.root, "signed 1.3")
    checked = CliRunner().invoke(cli, ["--root", str(desk.root), "check", "--since", "HEAD~1"])
    assert checked.exit_code == 0, checked.output
