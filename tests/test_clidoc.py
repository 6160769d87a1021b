"""docs/cli.md is the command line's own help, and `sopgen --version` the release.

The page is generated (`python -m sopgen.clidoc`); these tests fail while it
differs from what the generator writes from today's commands, so a changed
option or help text cannot leave the page behind.
"""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import sopgen
from sopgen import clidoc
from sopgen.cli import EXIT_CODES, cli

REPO = Path(__file__).parents[1]
PAGE = REPO / "docs" / "cli.md"


def test_docs_cli_md_is_what_the_generator_writes_now() -> None:
    assert PAGE.read_text(encoding="utf-8") == clidoc.render(), (
        f"docs/cli.md differs from the command line's help; regenerate it: {clidoc.REGENERATE}"
    )


def test_the_page_is_the_same_whether_or_not_a_command_ran_before() -> None:
    # click keeps one help option per command, made by the first context that asks:
    # the page must show sopgen's `-h, --help` whichever came first (in the full
    # suite other tests run commands before this file).
    fresh = subprocess.run(
        [sys.executable, "-c", "from sopgen import clidoc; print(clidoc.render(), end='')"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for args in (["check", "--help"], ["case", "open", "--help"], ["validate", "-h"]):
        assert CliRunner().invoke(cli, args).exit_code == 0
    assert clidoc.render() == fresh == PAGE.read_text(encoding="utf-8")
    assert "-h, --help" in fresh


def test_the_page_holds_every_command_and_exit_code() -> None:
    text = PAGE.read_text(encoding="utf-8")
    found = clidoc.commands(cli)
    assert len(found) > 30  # sopgen, its commands and its groups' commands
    for ctx, command in found:
        assert f"\n## {ctx.command_path}\n" in text
        assert f"Usage: {ctx.command_path} " in text
        if command.help:
            assert command.help.split("\n")[0][:40] in text
    for code in EXIT_CODES:
        assert f"\n| {code} | " in text
    assert EXIT_CODES.keys() >= {0, 1, 2, 3}


def test_the_page_does_not_depend_on_the_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    for columns in ("40", "200"):
        monkeypatch.setenv("COLUMNS", columns)
        monkeypatch.setattr(click.formatting, "FORCED_WIDTH", int(columns))
        assert clidoc.render() == PAGE.read_text(encoding="utf-8")
    assert "\x1b[" not in clidoc.render()


def test_the_check_mode_passes_now_and_names_the_fix_for_a_stale_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ok = subprocess.run(
        [sys.executable, "-m", "sopgen.clidoc", "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    stale = tmp_path / "cli.md"
    stale.write_text(PAGE.read_text(encoding="utf-8").replace("--since REV", "--since REF"))
    monkeypatch.setattr(clidoc, "PAGE", stale)  # absolute: the page to check
    assert clidoc.main(["--check"]) == 1
    assert clidoc.REGENERATE in capsys.readouterr().err


def test_sopgen_version_prints_the_release() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    changelog = (REPO / "CHANGELOG.md").read_text(encoding="utf-8")
    released = re.findall(r"^## \[(\d+\.\d+\.\d+)\] - \d{4}-\d{2}-\d{2}$", changelog, re.M)
    assert released and released[0] == project == sopgen.__version__
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.output == f"sopgen {project}\n", (
        "the installed metadata is older than pyproject.toml: reinstall "
        "(.venv/bin/pip install --no-deps -e .)"
    )


def test_every_summary_in_help_is_a_whole_sentence() -> None:
    """The one-line summaries `--help` lists stop at a sentence's end, not at "e.g."."""
    for ctx, command in clidoc.commands(cli):
        if not command.help:
            continue
        first = " ".join(inspect.cleandoc(command.help).split("\n\n")[0].split())
        summary = command.get_short_help_str(limit=len(first) + 1)
        rest = first.removeprefix(summary)
        assert first.startswith(summary), ctx.command_path
        assert rest == "" or (rest[0] == " " and rest[1:2].isupper()), (
            f"{ctx.command_path}: --help shows {summary!r}, cut from {first!r}"
        )


def test_each_block_is_what_help_prints_in_an_80_column_terminal() -> None:
    """Not only the generator's view: `sopgen … --help` itself prints each block."""
    text = PAGE.read_text(encoding="utf-8")
    for ctx, _command in clidoc.commands(cli):
        words = ctx.command_path.split()[1:]
        result = CliRunner().invoke(
            cli, [*words, "--help"], prog_name="sopgen", terminal_width=clidoc.WIDTH, color=False
        )
        assert result.exit_code == 0, result.output
        block = f"## {ctx.command_path}\n\n```text\n{result.output.rstrip()}\n```\n"
        assert block in text, f"{ctx.command_path} --help differs; run {clidoc.REGENERATE}"
