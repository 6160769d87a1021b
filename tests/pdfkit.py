"""What every PDF sopgen writes says about itself to assistive technology and archives.

PDF/UA-1 identification in the XMP metadata stream (`/Metadata` in the catalog,
`pdfuaid:part` 1, `dc:title`, `dc:language`), and the tagging it promises
(`/MarkInfo /Marked true`, a `/StructTreeRoot`, the catalog's `/Lang`).
"""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree

import pypdf

NS = {
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "dc": "http://purl.org/dc/elements/1.1/",
    "pdfuaid": "http://www.aiim.org/pdfua/ns/id/",
}


def xmp(path: Path) -> ElementTree.Element | None:
    """The rdf:RDF element of the PDF's XMP metadata, None when it has none."""
    catalog = pypdf.PdfReader(path).trailer["/Root"]
    if "/Metadata" not in catalog:
        return None
    packet = catalog["/Metadata"].get_object().get_data()
    return ElementTree.fromstring(packet.split(b"?>", 1)[1].rsplit(b"<?xpacket", 1)[0]).find(
        "rdf:RDF", NS
    )


def ua_problems(path: Path) -> list[str]:
    """What is missing for `path` to identify as a tagged PDF/UA-1 document (empty: none)."""
    reader = pypdf.PdfReader(path)
    catalog = reader.trailer["/Root"]
    found = []
    if not ("/MarkInfo" in catalog and bool(catalog["/MarkInfo"].get("/Marked"))):
        found.append("not marked as tagged (/MarkInfo /Marked true)")
    if "/StructTreeRoot" not in catalog:
        found.append("no structure tree (/StructTreeRoot)")
    rdf = xmp(path)
    if rdf is None:
        return [*found, "no XMP metadata (/Metadata)"]
    descriptions = rdf.findall("rdf:Description", NS)
    parts = [d.get(f"{{{NS['pdfuaid']}}}part") for d in descriptions]
    parts += [e.text for e in rdf.iterfind("rdf:Description/pdfuaid:part", NS)]
    if "1" not in parts:
        found.append(f"pdfuaid:part is not 1 (found {[p for p in parts if p]})")
    titles = [e.text for e in rdf.iterfind("rdf:Description/dc:title/rdf:Alt/rdf:li", NS)]
    title = reader.metadata.title if reader.metadata else None
    if not title or titles != [title]:
        found.append(f"dc:title {titles} is not the document title {title!r}")
    languages = [e.text for e in rdf.iterfind("rdf:Description/dc:language/rdf:Bag/rdf:li", NS)]
    lang = str(catalog.get("/Lang") or "")
    if not lang or languages != [lang]:
        found.append(f"dc:language {languages} is not the catalog's /Lang {lang!r}")
    return [f"{path.name}: {problem}" for problem in found]
