"""The SOP a case was planned from: its stored snapshot (the SOP file's text when the
case was opened), found in the library while that file is unchanged, else parsed from
the store's copy. No store access here: the callers read the text."""

from __future__ import annotations

from sopgen.library import Library
from sopgen.model import Sop, make_sop
from sopgen.problems import InputError
from sopgen.source import load_text


def library_sop(library: Library, digest: str) -> Sop | None:
    """The library's SOP whose file is snapshot `digest`, if it is still there."""
    for entry in library.entries:
        if entry.document.digest == digest and entry.valid and entry.sop is not None:
            return entry.sop
    return None


def parse_snapshot(text: str, file: str, version: str, digest: str) -> Sop:
    """The SOP of a stored snapshot's text (`file` and `version` name it in problems)."""
    document = load_text(text.encode("utf-8"), f"{file} (version {version})")
    if document.data is None:  # pragma: no cover - it was valid when stored
        raise InputError(document.problems)
    return make_sop(document.data, document.source, digest)
