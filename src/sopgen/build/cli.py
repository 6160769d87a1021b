"""The `sopgen build` command: HTML pages, PDFs and the index of the SOP library."""

from __future__ import annotations

import contextlib
from pathlib import Path

import click

from sopgen.build import stamp as build_stamp
from sopgen.console import App, ProgressDisplay, counted, fail, pass_app, report
from sopgen.files import DiskFullError
from sopgen.problems import Problem
from sopgen.render.pdf import PDF_VARIANTS


class _Progress:
    """The build's progress (documents.Progress) on the CLI's one progress display."""

    def __init__(self, root: Path, display: ProgressDisplay):
        self.root = root
        self.display = display

    def start(self, total: int) -> None:
        self.display.start(total)

    def done(self, path: Path, written: bool) -> None:
        from sopgen.library import display_path

        self.display.advance(1, display_path(path, self.root), line=written)


@click.command()
@click.argument("sop_ids", nargs=-1, metavar="[SOP-ID]...")
@click.option("--html", "want_html", is_flag=True, help="Build the HTML pages and index.")
@click.option("--pdf", "want_pdf", is_flag=True, help="Build the PDFs.")
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=1),
    default=None,
    help="PDF worker processes [default: one per core].",
)
@click.option("--force", is_flag=True, help="Rebuild even what has not changed.")
@click.option(
    "--pdf-variant",
    type=click.Choice(PDF_VARIANTS, case_sensitive=False),
    default=None,
    help="Write archival PDFs, e.g. pdf/a-3b.",
)
@pass_app
def build(
    app: App,
    sop_ids: tuple[str, ...],
    want_html: bool,
    want_pdf: bool,
    jobs: int | None,
    force: bool,
    pdf_variant: str | None,
) -> None:
    """Build output/html/ (a page per SOP plus index.html) and output/pdf/.

    Without --html or --pdf, builds both. Only what changed since the last
    build is rebuilt. When an SOP the build needs is invalid, nothing is
    written (exit 1): output/ stays as the last good build left it.
    """
    both = not (want_html or want_pdf)
    only = tuple(dict.fromkeys(sop_ids))
    html, pdf = want_html or both, want_pdf or both
    variant = pdf_variant.lower() if pdf_variant else None
    key = {"html": html, "pdf": pdf, "pdf_variant": variant, "only": sorted(only)}
    stamp = None if force else build_stamp.unchanged(app.root, key)
    if stamp is not None:  # nothing changed since the last build: replay it, parse nothing
        _finish(list(stamp.problems), 0, len(stamp.outputs), stamp.exit_code, stamp.index_kept)
        return
    base_before = build_stamp.fingerprint(app.root, key)

    from sopgen.build.documents import BuildOptions, build_documents
    from sopgen.library import display_path, unknown_sop

    library = app.library()
    today = library.today
    known = library.sops
    unknown = [i for i in sop_ids if i not in known]
    if unknown:
        fail(*unknown_sop(library, unknown))
    options = BuildOptions(
        html=html, pdf=pdf, jobs=jobs, force=force, pdf_variant=variant, only=only
    )
    with ProgressDisplay("building", lines="built") as display:
        result = build_documents(library, options, _Progress(app.root, display))
    if result.refused:  # nothing written, so no stamp either: output/ is as it was
        report(result.problems)
        fail(
            f"nothing built: {counted(len(result.refused), 'invalid file')} the build needs: "
            + ", ".join(result.refused),
            "fix the errors above ('sopgen validate' lists them); output/ was left as it was",
        )
    exit_code = 1 if result.failed else 0
    for path in result.removed:
        click.echo(f"removed {display_path(path, app.root)} (SOP withdrawn or retired)", err=True)
    outputs = [display_path(p, app.root) for p in [*result.written, *result.up_to_date]]
    logo = library.config.logo if library.config else None
    # the stamp only saves the next build its parsing; without it, that build takes the full path
    with contextlib.suppress(DiskFullError):
        build_stamp.write(
            app.root,
            key,
            today,
            library.config.timezone if library.config else None,
            base_before,
            [logo] if logo else [],
            outputs,
            result.problems,
            exit_code,
            result.index_kept,
        )
    _finish(
        result.problems,
        len(result.written),
        len(result.up_to_date),
        exit_code,
        index_kept=result.index_kept,
    )


def _finish(
    problems: list[Problem], written: int, up_to_date: int, exit_code: int, index_kept: bool
) -> None:
    report(problems)
    click.echo(f"{counted(written, 'file')} written, {up_to_date} up to date", err=True)
    if index_kept:
        click.echo(
            "sopgen: note: output/html/index.html was left as it was: it lists every SOP, "
            "and an SOP is invalid",
            err=True,
        )
    if exit_code:
        raise SystemExit(exit_code)
