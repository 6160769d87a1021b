"""The `sopgen` command line: parse arguments, run the pipeline, print.

Exit codes: EXIT_CODES (0 success, 1 invalid input, 2 usage error, 3 internal
error); docs/cli.md lists them with every command's help (`python -m sopgen.clidoc`).
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from typing import ClassVar

import click
from click.shell_completion import CompletionItem

from sopgen.clock import ClockError
from sopgen.console import (
    App,
    counted,
    fail,
    find_root,
    guard_terminals,
    pass_app,
    report,
    summary,
)
from sopgen.files import DiskFullError, disk_full
from sopgen.problems import InputError, has_errors, not_text

EXIT_CODES = {
    0: "success",
    1: "invalid input: each problem reported as `path:line:column: error: message` with a "
    "hint; nothing is written for the invalid part (`sopgen check`: an SOP change not "
    "released or an SOP `validate` rejects; `sopgen remind --once`: a reminder not sent, "
    "left to retry); also a full disk, reported as `the disk is full: could not write "
    "PATH` (nothing is left half-written)",
    2: "usage error: a malformed option or argument, a bad `SOPGEN_NOW` or "
    "`SOURCE_DATE_EPOCH` (`sopgen check`: REV is not in the clone, or the root is not "
    "in a git repository)",
    3: "internal error: a bug in sopgen, please report it (`SOPGEN_DEBUG=1` shows the traceback)",
    130: "interrupted (Ctrl-C)",
}
"""Every exit status of `sopgen`, and what it means (docs/cli.md)."""


class LazyGroup(click.Group):
    """A group whose heavy subcommands are imported only when they run.

    `sopgen validate` then never pays for SQLAlchemy or WeasyPrint imports
    (click's documented pattern for lazily loaded subcommands). `sopgen --help`
    and shell completion of a command name import none of them either: they
    show each command's one-line summary from `lazy`, which the tests keep
    equal to the command's own docstring.
    """

    lazy: ClassVar[dict[str, tuple[str, str]]] = {
        "build": (
            "sopgen.build.cli:build",
            "Build output/html/ (a page per SOP plus index.html) and output/pdf/.",
        ),
        "check": (
            "sopgen.cli_check:check",
            "Refuse SOP changes since REV that are not released as a new version.",
        ),
        "diff": (
            "sopgen.cli_diff:diff",
            "Write a redline of each changed SOP to output/diff/ (HTML and PDF).",
        ),
        "case": (
            "sopgen.cases.cli.case:case",
            "Run complaint cases: checklists and calendar deadlines from an SOP.",
        ),
        "db": ("sopgen.cases.cli.db:db", "The case database: schema upgrades and portable copies."),
        "report": (
            "sopgen.cases.cli.report:report",
            "On-time share and business time to complete of the steps done in a period.",
        ),
        "remind": (
            "sopgen.cases.cli.remind:remind",
            "E-mail assignees before and when steps are due, and managers a daily digest.",
        ),
        "user": (
            "sopgen.desk.cli:user",
            "Desk users: add, list, disable, enable, set passwords; issue feed and API tokens.",
        ),
        "sign": (
            "sopgen.desk.signcli:sign",
            "Sign an SOP's current content electronically (prompts for login and password).",
        ),
        "signatures": (
            "sopgen.desk.signcli:signatures_group",
            "Electronic signature records: export them from the desk into the repository.",
        ),
        "serve": (
            "sopgen.desk.cli:serve",
            "Run the case desk (pages, calendar feeds and the JSON API) until interrupted.",
        ),
    }

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Every argument must be text: one with bytes that are not UTF-8 (Python keeps
        them as lone surrogates) is refused here, before it reaches a file or the store."""
        for arg in args:
            shown = not_text(arg)
            if shown is not None:
                fail(
                    f"the argument '{shown}' is not UTF-8 text",
                    "write arguments in UTF-8 (e.g. convert with: iconv -f latin1 -t utf-8), "
                    "or use a UTF-8 locale",
                )
        return super().parse_args(ctx, args)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.lazy])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy:
            module, _, attribute = self.lazy[cmd_name][0].partition(":")
            command: click.Command = getattr(importlib.import_module(module), attribute)
            return command
        return super().get_command(ctx, cmd_name)

    def summaries(self, ctx: click.Context, limit: int = 45) -> list[tuple[str, str]]:
        """(name, one-line help) of every visible command, importing no lazy one."""
        rows = []
        for name in self.list_commands(ctx):
            if name in self.lazy:  # a stand-in that shortens the summary as click does
                command: click.Command | None = click.Command(name, help=self.lazy[name][1])
            else:
                command = super().get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit)))
        return rows

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        limit = formatter.width - 6 - max(len(name) for name in self.list_commands(ctx))
        with formatter.section("Commands"):
            formatter.write_dl(self.summaries(ctx, limit))

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[CompletionItem]:
        commands = [
            CompletionItem(name, help=summary)
            for name, summary in self.summaries(ctx)
            if name.startswith(incomplete)
        ]
        return [*commands, *click.Command.shell_complete(self, ctx, incomplete)]


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Repository root holding sopgen.yaml and sops/ "
    "[default: the nearest folder upwards that holds sopgen.yaml].",
)
@click.version_option(package_name="sopgen", prog_name="sopgen", message="%(prog)s %(version)s")
@click.pass_context
def cli(ctx: click.Context, root: Path | None) -> None:
    """Compile SOPs written as YAML into controlled documents, and run complaint cases.

    Run anywhere inside the repository: sopgen walks up to the nearest
    sopgen.yaml, as git finds .git (or pass --root DIR). Problems go to stderr
    as path:line:column: error: message, with a hint.

    Exit codes: 0 success, 1 invalid input (nothing is written for the invalid
    part), 2 usage error, 3 internal error (a bug in sopgen: please report it).
    """
    ctx.obj = App(root if root is not None else find_root(Path.cwd()))


@cli.command()
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text: problems on stderr; json: a JSON list on stdout for CI and editors.",
)
@pass_app
def validate(app: App, files: tuple[Path, ...], fmt: str) -> None:
    """Check sopgen.yaml and every SOP (or only FILES); report all problems at once.

    FILES may name sopgen.yaml itself: then the config alone is checked.
    """
    from sopgen.library import CONFIG_FILE, load_library, resolved

    config_file = resolved(app.root / CONFIG_FILE)
    sop_files = [f for f in files if resolved(f) != config_file]
    if files and not sop_files:  # only the config was named
        library = load_library(app.root, [])
    else:
        library = app.library(sop_files or None)
    problems = library.problems
    report(problems, json_output=fmt == "json")
    if fmt == "text":
        checked = len(library.entries)
        if problems:
            click.echo(f"{summary(problems)}; {counted(checked, 'SOP file')} checked", err=True)
        elif files and not sop_files:
            click.echo(f"ok: {CONFIG_FILE} is valid", err=True)
        else:
            # two subjects, so "are" even for one SOP file
            click.echo(f"ok: {CONFIG_FILE} and {counted(checked, 'SOP file')} are valid", err=True)
    raise SystemExit(1 if has_errors(problems) else 0)


def main() -> None:
    """Entry point: no traceback for bad input, a short note for internal errors."""
    guard_terminals()
    try:
        cli.main(prog_name="sopgen")
    except InputError as exc:
        report(exc.problems)
        sys.exit(1)
    except ClockError as exc:
        fail(exc.message, exc.hint, code=2)
    except BrokenPipeError:  # `sopgen case list | head`
        sys.stderr.close()
        sys.exit(0)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:
        if isinstance(exc, DiskFullError):
            fail(exc.message, exc.hint)
        if isinstance(exc, OSError) and disk_full(exc):  # another writer (a temporary file…)
            where = f": could not write {exc.filename}" if exc.filename else ""
            fail(
                f"the disk is full{where}",
                "free some space on that disk, then run the command again",
            )
        if os.environ.get("SOPGEN_DEBUG"):
            raise
        click.echo(
            f"sopgen: internal error: {type(exc).__name__}: {exc}\n"
            "    hint: this is a bug in sopgen; rerun with SOPGEN_DEBUG=1 for details "
            "and report it",
            err=True,
        )
        sys.exit(3)
