"""Withdrawn documents: output of SOPs that left the library or were retired.

A controlled document that is no longer in force must not stay where staff
find it. After a build, every document the manifest says sopgen wrote for an
SOP id that is no longer in the library, or whose SOP is now retired, is
deleted from `output/` and dropped from the manifest. Only files sopgen wrote
(listed in the manifest) are ever removed; while any SOP file cannot be read
(its id unknown), nothing is removed, since that file may be the SOP.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

DOCUMENT_KINDS = ("html", "pdf")


def withdrawn_keys(manifest: dict[str, str], keep: Iterable[str]) -> list[str]:
    """Manifest keys (`pdf/SOP-X.pdf`) of documents whose SOP id is not in `keep`."""
    kept = set(keep)
    gone = []
    for key in manifest:
        kind, _, name = key.partition("/")
        if kind not in DOCUMENT_KINDS or not name.endswith(f".{kind}"):
            continue
        if name.removesuffix(f".{kind}") not in kept:
            gone.append(key)
    return gone


def remove_withdrawn(out: Path, manifest: dict[str, str], keep: Iterable[str]) -> list[Path]:
    """Delete withdrawn documents under `out`; return the paths removed (manifest updated)."""
    removed = []
    for key in withdrawn_keys(manifest, keep):
        path = out / key
        try:
            path.unlink(missing_ok=True)
        except OSError:
            continue  # left in the manifest: the next build tries again
        del manifest[key]
        removed.append(path)
    return removed
