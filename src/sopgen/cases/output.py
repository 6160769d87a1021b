"""A case's files under `output/cases/CASE-ID/`, rewritten atomically on every change.

    checklist.html   the checklist page (the SOP documents' look)
    checklist.md     the same in Markdown
    deadlines.ics    one event per step (see `sopgen.cases.calendar`)
    checklist.pdf    when asked for (`--pdf`): the page printed by WeasyPrint

Each file is written through `sopgen.files.write_atomic`, so a reader (a
calendar subscription, a browser) sees the old file or the new one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from functools import cached_property
from pathlib import Path

from sopgen import clock
from sopgen.cases import calendar, checklist
from sopgen.cases.model import Case
from sopgen.files import write_atomic, write_if_changed
from sopgen.model import Config
from sopgen.render.logo import load_logo

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
    def logo(self) -> str | None:
        """The logo as the documents show it (`sopgen build` reports a refused one)."""
        return load_logo(self.root, self.config)[0].data_uri

    def render(self, case: Case) -> list[tuple[Path, bytes | str]]:
        """The HTML checklist, the Markdown checklist and the calendar of `case`."""
        folder = case_folder(self.root, case.id)
        view = checklist.checklist_view(case, self.config, "html", self.logo)
        return [
            (folder / HTML, checklist.render_html(self.root, view)),
            (folder / MARKDOWN, checklist.render_markdown(self.root, view)),
            (folder / ICS, calendar.render_ics(case, self.config, self.stamp)),
        ]

    def write(self, case: Case) -> None:
        """HTML, Markdown and calendar (fast: inside the case's transaction)."""
        for path, data in self.render(case):
            write_atomic(path, data)

    def refresh(self, case: Case) -> list[str]:
        """Rewrite the files of `case` whose content changed; their names (sorted)."""
        return sorted(path.name for path, data in self.render(case) if write_if_changed(path, data))

    def write_many(
        self, cases: Sequence[Case], progress: Callable[[int], None] | None = None
    ) -> None:
        """The files of many cases (import): rendering overlaps with writing.

        Rendering needs the interpreter; writing mostly waits for the file
        system (create, fsync, rename), so a few threads write while this one
        renders the next case. Returns when every file is written; the first
        failure is raised.
        """
        with ThreadPoolExecutor(max_workers=WRITERS, thread_name_prefix="sopgen-write") as pool:
            pending: list[Future[None]] = []
            for case in cases:
                pending += [
                    pool.submit(write_atomic, path, data) for path, data in self.render(case)
                ]
                if progress is not None:
                    progress(1)
            for future in pending:
                future.result()

    def write_pdf(self, case: Case) -> Path:
        """The printed checklist (slow: WeasyPrint; done after the transaction)."""
        view = checklist.checklist_view(case, self.config, "pdf", self.logo)
        path = case_folder(self.root, case.id) / PDF
        write_atomic(path, checklist.render_pdf(self.root, view))
        return path
