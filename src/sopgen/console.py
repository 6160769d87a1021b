"""What the CLI commands share: the project root, the loaded library, reporting problems.

Only the CLI modules (`cli.py`, `cli_build.py`, `cases/cli/`) print; they
all report problems the same way, through `report`.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import click

from sopgen.problems import Problem, Severity, sort_key, to_json

if TYPE_CHECKING:
    from sopgen.library import Library


@dataclass
class App:
    """Per-invocation state handed to every command through click's context."""

    root: Path
    _library: Library | None = field(default=None, repr=False)

    def library(self, files: list[Path] | None = None, today: date | None = None) -> Library:
        from sopgen.library import load_library  # not imported by a build with nothing to do

        if files:
            return load_library(self.root, files, today)
        if self._library is None:
            self._library = load_library(self.root, None, today)
        return self._library


pass_app = click.make_pass_decorator(App)

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
"""Control characters but newline and tab: C0, DEL and C1 (ESC, BEL, CR, CSI …)."""


def printable(text: str) -> str:
    """`text` with every control character but newline and tab shown as `\\xNN`.

    User text (a CSV cell, a summary, a file name) reaches the terminal through
    messages; an escape sequence in it would set the window's title, clear the
    screen or move the cursor (`ESC]0;…BEL ESC[2J`). Shown escaped, it does
    nothing and says where it was.
    """
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


_OURS = re.compile(r"(\x1b\[[0-9;]*m|\x1b\[\?25[lh]|\x1b\[[0-9]*[AKG]|\r)")
"""What sopgen itself writes to a terminal: colours (SGR), and the progress bar's
cursor hiding, line erasing and moves up and to a column."""


class TerminalGuard:
    """A terminal's text stream that lets through only sopgen's own control sequences.

    `main` puts one over stdout and stderr when they are terminals: whatever
    text a command prints (user text in a table, a message built elsewhere),
    a control character in it is shown as `\\xNN` (`printable`), except the
    colours and progress-bar moves sopgen writes itself. Pipes and files get the
    text unchanged (CSV and JSON are data).
    """

    def __init__(self, stream: Any):
        self._stream = stream

    def write(self, text: str) -> int:
        parts = _OURS.split(text)  # odd items are our own sequences
        self._stream.write(
            "".join(part if i % 2 else printable(part) for i, part in enumerate(parts))
        )
        return len(text)

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return True

    def __getattr__(self, name: str) -> Any:  # flush, fileno, encoding, errors, buffer…
        return getattr(self._stream, name)


def guard_terminals() -> None:
    """Put a `TerminalGuard` over stdout and stderr where they are terminals."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is not None and not isinstance(stream, TerminalGuard) and stream.isatty():
            setattr(sys, name, TerminalGuard(stream))


CONFIG_FILE = "sopgen.yaml"


def find_root(start: Path) -> Path:
    """The nearest folder from `start` upwards that holds sopgen.yaml (as git finds .git).

    So `sopgen validate` works from inside `sops/`; with none found, `start`
    (and the command then says there is no sopgen.yaml).
    """
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / CONFIG_FILE).is_file():
            return folder
    return start


def report(problems: list[Problem], *, json_output: bool = False) -> None:
    """Problems to stderr as `path:line:column: severity: message` (or JSON to stdout)."""
    ordered = sorted(problems, key=sort_key)
    if json_output:
        click.echo(to_json(ordered))
        return
    color = sys.stderr.isatty()
    for problem in ordered:
        style = "red" if problem.severity is Severity.ERROR else "yellow"
        head = f"{printable(problem.file)}:{problem.line}:{problem.column}: "
        line = (
            head + click.style(str(problem.severity), fg=style, bold=True)
            if color
            else (head + str(problem.severity))
        )
        click.echo(f"{line}: {printable(problem.message)}", err=True)
        if problem.hint:
            click.echo(f"    hint: {printable(problem.hint)}", err=True)


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """`n` and `noun` in the right number, as every count the CLI prints: "1 step", "2 steps"."""
    return f"{n} {noun if n == 1 else (plural or noun + 's')}"


def summary(problems: list[Problem]) -> str:
    errors = sum(p.is_error for p in problems)
    warnings = len(problems) - errors
    files = len({p.file for p in problems})
    parts = []
    if errors:
        parts.append(counted(errors, "error"))
    if warnings:
        parts.append(counted(warnings, "warning"))
    return f"{' and '.join(parts)} in {counted(files, 'file')}"


def fail(message: str, hint: str | None = None, code: int = 1) -> None:
    """Stop a command with a one-line error (no traceback) and exit `code`."""
    click.echo(f"sopgen: error: {printable(message)}", err=True)
    if hint:
        click.echo(f"    hint: {printable(hint)}", err=True)
    raise SystemExit(code)


class ProgressDisplay:
    """The one progress display of the CLI, for long work (a build, an import).

    On a terminal: a transient rich progress bar on stderr (`what`, a bar,
    done/total, the current item). Elsewhere (CI logs, pipes): nothing, or
    with `lines="built"` one line per item on stdout (`built ITEM`). Work of fewer than
    `min_total` items shows no bar.
    """

    def __init__(
        self,
        what: str,
        total: int | None = None,
        *,
        lines: str | None = None,
        min_total: int = 0,
    ):
        self.what = what
        self.total = total
        self.lines = lines
        self.min_total = min_total
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> ProgressDisplay:
        if sys.stderr.isatty() and (self.total is None or self.total >= self.min_total):
            from rich.console import Console  # rich loads only when a bar is shown
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            self._bar = Progress(
                TextColumn(self.what),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.description}"),
                console=Console(stderr=True),
                transient=True,
            )
            self._task = self._bar.add_task("", total=self.total)
            self._bar.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._bar is not None:
            self._bar.stop()

    def start(self, total: int) -> None:
        """The amount of work, once it is known."""
        self.total = total
        if self._bar is not None:
            self._bar.update(self._task, total=total)

    def advance(self, n: int = 1, item: str | None = None, *, line: bool = True) -> None:
        """`n` more items done; `item` names the last one (a line of its own without a bar)."""
        if self._bar is not None:
            self._bar.update(self._task, advance=n, description=item or "")
        elif self.lines and item and line:
            click.echo(f"{self.lines} {item}")
