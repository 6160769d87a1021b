"""A case's files under `output/cases/CASE-ID/`, rewritten atomically on every change.

    checklist.html   the checklist page (the SOP documents' look)
    checklist.md     the same in Markdown
    deadlines.ics    one event per step (see `sopgen.cases.views.calendar`)
    checklist.pdf    when asked for (`--pdf`): the page printed by WeasyPrint

Each file is written through `sopgen.files.write_atomic`, so a reader (a
calendar subscription, a browser) sees the old file or the new one.

Files follow the store: a new case's files are written to a hidden staging
folder (`output/cases/.staging-PID-…/`) while its transaction runs and moved
into place only after the commit, so an import that fails, is rolled back or
is interrupted leaves no folder of a case the store does not hold.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from sopgen import clock
from sopgen.cases.model import Case
from sopgen.files import write_atomic, write_if_changed
from sopgen.model import Config

if TYPE_CHECKING:
    from sopgen.cases.views.calendar import StepTexts

# The writers (Jinja2, Markdown, icalendar, the logo) are imported when a file is
# written: `case list` and `case show` hold a CaseFiles but write nothing.

CASES_DIR = Path("output") / "cases"
WRITERS = 4
"""Threads writing files during an import (file system latency, not CPU, limits them)."""
HTML, MARKDOWN, ICS, PDF = "checklist.html", "checklist.md", "deadlines.ics", "checklist.pdf"


def case_folder(root: Path, case_id: str) -> Path:
    """`<root>/output/cases/<case id>` (the id was checked to be a safe folder name)."""
    return root / CASES_DIR / case_id


class CaseFiles:
    """Writes the checklists and the calendar of cases of one project."""

    def __init__(self, root: Path, config: Config):
        self.root = root
        self.config = config
        self.stamp = clock.source_date()

    @cached_property
    def texts(self) -> StepTexts:
        """The texts each SOP's steps show in calendars, made once for all cases."""
        from sopgen.cases.views.calendar import StepTexts

        return StepTexts(self.config)

    @cached_property
    def logo(self) -> str | None:
        """The logo as the documents show it (`sopgen build` reports a refused one)."""
        from sopgen.render.logo import load_logo

        return load_logo(self.root, self.config)[0].data_uri

    def render(self, case: Case, folder: Path | None = None) -> list[tuple[Path, bytes | str]]:
        """The HTML checklist, the Markdown checklist and the calendar of `case`
        (in its folder, or in `folder`)."""
        from sopgen.cases.views import calendar, checklist

        folder = folder or case_folder(self.root, case.id)
        view = checklist.checklist_view(case, self.config, "html", self.logo)
        return [
            (folder / HTML, checklist.render_html(self.root, view)),
            (folder / MARKDOWN, checklist.render_markdown(self.root, view)),
            (
                folder / ICS,
                calendar.render_ics(case, self.config, self.stamp)
                if self.stamp is not None
                else calendar.render_new_ics(case, self.config, self.texts),
            ),
        ]

    def write(self, case: Case) -> None:
        """HTML, Markdown and calendar (fast: inside the case's transaction)."""
        for path, data in self.render(case):
            write_atomic(path, data)

    def refresh(self, case: Case) -> list[str]:
        """Rewrite the files of `case` whose content changed; their names (sorted)."""
        return sorted(path.name for path, data in self.render(case) if write_if_changed(path, data))

    @contextmanager
    def staging(self) -> Iterator[StagedFiles]:
        """A hidden folder under output/cases/ to write new cases' files into.

        `StagedFiles.publish` moves them into place (call it after the cases
        are committed); whatever is still staged when the block ends (an
        error, Ctrl-C, a rolled-back import) is removed, so no folder of a
        case that is not in the store is left behind. Staging folders of
        sopgen processes that died (power loss, SIGKILL) are swept away first.
        """
        base = self.root / CASES_DIR
        _sweep(base)
        folder = base / f"{STAGING_PREFIX}{os.getpid()}-{secrets.token_hex(4)}"
        staged = StagedFiles(self, folder, base)
        try:
            yield staged
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def write_pdf(self, case: Case) -> Path:
        """The printed checklist (slow: WeasyPrint; done after the transaction)."""
        from sopgen.cases.views import checklist

        view = checklist.checklist_view(case, self.config, "pdf", self.logo)
        path = case_folder(self.root, case.id) / PDF
        write_atomic(path, checklist.render_pdf(self.root, view))
        return path


class StagedFiles:
    """The files of new cases, written aside until their transaction commits."""

    def __init__(self, files: CaseFiles, folder: Path, target: Path):
        self.files = files
        self.folder = folder
        self.target = target
        self._names: list[str] = []

    def write_many(self, cases: Sequence[Case]) -> None:
        """The files of `cases`: rendering overlaps with writing.

        Rendering needs the interpreter; writing mostly waits for the file
        system (create, fsync, rename), so a few threads write while this one
        renders the next case. Returns when every file is written; the first
        failure is raised. Callers pass a batch at a time: the rendered files
        of one batch are what this holds in memory.
        """
        with ThreadPoolExecutor(max_workers=WRITERS, thread_name_prefix="sopgen-write") as pool:
            pending: list[Future[None]] = []
            for case in cases:
                pending += [
                    pool.submit(write_atomic, path, data)
                    for path, data in self.files.render(case, self.folder / case.id)
                ]
                self._names.append(case.id)
            for future in pending:
                future.result()

    def publish(self) -> None:
        """Move every staged case folder into output/cases/ (after the commit).

        A folder already there under the same name belongs to no case in the
        store (the import checked that the ids are free), so it is replaced.
        """
        for name in self._names:
            staged, final = self.folder / name, self.target / name
            try:
                os.replace(staged, final)
            except OSError:  # a leftover folder of the same name: replace it
                shutil.rmtree(final, ignore_errors=True)
                os.replace(staged, final)
        self._names.clear()


STAGING_PREFIX = ".staging-"


def _sweep(base: Path) -> None:
    """Remove staging folders left by sopgen processes that no longer run."""
    try:
        leftovers = [p for p in base.iterdir() if p.name.startswith(STAGING_PREFIX)]
    except OSError:
        return
    for path in leftovers:
        pid = path.name.removeprefix(STAGING_PREFIX).split("-", 1)[0]
        if pid.isdigit() and not _running(int(pid)):
            shutil.rmtree(path, ignore_errors=True)


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # not ours to signal, but it runs
        return True
    return True
