"""Load a repository's config and SOPs into a validated `Library`.

    YAML text ─load─> data + positions ─schema─> problems
                                     └─model─> Config, Sop ─checks─> problems

Nothing here prints or raises for bad input: every problem is collected, so a
single run reports all of them. Whoever calls decides what is fatal.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sopgen import checks, clock, schema, signatures
from sopgen.model import Config, Sop, make_config, make_sop
from sopgen.problems import Problem, error, has_errors
from sopgen.source import Document, file_kind, load_file

CONFIG_FILE = "sopgen.yaml"
SOPS_DIR = "sops"


@dataclass
class Entry:
    """One SOP file: what was loaded from it, the SOP if it could be built, its problems."""

    path: Path
    file: str  # as shown in messages
    document: Document
    sop: Sop | None
    problems: list[Problem] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return self.sop is not None and not has_errors(self.problems)


@dataclass
class Library:
    root: Path
    config: Config | None
    config_problems: list[Problem]
    entries: list[Entry]
    today: date  # the day the checks judged review dates against (`clock.today`)
    skipped: list[Problem] = field(default_factory=list)  # files in sops/ left unread, and why
    other_problems: list[Problem] = field(default_factory=list)
    """Problems of no SOP and not of the config: a bad key file under signatures/keys/."""

    @property
    def problems(self) -> list[Problem]:
        return (
            self.config_problems
            + self.skipped
            + self.other_problems
            + [p for e in self.entries for p in e.problems]
        )

    @property
    def sops(self) -> dict[str, Sop]:
        """Every SOP that could be built (even with semantic problems), by id."""
        return {e.sop.id: e.sop for e in self.entries if e.sop is not None}

    def valid_sops(self) -> list[Sop]:
        """SOPs with no errors, in file order; empty when the config itself is invalid."""
        if self.config is None or has_errors(self.config_problems):
            return []
        return [e.sop for e in self.entries if e.valid and e.sop is not None]

    def entry(self, sop_id: str) -> Entry | None:
        for e in self.entries:
            if e.sop is not None and e.sop.id == sop_id:
                return e
        return None


def unknown_sop(library: Library, sop_ids: Sequence[str]) -> tuple[str, str]:
    """Message and hint when the command line names SOPs the library lacks.

    Every command says it the same way (problem code `unknown-sop`, exit 1):
    `sopgen build SOP-NOPE` as `sopgen case open X --sop SOP-NOPE`.
    """
    names = ", ".join(f"'{i}'" for i in sop_ids)
    known = ", ".join(sorted(library.sops)) or "none"
    hint = f"SOPs in this library: {known}"
    broken = [e for e in library.entries if e.sop is None and e.problems]
    if broken:
        n = len(broken)
        hint += f"; {n} SOP file{'s' * (n != 1)} could not be read: run sopgen validate"
    return f"unknown SOP {names}", hint


def resolved(path: Path) -> Path:
    """`path` with symbolic links resolved; as it is (made absolute) when they loop."""
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # Python 3.11 raises RuntimeError for a loop
        return path.absolute()


def display_path(path: Path, root: Path) -> str:
    """Paths in messages are relative to the repository root when inside it."""
    try:
        return str(resolved(path).relative_to(resolved(root)))
    except ValueError:
        return str(path)


def load_config(root: Path) -> tuple[Config | None, list[Problem]]:
    path = root / CONFIG_FILE
    file = display_path(path, root)
    if not path.exists():
        return None, [
            error(
                file,
                1,
                1,
                "no-config",
                f"no {CONFIG_FILE} in {root}",
                "run sopgen inside the repository (any folder below sopgen.yaml), "
                "or pass --root DIR",
            )
        ]
    doc = load_file(path, file)
    if doc.data is None:
        return None, doc.problems
    problems = doc.problems + schema.validate(schema.CONFIG, doc.data, doc.source)
    if has_errors(problems):
        return None, problems
    config, model_problems = make_config(doc.data, doc.source, doc.digest)
    problems += model_problems + list(checks.check_config(config))
    return (None if has_errors(problems) else config), problems


def load_sop(path: Path, root: Path) -> Entry:
    """Load, schema-check and build one SOP file (semantic checks come later)."""
    file = display_path(path, root)
    doc = load_file(path, file)
    entry = Entry(path, file, doc, None, list(doc.problems))
    if doc.data is None:
        return entry
    schema_problems = schema.validate(schema.SOP, doc.data, doc.source)
    entry.problems += schema_problems
    if has_errors(schema_problems) or has_errors(doc.problems):
        return entry
    entry.sop = make_sop(doc.data, doc.source, doc.digest)
    return entry


@dataclass
class SopFolder:
    """What `sops/` holds: the SOP files sopgen reads, and those it leaves unread and why."""

    files: list[Path]
    skipped: list[Problem]


def scan_sops(root: Path) -> SopFolder:
    """The `*.yaml`/`*.yml` files of `sops/`, in name order, that are safe to read.

    sopgen reads only regular files inside the repository: a symbolic link is
    followed only to a regular file within the repository root; a link out of it,
    a link to nothing or in a loop, a folder, a FIFO, a device or a socket is
    skipped with a `skipped-file` error naming it and why (a FIFO would hang the
    read, `/dev/zero` would never end, an outside file would be published or have
    its keys shown in messages). Size is capped when a file is read
    (`source.MAX_BYTES`).
    """
    folder = root / SOPS_DIR
    if not folder.is_dir():
        return SopFolder([], [])
    files: list[Path] = []
    skipped: list[Problem] = []
    top = resolved(root)
    for path in sorted(folder.iterdir()):
        if path.suffix not in (".yaml", ".yml"):
            continue
        why = _unsafe(path, top)
        if why is None:
            files.append(path)
            continue
        shown = f"{SOPS_DIR}/{path.name}"
        skipped.append(
            error(
                shown,
                1,
                1,
                "skipped-file",
                f"{shown} was skipped: it {why}",
                "sopgen reads only regular files inside the repository from sops/; "
                + (
                    "copy the SOP into sops/ instead of linking to it"
                    if why.startswith("is a symbolic link")
                    else "move it out of sops/ or give it a name not ending in .yaml"
                ),
            )
        )
    return SopFolder(files, skipped)


def _unsafe(path: Path, top: Path) -> str | None:
    """Why `path` (in sops/) must not be read, or None when it is a regular file inside."""
    try:
        mode = path.lstat().st_mode
    except OSError as exc:
        return f"cannot be inspected ({exc.strerror or exc})"
    if stat.S_ISLNK(mode):
        link = os.readlink(path)
        try:
            target = path.resolve(strict=True)
        except RuntimeError:  # Python 3.11: a loop
            return f"is a symbolic link that loops ({link})"
        except FileNotFoundError:
            return f"is a symbolic link to nothing ({link})"
        except OSError as exc:
            if "loop" in str(exc.strerror or "").lower() or exc.errno == 40:  # ELOOP
                return f"is a symbolic link that loops ({link})"
            return f"is a symbolic link that cannot be followed ({exc.strerror or exc})"
        if not target.is_relative_to(top):
            return f"is a symbolic link to {target}, outside the repository"
        try:
            mode = target.stat().st_mode
        except OSError as exc:  # pragma: no cover - resolved a moment ago
            return f"cannot be inspected ({exc.strerror or exc})"
    kind = file_kind(mode)
    if kind != "file":
        return f"is a {kind}, not a regular file"
    return None


def sop_files(root: Path) -> list[Path]:
    """The SOP files of `sops/` that sopgen reads (see `scan_sops`)."""
    return scan_sops(root).files


def load_library(
    root: Path,
    files: Sequence[Path] | None = None,
    today: date | None = None,
) -> Library:
    """Load the config and every SOP under `sops/` (plus any extra `files`), and check them.

    With `files` (even an empty list), problems of other SOPs are not reported, but those SOPs are
    still loaded so references and duplicate ids are judged against the whole
    library.
    """
    config, config_problems = load_config(root)
    today = today or clock.today(config.zone if config else None)
    named = [resolved(p) for p in files] if files is not None else None
    folder = scan_sops(root)
    paths = list(dict.fromkeys([resolved(p) for p in folder.files] + (named or [])))
    entries = [load_sop(p, root) for p in paths]
    for entry, problems in zip(entries, checks.check_library(entries, config, today), strict=True):
        entry.problems += problems
    skipped = folder.skipped
    other = signatures.check_signatures(root, config, entries)
    if named is not None:
        wanted = set(named)
        entries = [e for e in entries if resolved(e.path) in wanted]
        skipped = []
    return Library(root, config, config_problems, entries, today, skipped, other)
