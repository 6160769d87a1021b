"""Cases run under the version in force at their received time (issue 20, item 3).

A temporary git repository with three released versions of SOP-CS-001: 1.2
(effective 1 Nov 2026), 1.3 (16 Nov, "Enter every detail") and 1.4 (23 Nov, "Enter
all details", the working tree). A complaint received in each period opens under that
period's version from the command line, the API and the desk, and says so; one
received before any version is refused without asking for another received time.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from argon2 import PasswordHasher
from click.testing import CliRunner
from starlette.testclient import TestClient

from casekit import NOW
from deskkit import PASSWORD, Clock, csrf_of
from sopgen.cases.service.secretkey import SecretKey
from sopgen.cases.service.users import UserService
from sopgen.cases.store.tables import Store
from sopgen.cli import cli
from sopgen.desk.app import create_app

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")

REPO = Path(__file__).resolve().parent.parent
FILE = "sops/sop-cs-001.yaml"
WORDING = {"1.2": "Enter the details", "1.3": "Enter every detail", "1.4": "Enter all details"}


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def commit(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=QA", "-c", "user.email=qa@example.org", "commit", "-qm", message)


def version(text: str, number: str, effective: str) -> str:
    text = text.replace('version: "1.2"', f'version: "{number}"', 1)
    text = text.replace("effective: 2026-11-01", f"effective: {effective}", 1)
    text = text.replace("approvals:\n", "approvals:\n  - {name: Jonas Albrecht, role: manager, "
                        f"date: {effective}, meaning: approval}}\n", 1)  # fmt: skip
    text = text.replace("Enter the details", WORDING[number], 1)
    return text + (
        f'  - version: "{number}"\n    date: {effective}\n'
        "    description: Reworded.\n    author: Miriam Hoffmann\n"
    )


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SOPGEN_NOW", NOW)
    monkeypatch.delenv("SOPGEN_DATABASE_URL", raising=False)
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    root = tmp_path / "repo"
    root.mkdir()
    shutil.copy(REPO / "sopgen.yaml", root / "sopgen.yaml")
    shutil.copytree(REPO / "sops", root / "sops")
    (root / ".gitignore").write_text(".sopgen/\noutput/\n")
    git(root, "init", "-q")
    commit(root, "1.2")
    original = (REPO / FILE).read_text()
    (root / FILE).write_text(version(original, "1.3", "2026-11-16"))
    commit(root, "1.3")
    (root / FILE).write_text(version(original, "1.4", "2026-11-23"))
    commit(root, "1.4")
    return root


def run(root: Path, *args: str) -> object:
    return CliRunner().invoke(cli, ["--root", str(root), *args])


def shown(root: Path, case: str) -> dict[str, object]:
    result = CliRunner().invoke(
        cli, ["--root", str(root), "case", "show", case, "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    found: dict[str, object] = json.loads(result.stdout)
    return found


def test_cli_opens_each_case_under_the_version_in_force_then(repo: Path) -> None:
    for case, received, expected in (
        ("C-1", "2026-11-05T10:00", "1.2"),
        ("C-2", "2026-11-20T10:00", "1.3"),
        ("C-3", "2026-11-23T09:30", "1.4"),
    ):
        result = CliRunner().invoke(
            cli, ["--root", str(repo), "case", "open", case, "--sop", "SOP-CS-001",
                  "--received", received],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        found = shown(repo, case)
        assert found["sop_version"] == expected
        record = next(s for s in found["steps"] if s["step"] == "intake.record")  # type: ignore[attr-defined]
        assert record["text"].startswith(WORDING[expected])
        checklist = (repo / "output" / "cases" / case / "checklist.md").read_text()
        assert WORDING[expected] in checklist
    assert shown(repo, "C-2")["governed"] == (
        "governed by version 1.3; 1.4 in force since 23 Nov 2026"
    )
    assert shown(repo, "C-3")["governed"] is None
    text = CliRunner().invoke(cli, ["--root", str(repo), "case", "show", "C-1"]).stdout
    assert "governed by version 1.2; 1.4 in force since 23 Nov 2026" in " ".join(text.split())


def test_import_puts_each_row_under_its_version(repo: Path) -> None:
    csv = repo / "cases.csv"
    csv.write_text("I-1,2026-11-05T10:00,\nI-2,2026-11-20T10:00,\nI-3,2026-11-23T09:30,\n")
    result = CliRunner().invoke(cli, ["--root", str(repo), "case", "import", str(csv),
                                      "--sop", "SOP-CS-001"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert [shown(repo, c)["sop_version"] for c in ("I-1", "I-2", "I-3")] == ["1.2", "1.3", "1.4"]


def test_before_any_released_version_the_refusal_says_so(repo: Path) -> None:
    result = CliRunner().invoke(
        cli, ["--root", str(repo), "case", "open", "C-0", "--sop", "SOP-CS-001",
              "--received", "2026-10-20T10:00"],
    )  # fmt: skip
    assert result.exit_code == 1
    message = " ".join(result.stderr.split())
    assert (
        "neither the git history of sops/sop-cs-001.yaml nor the case store holds a released "
        "version of SOP-CS-001 in force on 2026-10-20" in message
    )
    assert "give the time the complaint arrived" not in message


def test_without_git_the_store_snapshots_serve(repo: Path) -> None:
    opened = CliRunner().invoke(cli, ["--root", str(repo), "case", "open", "C-1", "--sop",
                                      "SOP-CS-001", "--received", "2026-11-20T10:00"])  # fmt: skip
    assert opened.exit_code == 0, opened.output
    shutil.rmtree(repo / ".git")  # the 1.3 text is now only in the case store
    again = CliRunner().invoke(cli, ["--root", str(repo), "case", "open", "C-2", "--sop",
                                     "SOP-CS-001", "--received", "2026-11-19T10:00"])  # fmt: skip
    assert again.exit_code == 0, again.output
    assert shown(repo, "C-2")["sop_version"] == "1.3"


@pytest.fixture
def desk(repo: Path) -> Iterator[object]:
    store = Store.for_project(repo, None)
    users = UserService(store, SecretKey(repo))
    users._hasher = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
    clock = Clock(ZoneInfo("Europe/Berlin"))
    users.add("mia", "Mia Brandt", "manager", PASSWORD, clock.now)
    token = users.issue_tokens("mia").api_token
    store.close()
    app = create_app(repo, clock=clock)
    app.state.token = token
    yield app
    app.state.desk.store.close()


def test_the_api_and_the_desk_open_under_the_version_in_force(repo: Path, desk: object) -> None:
    api = TestClient(desk, follow_redirects=False)  # type: ignore[arg-type]
    api.headers["Authorization"] = f"Bearer {desk.state.token}"  # type: ignore[attr-defined]
    made = api.post("/api/cases", json={"case": "A-1", "sop": "SOP-CS-001",
                                        "received": "2026-11-20T18:05"})  # fmt: skip
    assert made.status_code == 201, made.text
    assert made.json()["sop_version"] == "1.3"
    page = TestClient(desk, follow_redirects=False)  # type: ignore[arg-type]
    form = page.get("/signin")
    page.post("/signin", data={"login": "mia", "password": PASSWORD, "csrf": csrf_of(form.text)})
    new = page.get("/cases/new")
    form = {"csrf": csrf_of(new.text), "sop": "SOP-CS-001"}
    opened = page.post("/cases/new", data={**form, "case": "D-1", "received": "2026-11-05T10:00"})
    assert opened.status_code == 303, opened.text
    case = page.get("/cases/D-1").text
    assert "version 1.2" in case
    assert "This case is governed by version 1.2; 1.4 in force since 23 Nov 2026." in case
    assert "Enter the details" in case
    refused = page.post("/cases/new", data={**form, "case": "D-0", "received": "2026-10-20T10:00"})
    assert refused.status_code == 422
    assert "no released version of this SOP covered that day" in refused.text
    assert "on or after the effective date" not in refused.text
