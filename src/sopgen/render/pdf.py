"""PDF rendering with WeasyPrint: HTML text in, PDF bytes out.

WeasyPrint is imported here, lazily, inside the functions: a build with
nothing to render never pays for importing it (about 1.5 s).

Nothing is fetched from the network and nothing is read outside the project:
`ProjectFetcher` allows only `data:` URIs and `file:` URLs that resolve
inside the allowed folders (the project root and sopgen's templates); every
other URL is refused and recorded. WeasyPrint turns a refused resource into a
missing image, never into a crash.

Every PDF is tagged and identifies itself as PDF/UA-1 in its XMP metadata
(`/Metadata`: `pdfuaid:part` 1, `dc:title`, `dc:language`), archival PDF/A
variants included: WeasyPrint's `pdf/ua-1` variant writes the stream (it
changes nothing else: same tags, fonts and layout), and `_UaMetadata` adds the
PDF/UA identification and the language to whatever metadata a variant writes.

The case checklist reuses `render_pdf` with its own HTML.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

# the variant every PDF is written as unless an archival one is asked for
DEFAULT_VARIANT = "pdf/ua-1"
PDF_VARIANTS = ("pdf/a-1b", "pdf/a-2b", "pdf/a-3b", "pdf/a-2u", "pdf/a-3u", "pdf/a-4u")


class FetchRefused(ValueError):
    """A URL the document may not load (outside the project, or not a file at all)."""


def inside(path: Path, folders: Sequence[Path]) -> bool:
    """True when `path`, with symlinks and `..` resolved, lies in one of `folders`."""
    resolved = path.resolve()
    return any(resolved.is_relative_to(folder.resolve()) for folder in folders)


def check_url(url: str, allowed: Sequence[Path]) -> Path | None:
    """The local file `url` may load, None for a data: URI; raise FetchRefused otherwise."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "data":
        return None
    if scheme != "file" or parts.netloc not in ("", "localhost"):
        raise FetchRefused(f"refused to fetch {url}: only files inside the project are allowed")
    path = Path(unquote(parts.path))
    if not path.is_absolute() or not inside(path, allowed):
        raise FetchRefused(f"refused to read {url}: it lies outside the project")
    return path


def _fetcher_class() -> Any:
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class ProjectFetcher(URLFetcher):
        """WeasyPrint 70 wants a URLFetcher subclass (it reads `_fail_on_errors`)."""

        def __init__(self, allowed: Sequence[Path], refused: list[str]):
            super().__init__(timeout=1, allowed_protocols=("file", "data"), allow_redirects=False)
            self.allowed = tuple(allowed)
            self.refused = refused

        def fetch(self, url: str, headers: Any = None) -> Any:
            try:
                path = check_url(url, self.allowed)
            except FetchRefused as exc:
                self.refused.append(url)
                raise exc
            if path is None:  # data: URI, decoded by urllib's DataHandler
                return super().fetch(url, headers)
            return URLFetcherResponse(path.as_uri(), path.read_bytes())

    return ProjectFetcher


def _metadata_class() -> Any:
    from xml.etree.ElementTree import SubElement, fromstring, tostring

    from weasyprint.pdf.metadata import NS, DocumentMetadata

    class UaMetadata(DocumentMetadata):
        """WeasyPrint's XMP metadata, plus `pdfuaid:part` 1 when the variant is not
        PDF/UA itself (PDF/A) and the document's language as `dc:language`."""

        def generate_rdf_metadata(self, variant: str, version: int, conformance: Any) -> bytes:
            rdf = fromstring(super().generate_rdf_metadata(variant, version, conformance))
            if variant != "ua":
                about = SubElement(rdf, f"{{{NS['rdf']}}}Description")
                about.attrib[f"{{{NS['rdf']}}}about"] = ""
                about.attrib[f"{{{NS['pdfuaid']}}}part"] = "1"
            if self.lang:
                about = SubElement(rdf, f"{{{NS['rdf']}}}Description")
                about.attrib[f"{{{NS['rdf']}}}about"] = ""
                bag = SubElement(
                    SubElement(about, f"{{{NS['dc']}}}language"), f"{{{NS['rdf']}}}Bag"
                )
                SubElement(bag, f"{{{NS['rdf']}}}li").text = self.lang
            data: bytes = tostring(rdf, encoding="utf-8")
            return data

    return UaMetadata


@dataclass
class _Worker:
    """What one process keeps between renders: the fetcher class and the font config."""

    fetcher: Any = None
    fonts: Any = None
    metadata: Any = None
    refused: list[str] = field(default_factory=list)


_WORKER = _Worker()


def warm_up() -> None:
    """Import WeasyPrint and build its font configuration once (a pool initializer)."""
    if _WORKER.fetcher is None:
        from weasyprint.text.fonts import FontConfiguration

        logging.getLogger("weasyprint").setLevel(logging.CRITICAL)
        _WORKER.fetcher = _fetcher_class()
        _WORKER.metadata = _metadata_class()
        _WORKER.fonts = FontConfiguration()


@dataclass(frozen=True, slots=True)
class PdfResult:
    data: bytes
    refused: tuple[str, ...]  # URLs the document asked for and did not get


def render_pdf(
    html: str,
    allowed: Sequence[Path],
    variant: str | None = None,
) -> PdfResult:
    """Print `html` to PDF bytes; `allowed` are the folders local resources may come from.

    Relative links stay relative (no base URL), so `SOP-CS-005.pdf` links to
    the PDF next to this one wherever the folder is copied.
    """
    warm_up()
    import weasyprint

    refused: list[str] = []
    fetcher = _WORKER.fetcher(allowed, refused)
    source = weasyprint.HTML(string=html, base_url=None, url_fetcher=fetcher)
    # tagged PDF (WeasyPrint's PDF/UA structure): screen readers get headings, tables,
    # lists; identified as PDF/UA-1 in the XMP metadata, archival variants too
    options: dict[str, Any] = {"pdf_tags": True, "pdf_variant": variant or DEFAULT_VARIANT}
    document = source.render(font_config=_WORKER.fonts, **options)
    document.metadata.__class__ = _WORKER.metadata
    data = document.write_pdf(**options)
    return PdfResult(data, tuple(refused))
