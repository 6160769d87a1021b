"""Load a repository's config and SOPs into a validated `Library`.

    YAML text ─load─> data + positions ─schema─> problems
                                     └─model─> Config, Sop ─checks─> problems

Nothing here prints or raises for bad input: every problem is collected, so a
single run reports all of them. Whoever calls decides what is fatal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sopgen import checks, clock, schema
from sopgen.model import Config, Sop, make_config, make_sop
from sopgen.problems import Problem, error, has_errors
from sopgen.source import Document, load_file

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

    @property
    def problems(self) -> list[Problem]:
        return self.config_problems + [p for e in self.entries for p in e.problems]

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


def display_path(path: Path, root: Path) -> str:
    """Paths in messages are relative to the repository root when inside it."""
    try:
        return str(path.resolve().relative_to(root.resolve()))
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


def sop_files(root: Path) -> list[Path]:
    folder = root / SOPS_DIR
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml"))


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
    named = [p.resolve() for p in files] if files is not None else None
    paths = list(dict.fromkeys([p.resolve() for p in sop_files(root)] + (named or [])))
    entries = [load_sop(p, root) for p in paths]
    for entry, problems in zip(entries, checks.check_library(entries, config, today), strict=True):
        entry.problems += problems
    if named is not None:
        wanted = set(named)
        entries = [e for e in entries if e.path.resolve() in wanted]
    return Library(root, config, config_problems, entries, today)
