"""The documents of a build: what to rebuild, the PDF worker pool, atomic writes.

    Library ─valid SOPs─> content hash per output ─changed?─> render ─> write_atomic
                                                                 └─ PDFs: process pool

Every output has a content hash over everything that shapes it:
`digest.shaping_digest` (sopgen's code and version, templates, schemas, the
config, the options), the logo, the SOP file's digest, and what the document
shows of each SOP it references (id, title, status: a comment-only change to
a referenced SOP rebuilds nothing else). The hashes live in
`output/.manifest.json`; an output
whose hash is unchanged and whose file exists is skipped, so a build with
nothing changed renders nothing and never imports WeasyPrint.

A build writes only documents whose inputs are all valid, so `output/` is
always one consistent library: a document depends on its SOP, the config and
the SOPs it references, and the index on every SOP. When an input a build
needs is invalid, the build is refused and nothing is written (the previous
output stays as it was, links and index included). `build SOP-X` needs only
SOP-X and what it references to be valid; the index, which lists every SOP,
is then left as it was while another SOP is invalid.

Nothing here prints: progress goes to the caller's `Progress`, problems come
back in the `BuildReport`.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Protocol

from sopgen.assets import templates_dir
from sopgen.build.digest import shaping_digest
from sopgen.build.withdraw import remove_withdrawn
from sopgen.files import DiskFullError, write_atomic, write_if_changed
from sopgen.library import CONFIG_FILE, Library, display_path
from sopgen.model import Config, Sop
from sopgen.problems import Problem, error, has_errors, warning
from sopgen.render import html as html_render
from sopgen.render import view as views
from sopgen.render.logo import Logo, load_logo

OUTPUT_DIR = "output"
MANIFEST = ".manifest.json"
MANIFEST_FORMAT = 1


@dataclass(frozen=True)
class BuildOptions:
    html: bool = True
    pdf: bool = True
    jobs: int | None = None  # PDF worker processes; None = one per core
    force: bool = False
    pdf_variant: str | None = None  # e.g. "pdf/a-3b" for archiving
    only: tuple[str, ...] = ()  # SOP ids; empty = all


@dataclass
class BuildReport:
    written: list[Path] = field(default_factory=list)
    up_to_date: list[Path] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # invalid files that stopped the build
    index_kept: bool = False  # the index was left as it was (another SOP is invalid)
    removed: list[Path] = field(default_factory=list)  # documents withdrawn
    problems: list[Problem] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return bool(self.refused) or any(p.is_error for p in self.problems)


class Progress(Protocol):
    def start(self, total: int) -> None: ...

    def done(self, path: Path, written: bool) -> None: ...


class _Silent:
    def start(self, total: int) -> None:
        pass

    def done(self, path: Path, written: bool) -> None:
        pass


# --------------------------------------------------------------------------- hashing


def _sha(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def output_hash(
    kind: str,
    sop: Sop,
    shared: str,
    library: dict[str, Sop],
    valid: set[str],
) -> str:
    """The content hash of one output of `sop` ("html" or "pdf").

    Of a referenced SOP only what the document shows counts: its id, title
    and status, and whether it is valid (then the reference is a link).
    """
    refs = sorted(
        (ref.sop, _shown(library[ref.sop]) if ref.sop in valid else None)
        for ref in sop.references
        if ref.sop
    )
    return _sha(kind, shared, sop.digest, refs, [repr(s) for s in sop.signed])


def _shown(sop: Sop) -> tuple[str, str, str]:
    return (sop.id, sop.title, sop.status)


def read_manifest(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
        return {}
    outputs = data.get("outputs")
    if not isinstance(outputs, dict):
        return {}
    return {str(k): str(v) for k, v in outputs.items()}


def manifest_text(outputs: dict[str, str]) -> str:
    return json.dumps({"format": MANIFEST_FORMAT, "outputs": outputs}, indent=1, sort_keys=True)


# --------------------------------------------------------------------------- build


@dataclass(frozen=True)
class _Job:
    sop: Sop
    key: str  # manifest key, e.g. "pdf/SOP-CS-001.pdf"
    path: Path
    digest: str


def _pdf_task(
    html: str, allowed: Sequence[str], variant: str | None
) -> tuple[bytes, tuple[str, ...]]:
    """Runs in a worker process: HTML text in, PDF bytes out (small payloads both ways)."""
    from sopgen.render.pdf import render_pdf

    result = render_pdf(html, [Path(p) for p in allowed], variant)
    return result.data, result.refused


def _render_problem(sop: Sop, what: str, exc: BaseException) -> Problem:
    return error(
        sop.path or sop.id,
        1,
        1,
        "render-failed",
        f"could not render the {what} of {sop.id}: {type(exc).__name__}: {exc}",
        "the previous file, if any, was left as it was; check templates/ overrides",
    )


def _disk_full_problem(sop: Sop, path: Path, root: Path) -> Problem:
    return error(
        sop.path or sop.id,
        1,
        1,
        "render-failed",
        f"the disk is full: could not write {display_path(path, root)}",
        "free some space on that disk, then build again; the previous file, if any, "
        "was left as it was",
    )


def build_documents(
    library: Library,
    options: BuildOptions,
    progress: Progress | None = None,
) -> BuildReport:
    """Build what changed; return what was written, what refused the build, what went wrong."""
    progress = progress or _Silent()
    root = library.root
    report = BuildReport(problems=list(library.problems))
    config = library.config
    wanted = set(options.only) if options.only else None
    report.refused = _refusing(library, wanted)
    if config is None or report.refused:
        return report

    valid_sops = library.valid_sops()
    valid = {s.id for s in valid_sops}

    logo, logo_problems = load_logo(root, config)
    report.problems += logo_problems
    all_sops = library.sops
    titles = {s.id: config.fill(s.title) for s in valid_sops if s.status != "retired"}
    out = root / OUTPUT_DIR
    manifest_path = out / MANIFEST
    manifest = read_manifest(manifest_path)
    in_force = [s for s in valid_sops if s.status != "retired"]
    targets = [s for s in in_force if wanted is None or s.id in wanted]

    def jobs_for(kind: str, variant: str | None) -> list[_Job]:
        shaping = shaping_digest(root, config.digest, {"kind": kind, "pdf_variant": variant})
        shared = _sha(shaping, logo.digest)
        jobs = []
        for sop in targets:
            key = f"{kind}/{sop.id}.{kind}"
            path = out / key
            digest = output_hash(kind, sop, shared, all_sops, valid)
            if not options.force and manifest.get(key) == digest and path.is_file():
                report.up_to_date.append(path)
                continue
            jobs.append(_Job(sop, key, path, digest))
        return jobs

    html_jobs = jobs_for("html", None) if options.html else []
    pdf_jobs = jobs_for("pdf", options.pdf_variant) if options.pdf else []
    progress.start(len(html_jobs) + len(pdf_jobs) + (1 if options.html else 0))

    def written(job: _Job, data: bytes | str) -> None:
        try:
            write_atomic(job.path, data)
        except DiskFullError:
            report.problems.append(_disk_full_problem(job.sop, job.path, root))
            return
        except OSError as exc:
            report.problems.append(_render_problem(job.sop, f"file {job.key}", exc))
            return
        manifest[job.key] = job.digest
        report.written.append(job.path)
        progress.done(job.path, True)

    try:
        for job in html_jobs:
            try:
                text = html_render.render_sop(
                    root,
                    views.sop_view(job.sop, config, titles, "html", logo.data_uri, library.today),
                )
            except Exception as exc:  # a broken template override must not stop the others
                report.problems.append(_render_problem(job.sop, "HTML page", exc))
                continue
            written(job, text)
        if pdf_jobs:
            _build_pdfs(
                root, config, titles, logo, pdf_jobs, options, report, written, library.today
            )
    finally:
        if all(e.sop is not None for e in library.entries):
            keep = [s.id for s in all_sops.values() if s.status != "retired"]
            report.removed += remove_withdrawn(out, manifest, keep)
        if report.written or report.removed:
            write_if_changed(manifest_path, manifest_text(manifest))

    if options.html:
        if all(e.valid for e in library.entries):
            _build_index(root, config, valid_sops, library.today, logo, report, progress)
        else:
            report.index_kept = True
    return report


def _refusing(library: Library, wanted: set[str] | None) -> list[str]:
    """The invalid files (config or SOPs) that a build of `wanted` (None: all) depends on.

    An invalid SOP file counts by the id it declares; one whose id cannot be
    read counts for every build, since it may be an SOP wanted or referenced.
    """
    if library.config is None or has_errors(library.config_problems):
        return [CONFIG_FILE]
    if wanted is None:
        return [e.file for e in library.entries if not e.valid]
    needed = set(wanted)
    for sop_id in wanted:
        entry = library.entry(sop_id)
        if entry is not None and entry.sop is not None:
            needed.update(ref.sop for ref in entry.sop.references if ref.sop)
    refusing = []
    for entry in library.entries:
        if entry.valid:
            continue
        data = entry.document.data
        declared = data.get("id") if isinstance(data, dict) else None
        if not isinstance(declared, str) or declared in needed:
            refusing.append(entry.file)
    return refusing


def _build_index(
    root: Path,
    config: Config,
    sops: list[Sop],
    today: date,
    logo: Logo,
    report: BuildReport,
    progress: Progress,
) -> None:
    """output/html/index.html, rendered every time (cheap) and written only when it changed."""
    out = root / OUTPUT_DIR
    path = out / "html" / "index.html"
    pdf_ids = {s.id for s in sops if (out / "pdf" / f"{s.id}.pdf").is_file()}
    try:
        text = html_render.render_index(
            root, views.index_view(sops, config, today, pdf_ids, logo.data_uri)
        )
        changed = write_if_changed(path, text)
    except Exception as exc:  # a broken template override, a full disk
        report.problems.append(
            error(
                config.path,
                1,
                1,
                "render-failed",
                f"could not build the index: {type(exc).__name__}: {exc}",
                "the previous index, if any, was left as it was; check templates/ overrides",
            )
        )
        return
    (report.written if changed else report.up_to_date).append(path)
    progress.done(path, changed)


def _build_pdfs(
    root: Path,
    config: Config,
    titles: dict[str, str],
    logo: Logo,
    jobs: list[_Job],
    options: BuildOptions,
    report: BuildReport,
    write: Callable[[_Job, bytes], None],
    today: date,
) -> None:
    allowed = [str(root.resolve()), str(templates_dir().resolve())]
    pages: list[tuple[_Job, str]] = []
    for job in jobs:
        try:
            pages.append(
                (
                    job,
                    html_render.render_sop(
                        root,
                        views.sop_view(job.sop, config, titles, "pdf", logo.data_uri, today),
                    ),
                )
            )
        except Exception as exc:
            report.problems.append(_render_problem(job.sop, "PDF", exc))
    # the longest documents first, so no worker is left with a big one at the end
    pages.sort(key=lambda item: len(item[1]), reverse=True)

    def finish(job: _Job, data: bytes, refused: Iterable[str]) -> None:
        for url in refused:
            report.problems.append(
                warning(
                    job.sop.path or job.sop.id,
                    1,
                    1,
                    "fetch-refused",
                    f"{job.sop.id}: the PDF asked for {url}, which was not fetched",
                    "documents may only use files inside the project",
                )
            )
        write(job, data)

    workers = min(options.jobs or os.cpu_count() or 1, len(pages))
    if workers <= 1:
        for job, page in pages:
            try:
                data, refused = _pdf_task(page, allowed, options.pdf_variant)
            except Exception as exc:
                report.problems.append(_render_problem(job.sop, "PDF", exc))
                continue
            finish(job, data, refused)
        return

    from sopgen.render.pdf import warm_up

    with ProcessPoolExecutor(max_workers=workers, initializer=warm_up) as pool:
        futures: dict[Future[tuple[bytes, tuple[str, ...]]], _Job] = {
            pool.submit(_pdf_task, page, allowed, options.pdf_variant): job for job, page in pages
        }
        try:
            for future in as_completed(futures):
                job = futures[future]
                try:
                    data, refused = future.result()
                except BrokenProcessPool as exc:
                    report.problems.append(_render_problem(job.sop, "PDF", exc))
                    continue
                except Exception as exc:
                    report.problems.append(_render_problem(job.sop, "PDF", exc))
                    continue
                finish(job, data, refused)
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
