"""Electronic signatures: made by desk users with `sopgen sign`, exported, verified offline.

A temporary git repository with the example library under `signatures: electronic`:
SOP-CS-001 is signed as author and approver, the records exported and committed; the
other SOPs are in review. Then `validate`, `check` and `build` verify the records in a
fresh clone without the desk database, and every way of tampering fails with
file:line:column.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from sopgen.cli import cli

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")

REPO = Path(__file__).resolve().parent.parent
RECORDS = Path("signatures") / "SOP-CS-001.jsonl"
PASSWORDS = {"dana": "dana-secret-pass", "miriam": "miriam-secret-pass"}


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout


def commit(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=QA", "-c", "user.email=qa@example.org", "commit", "-qm", message)


def run(root: Path, *args: str, input: str | None = None, now: str | None = None) -> Result:
    env = {"SOPGEN_NOW": now} if now else {}
    return CliRunner().invoke(cli, ["--root", str(root), *args], input=input, env=env)


def sign(root: Path, login: str, meaning: str, password: str | None = None, **kw: str) -> Result:
    return run(
        root,
        "sign",
        "SOP-CS-001",
        "--meaning",
        meaning,
        input=f"{login}\n{password or PASSWORDS[login]}\n",
        **kw,
    )


def library(root: Path, config_extra: str) -> None:
    shutil.copytree(REPO / "sops", root / "sops")
    (root / "sopgen.yaml").write_text((REPO / "sopgen.yaml").read_text() + config_extra)
    for path in (root / "sops").glob("*.yaml"):
        if path.name != "sop-cs-001.yaml":  # only SOP-CS-001 is signed here
            path.write_text(path.read_text().replace("status: effective", "status: in-review"))
    git(root, "init", "-q")
    commit(root, "the library")


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """SOP-CS-001 signed as author (Miriam, a rep) and approver (Dana, a manager)."""
    root = tmp_path_factory.mktemp("signed")
    library(root, "signatures: electronic\nrequired_signatures: [author, approval]\n")
    for login, name, role in (
        ("dana", "Dana Reyes", "manager"),
        ("miriam", "Miriam Hoffmann", "rep"),
    ):
        added = run(root, "user", "add", login, "--name", name, "--role", role,
                    input=PASSWORDS[login] + "\n")  # fmt: skip
        assert added.exit_code == 0, added.output
    first = sign(root, "miriam", "author", now="2026-11-19T10:30:00+01:00")
    assert first.exit_code == 0, first.output
    assert "commit its public key signatures/keys/" in first.stderr
    second = sign(root, "dana", "approval", now="2026-11-20T14:03:00+01:00")
    assert second.exit_code == 0, second.output
    assert (
        "SOP-CS-001: record 2: Electronically signed by Dana Reyes (Manager) · Approval · "
        "20 Nov 2026 14:03 CET" in second.stdout
    )
    exported = run(root, "signatures", "export")
    assert exported.exit_code == 0, exported.output
    assert "signatures/SOP-CS-001.jsonl: 2 new records" in exported.stdout
    commit(root, "signatures of SOP-CS-001")
    return root


@pytest.fixture
def clone(signed: Path, tmp_path: Path) -> Path:
    """A fresh clone: no desk database, no private key (as in CI)."""
    target = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(signed), str(target)], check=True)
    assert not (target / ".sopgen").exists()
    return target


def records(root: Path) -> list[str]:
    return (root / RECORDS).read_text().splitlines()


def write_records(root: Path, lines: list[str]) -> None:
    (root / RECORDS).write_text("".join(line + "\n" for line in lines))


def test_the_records_bind_signer_meaning_time_and_content(signed: Path) -> None:
    from sopgen.signatures import content_sha256
    from sopgen.source import load_text

    lines = records(signed)
    author, approval = (json.loads(line) for line in lines)
    data = load_text((signed / "sops" / "sop-cs-001.yaml").read_bytes(), "x").data
    assert approval["content_sha256"] == content_sha256(data)
    assert (approval["login"], approval["name"], approval["role"]) == (
        "dana",
        "Dana Reyes",
        "Manager",
    )
    assert (approval["meaning"], approval["signed_at"]) == ("approval", "2026-11-20T13:03:00Z")
    assert author["meaning"] == "author" and author["prev"] == "0" * 64
    assert approval["prev"] != author["prev"] and approval["seq"] == 2
    key = signed / "signatures" / "keys" / f"{approval['key']}.pem"
    assert key.read_text().startswith("-----BEGIN PUBLIC KEY-----")
    private = signed / ".sopgen" / "signing.key"
    assert private.stat().st_mode & 0o077 == 0  # the private key: its owner only
    assert "PRIVATE" not in git(signed, "show", "HEAD", "--stat") + key.read_text()


def test_check_validate_and_build_pass_in_a_fresh_clone(clone: Path) -> None:
    checked = run(clone, "check", "--since", "HEAD~1")
    assert checked.exit_code == 0, checked.output
    valid = run(clone, "validate")
    assert valid.exit_code == 0, valid.output
    built = run(clone, "build", "--html", "SOP-CS-001")
    assert built.exit_code == 0, built.output
    page = (clone / "output" / "html" / "SOP-CS-001.html").read_text()
    assert (
        "Electronically signed by Dana Reyes (Manager) · Approval · 20 Nov 2026 14:03 CET" in page
    )
    assert (
        "Electronically signed by Miriam Hoffmann (Representative) · Author · 19 Nov 2026 10:30 CET"
        in page
    )
    digest = json.loads(records(clone)[1])["content_sha256"]
    assert f'Content SHA-256 <code class="hash">{digest}</code>' in page
    assert "does not cover" not in page


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler")
def test_the_pdf_shows_the_manifestation(clone: Path) -> None:
    built = run(clone, "build", "--pdf", "SOP-CS-001")
    assert built.exit_code == 0, built.output
    text = subprocess.run(
        ["pdftotext", "-layout", str(clone / "output" / "pdf" / "SOP-CS-001.pdf"), "-"],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    flat = " ".join(text.split())
    assert (
        "Electronically signed by Dana Reyes (Manager) · Approval · 20 Nov 2026 14:03 CET" in flat
    )
    assert "Content SHA-256" in flat


def problems(result: Result) -> str:
    return result.stderr


def test_a_hand_edited_record_fails_with_file_line_column(clone: Path) -> None:
    lines = records(clone)
    lines[1] = lines[1].replace("Dana Reyes", "Dana Reyes-Smith")
    write_records(clone, lines)
    column = lines[1].index('"sig"') + 1
    for command in (["validate"], ["check", "--since", "HEAD"]):
        result = run(clone, *command)
        assert result.exit_code == 1, result.output
        assert (
            f"signatures/SOP-CS-001.jsonl:2:{column}: error: record 2 does not match its "
            "signature: it was typed or edited by hand" in problems(result)
        )
    built = run(clone, "build", "--html", "SOP-CS-001")
    assert built.exit_code == 1 and "nothing built" in built.stderr


def test_a_hand_typed_record_fails(clone: Path) -> None:
    typed = json.loads(records(clone)[1])
    typed.update(seq=3, name="Eve", login="eve", prev="0" * 64, sig="AAAA")
    write_records(clone, [*records(clone), json.dumps(typed)])
    result = run(clone, "validate")
    assert result.exit_code == 1
    assert "signatures/SOP-CS-001.jsonl:3:" in result.stderr
    assert "record 3 does not match its signature" in result.stderr
    assert "record 3 does not follow record 2 in the hash chain" in result.stderr


def test_a_deleted_record_breaks_the_chain(clone: Path) -> None:
    write_records(clone, records(clone)[1:])
    result = run(clone, "validate")
    assert result.exit_code == 1
    assert "signatures/SOP-CS-001.jsonl:1:2: error: record 2 follows record 0" in result.stderr
    assert "has no valid author signature on its current content" in result.stderr
    checked = run(clone, "check", "--since", "HEAD")
    assert checked.exit_code == 1
    assert (
        "signatures/SOP-CS-001.jsonl:1:1: error: signature record 1 was changed since the "
        "revision compared with: records are only ever appended" in checked.stderr
    )


def test_a_removed_file_fails_the_gate_and_the_history_check(clone: Path) -> None:
    (clone / RECORDS).unlink()
    checked = run(clone, "check", "--since", "HEAD")
    assert checked.exit_code == 1
    assert "signature record 1 was removed since the revision compared with" in checked.stderr
    assert (
        "sops/sop-cs-001.yaml:5:9: error: SOP-CS-001 is effective under signatures: electronic "
        "but has no valid author and no approval signature on its current content" in checked.stderr
    )


def test_a_record_copied_to_another_sop_fails(clone: Path) -> None:
    target = clone / "signatures" / "SOP-CS-002.jsonl"
    shutil.copy(clone / RECORDS, target)
    result = run(clone, "validate")
    assert result.exit_code == 1
    column = records(clone)[0].index('"sop"') + 1
    assert (
        f"signatures/SOP-CS-002.jsonl:1:{column}: error: record 1 is a signature of "
        "SOP-CS-001, not of SOP-CS-002" in result.stderr
    )


def test_an_edit_after_signing_fails_the_gate_and_the_document_says_so(clone: Path) -> None:
    sop = clone / "sops" / "sop-cs-001.yaml"
    sop.write_text(sop.read_text().replace("Enter the details", "Enter all details"))
    result = run(clone, "check", "--since", "HEAD")
    assert result.exit_code == 1
    assert "sops/sop-cs-001.yaml:5:9: error: SOP-CS-001 is effective under signatures: " in (
        result.stderr
    )
    assert "signed earlier content: the SOP was edited after signing" in result.stderr
    assert "hint: sign it: sopgen sign SOP-CS-001 --meaning author" in result.stderr
    # in review, the document is built and says the signatures do not cover it
    sop.write_text(sop.read_text().replace("status: effective", "status: in-review"))
    built = run(clone, "build", "--html", "SOP-CS-001")
    assert built.exit_code == 0, built.output
    page = (clone / "output" / "html" / "SOP-CS-001.html").read_text()
    assert page.count("<strong>does not cover this content</strong>") == 2


def test_only_what_check_counts_as_content_is_signed(clone: Path) -> None:
    sop = clone / "sops" / "sop-cs-001.yaml"
    sop.write_text(
        "# reformatted\n" + sop.read_text().replace("owner: qa-team", "owner:   qa-team")
    )
    assert run(clone, "validate").exit_code == 0


def test_a_wrong_password_is_refused_and_recorded(signed: Path) -> None:
    before = records(signed)
    result = sign(signed, "dana", "review", password="not-the-password")
    assert result.exit_code == 1
    assert "sopgen: error: signature refused: wrong login or password" in result.stderr
    assert "not-the-password" not in result.output
    with sqlite3.connect(signed / ".sopgen" / "cases.db") as db:
        refusals = db.execute("SELECT login, sop, meaning, why FROM signature_refusals").fetchall()
        made = db.execute("SELECT count(*) FROM signature_records").fetchone()[0]
    assert ("dana", "SOP-CS-001", "review", "wrong login or password") in refusals
    assert made == 2
    assert run(signed, "signatures", "export").exit_code == 0
    assert records(signed) == before


def test_the_password_is_never_an_argument() -> None:
    from sopgen.desk.signcli import sign as command

    assert [p.name for p in command.params] == ["sop_id", "meaning", "reason"]
    assert "prompts for login and password" in (command.help or "")


def test_signing_needs_electronic_signatures_and_a_known_meaning(tmp_path: Path) -> None:
    library(tmp_path, "")
    typed = sign(tmp_path, "dana", "approval")
    assert typed.exit_code == 1
    assert "sopgen.yaml has signatures: typed" in typed.stderr
    (tmp_path / "sopgen.yaml").write_text(
        (tmp_path / "sopgen.yaml").read_text() + "signatures: electronic\n"
    )
    odd = sign(tmp_path, "dana", "blessing")
    assert odd.exit_code == 1
    assert "'blessing' is not a signature meaning" in odd.stderr
    # the default required meaning is approval; typed approvals no longer count
    checked = run(tmp_path, "check", "--since", "HEAD")
    assert checked.exit_code == 1
    assert "has no valid approval signature on its current content" in checked.stderr


def test_export_refuses_a_file_with_records_the_store_lacks(signed: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    shutil.copytree(signed, other, ignore=shutil.ignore_patterns(".sopgen"))
    added = run(other, "user", "add", "dana", "--name", "Dana Reyes", "--role", "manager",
                input=PASSWORDS["dana"] + "\n")  # fmt: skip
    assert added.exit_code == 0
    result = run(other, "signatures", "export")
    assert result.exit_code == 0  # a store with no records writes nothing
    assert sign(other, "dana", "review").exit_code == 0
    refused = run(other, "signatures", "export")
    assert refused.exit_code == 1
    assert "holds records this desk's store does not have" in refused.stderr


def test_required_signatures_must_be_meanings(tmp_path: Path) -> None:
    library(
        tmp_path,
        "signatures: electronic\nsignature_meanings: [author, approval]\n"
        "required_signatures: [approval, review]\n",
    )
    result = run(tmp_path, "validate")
    assert result.exit_code == 1
    lines = (tmp_path / "sopgen.yaml").read_text().splitlines()
    line = next(i for i, text in enumerate(lines, 1) if text.startswith("required_signatures"))
    assert (
        f"sopgen.yaml:{line}:22: error: required_signatures names review, which "
        "signature_meanings lacks" in result.stderr
    )
