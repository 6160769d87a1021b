"""One clock: SOPGEN_NOW pins "now" for every command; SOURCE_DATE_EPOCH never changes validity."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from sopgen import clock
from sopgen.cli import cli, main

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    shutil.copy(REPO / "sopgen.yaml", tmp_path)
    shutil.copytree(REPO / "sops", tmp_path / "sops")
    return tmp_path


def overdue_reviews(root: Path, command: str, env: dict[str, str | None]) -> set[str]:
    """The SOP files whose periodic review `sopgen validate` or `build` reports as overdue."""
    args = ["validate", "--format", "json"] if command == "validate" else ["build", "--html"]
    result = CliRunner().invoke(cli, ["--root", str(root), *args], env=env)
    assert result.exit_code in (0, 1), result.output
    if command == "validate":
        problems = json.loads(result.stdout)
        return {p["file"] for p in problems if p["code"] == "review-overdue"}
    lines = result.stderr.splitlines()
    return {line.split(":")[0] for line in lines if "periodic review was due" in line}


def test_validate_and_build_agree_on_overdue_reviews(repo: Path) -> None:
    env: dict[str, str | None] = {"SOPGEN_NOW": "2031-06-01", "SOURCE_DATE_EPOCH": None}
    validated = overdue_reviews(repo, "validate", env)
    built = overdue_reviews(repo, "build", env)
    assert validated == built
    assert len(validated) >= 5  # five years on, nearly every review is overdue


def test_source_date_epoch_changes_nothing_that_is_valid(repo: Path) -> None:
    in_2031 = "1938160800"  # 2031-06-01
    env: dict[str, str | None] = {"SOPGEN_NOW": "2026-11-24", "SOURCE_DATE_EPOCH": in_2031}
    assert overdue_reviews(repo, "validate", env) == set()
    assert overdue_reviews(repo, "build", env) == set()
    index = (repo / "output" / "html" / "index.html").read_text()
    assert "2026-11-24" in index and "2031" not in index


def test_sopgen_now_forms(monkeypatch: pytest.MonkeyPatch) -> None:
    berlin = ZoneInfo("Europe/Berlin")
    monkeypatch.setenv("SOPGEN_NOW", "2026-11-23T10:00")
    assert clock.now(berlin) == datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    monkeypatch.setenv("SOPGEN_NOW", "2026-11-23T23:30:00+00:00")
    assert clock.today(berlin).isoformat() == "2026-11-24"  # the company's day
    monkeypatch.setenv("SOPGEN_NOW", "2031-06-01")
    assert clock.today(berlin).isoformat() == "2031-06-01"
    monkeypatch.delenv("SOPGEN_NOW")
    assert abs((clock.now() - datetime.now(UTC)).total_seconds()) < 60


@pytest.mark.parametrize("command", [["validate"], ["build", "--html"], ["case", "list"]])
def test_a_bad_sopgen_now_is_a_usage_error_for_every_command(
    repo: Path,
    command: list[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("SOPGEN_NOW", "next tuesday")
    monkeypatch.setattr("sys.argv", ["sopgen", "--root", str(repo), *command])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "sopgen: error: SOPGEN_NOW='next tuesday' is not an ISO 8601 time" in err
    assert "Traceback" not in err
