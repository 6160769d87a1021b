"""The one digest of everything that shapes sopgen's output, besides the SOPs themselves.

Both the build stamp (is anything at all different since the last build?)
and the manifest (which documents must be rendered again?) hash the same
things through `shaping_digest`, so the two can never disagree about what
makes a document stale:

- sopgen's version and every module of the package (a new release, or an
  edited module, rebuilds every document);
- every template file, the company's `templates/` and sopgen's defaults;
- the shipped JSON Schemas;
- the company config (its bytes' digest);
- the build options the caller passes.

Cheap on purpose (file reads and SHA-256, no imports beyond the standard
library): the no-op build's fast path calls it before parsing anything.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from pathlib import Path

from sopgen import __version__
from sopgen.assets import schema_dir, templates_dir

PACKAGE = Path(__file__).resolve().parent.parent
"""The `sopgen` package folder: every module in it shapes the output."""


def code_files() -> list[Path]:
    """Every module of sopgen, in a stable order."""
    return sorted(PACKAGE.rglob("*.py"))


def template_files(root: Path) -> list[tuple[str, Path]]:
    """Every file of the company's `templates/` and of sopgen's default templates, named."""
    files: list[tuple[str, Path]] = []
    default = templates_dir().resolve()
    company = (root / "templates").resolve()
    for label, folder in (("company", company), ("default", default)):
        if folder.is_dir() and (label == "default" or folder != default):
            files += [
                (f"{label}/{p.relative_to(folder).as_posix()}", p)
                for p in sorted(folder.rglob("*"))
                if p.is_file()
            ]
    return files


def schema_files() -> list[Path]:
    folder = schema_dir()
    return sorted(p for p in folder.rglob("*") if p.is_file())


def _files(root: Path) -> Iterator[tuple[str, Path]]:
    for path in code_files():
        yield "code:" + path.relative_to(PACKAGE).as_posix(), path
    for name, path in template_files(root):
        yield "template:" + name, path
    for path in schema_files():
        yield "schema:" + path.name, path


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes; a file that cannot be read has its own fixed digest."""
    if not path.is_file():  # a FIFO would block the open, a device never end
        return "missing"
    try:
        with path.open("rb") as handle:  # in chunks: a link in sops/ may lead to a huge file
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError:
        return "missing"


def shaping_digest(root: Path, config_digest: str, options: Mapping[str, object]) -> str:
    """A hash of sopgen (version, code), the templates, the schemas, the config and `options`."""
    digest = hashlib.sha256()
    digest.update(json.dumps([__version__, config_digest, options], sort_keys=True).encode())
    for name, path in _files(root):
        digest.update(name.encode() + b"\0" + file_digest(path).encode() + b"\0")
    return digest.hexdigest()
