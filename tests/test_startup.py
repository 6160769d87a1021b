"""What each command imports: a short command does not load what it does not use.

Start-up time is what a user waits for on every `sopgen validate` in a
pre-commit hook, every `case list`, every Tab of shell completion. These tests
pin the import graph, not a time (timings: bench/bench_startup.py).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest

from sopgen.cli import LazyGroup, cli

REPO = Path(__file__).resolve().parent.parent

# Runs the sopgen command line, then names on stderr the packages of HEAVY it imported.
PROBE = """
import sys
from sopgen.cli import main
try:
    main()
finally:
    loaded = sorted(h for h in HEAVY if h in sys.modules)
    print("IMPORTED " + " ".join(loaded), file=sys.__stderr__)
"""
HEAVY = [
    "sqlalchemy",  # the case store
    "sqlalchemy.orm",  # its models (sopgen.cases.store.tables); plain reads need neither
    "weasyprint",  # PDFs
    "jinja2",  # HTML documents and checklists
    "markdown_it",
    "icalendar",  # deadlines.ics
    "holidays",  # asked once, then answered from the user cache
    "matplotlib",  # no longer used: the report's charts cost 1.9 s with it (CHANGELOG.md, 0.2.0)
    "numpy",
    "starlette",  # the desk
    "argon2",  # passwords
    "rich",  # terminal tables
    "yaml",  # SOP files
]


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example library with one open case (and the holiday cache warmed by opening it)."""
    root = tmp_path_factory.mktemp("startup")
    shutil.copy(REPO / "sopgen.yaml", root)
    shutil.copytree(REPO / "sops", root / "sops")
    sopgen(root, "case", "open", "C-1", "--sop", "SOP-CS-001")
    return root


def sopgen(root: Path, *args: str, **env: str) -> tuple[str, set[str]]:
    """Run `sopgen ARGS` in `root`: (stdout, the HEAVY packages it imported)."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE.replace("HEAVY", repr(HEAVY)), *args],
        cwd=root,
        capture_output=True,
        text=True,
        env={**os.environ, "SOPGEN_NOW": "2026-11-24T12:00", **env},
        check=False,
    )
    marker = result.stderr.rindex("IMPORTED")
    assert result.returncode == 0, result.stderr
    return result.stdout, set(result.stderr[marker:].split()[1:])


def test_validate_loads_no_store_no_renderer(library: Path) -> None:
    _, imported = sopgen(library, "validate")
    assert "yaml" in imported  # the probe sees what the command loads
    assert not imported & {"sqlalchemy", "weasyprint", "jinja2", "holidays", "rich", "starlette"}


def test_build_loads_no_store(library: Path) -> None:
    _, imported = sopgen(library, "build", "--html")
    assert "jinja2" in imported
    assert not imported & {"sqlalchemy", "starlette", "argon2", "matplotlib"}


def test_the_html_report_draws_its_charts_without_a_plotting_library(
    library: Path, tmp_path: Path
) -> None:
    sopgen(library, "case", "done", "C-1", "receive")
    out = tmp_path / "report.html"
    _, imported = sopgen(library, "report", "--output", str(out))
    assert 'class="barchart' in out.read_text()  # a chart was drawn
    assert "jinja2" in imported
    assert not imported & {"matplotlib", "numpy", "weasyprint", "starlette", "argon2"}


def test_the_report_reads_plain_rows_without_the_orm(library: Path) -> None:
    """`sopgen report` reads plain rows: the default SQLite file with `sqlite3` alone
    (importing SQLAlchemy, its ORM and the models was a third of a second of every
    report), any other store through sopgen.cases.store.database, without the ORM."""
    sopgen(library, "case", "done", "C-1", "record")
    out, imported = sopgen(library, "report", "--format", "json")
    assert '"completed": ' in out and '"completed": 0' not in out  # it read a step done
    assert not imported & {"sqlalchemy", "jinja2", "rich", "icalendar", "starlette"}
    url = f"sqlite:///{library / '.sopgen' / 'cases.db'}"
    again, imported = sopgen(library, "report", "--format", "json", SOPGEN_DATABASE_URL=url)
    assert again == out
    assert "sqlalchemy" in imported and "sqlalchemy.orm" not in imported


@pytest.mark.parametrize("command", [["case", "list"], ["case", "show", "C-1"]])
def test_case_list_and_show_load_no_writer_and_no_holiday_tables(
    library: Path, command: list[str]
) -> None:
    """They read the store and print; checklists, calendars and PDFs are not written."""
    out, imported = sopgen(library, *command)
    assert "C-1" in out
    assert "sqlalchemy" in imported
    assert not imported & {
        "weasyprint",
        "jinja2",
        "markdown_it",
        "icalendar",
        "holidays",
        "matplotlib",
        "starlette",
        "argon2",
    }


def test_help_and_completion_load_no_subcommand(library: Path) -> None:
    out, imported = sopgen(library, "--help")
    assert re.search(r"^  case +Run complaint cases", out, re.MULTILINE)
    assert imported == set()
    out, imported = sopgen(
        library, _SOPGEN_COMPLETE="bash_complete", COMP_WORDS="sopgen c", COMP_CWORD="1"
    )
    assert out.split() == ["plain,case", "plain,check"]
    assert imported == set()


@pytest.mark.parametrize("name", sorted(LazyGroup.lazy))
def test_help_shows_each_command_as_its_own_docstring_does(name: str) -> None:
    """The summaries `--help` shows without importing are the commands' own first lines."""
    ctx = click.Context(cli)
    command = cli.get_command(ctx, name)
    assert command is not None
    for limit in (45, 74, 200):
        assert dict(cli.summaries(ctx, limit))[name] == command.get_short_help_str(limit)
