"""Every calendar file sopgen writes, checked as Evolution and Thunderbird read it.

- libical (GNOME/Evolution's parser), through its GObject bindings
  (`gir1.2-ical-3.0`, `python3-gi`): parse, run its iTIP restriction checker,
  and collect every X-LIC-ERROR it leaves in the components;
- Mozilla's ical.js (Thunderbird's), through `tests/js/lint_ics.mjs`.

Where a checker is not installed, the checks are skipped on a developer's
machine but fail in CI (`CI=true`): a missing checker must never pass silently.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

JS = Path(__file__).resolve().parent / "js"
INSTALL = {
    "libical": "install Debian's gir1.2-ical-3.0 and python3-gi (setup.sh does) and use a venv "
    "with --system-site-packages",
    "ical.js": "install Node.js and run `npm ci --prefix tests/js` (setup.sh does)",
}


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


@cache
def _libical() -> Any | None:
    try:
        import gi

        gi.require_version("ICalGLib", "3.0")
        from gi.repository import ICalGLib
    except (ImportError, ValueError):
        if in_ci():
            raise
        return None
    return ICalGLib


@cache
def _node() -> str | None:
    node = shutil.which("node")
    if node is None or not (JS / "node_modules" / "ical.js").is_dir():
        if in_ci():
            raise RuntimeError(f"ical.js is missing: {INSTALL['ical.js']}")
        return None
    return node


def missing() -> list[str]:
    """The checkers not installed here (never any in CI: there they raise instead)."""
    return [
        name
        for name, present in (("libical", _libical() is not None), ("ical.js", _node() is not None))
        if not present
    ]


def require() -> None:
    """Skip a test that is about the checkers when one is missing (never in CI)."""
    absent = missing()
    if absent:
        import pytest

        pytest.skip(f"needs {' and '.join(absent)}: " + "; ".join(INSTALL[a] for a in absent))


def libical_errors(raw: bytes) -> list[str] | None:
    """Every error libical finds in `raw`, restriction check included; None: no libical."""
    ical = _libical()
    if ical is None:
        return None
    component = ical.Component.new_from_string(raw.decode("utf-8"))
    if component is None:
        return ["libical cannot parse the file"]
    if component.isa() != ical.ComponentKind.VCALENDAR_COMPONENT:
        return [f"the top component is {ical.Component.kind_to_string(component.isa())}"]
    ical.restriction_check(component)
    errors: list[str] = []

    def walk(node: Any) -> None:
        kind = ical.Component.kind_to_string(node.isa())
        prop = node.get_first_property(ical.PropertyKind.XLICERROR_PROPERTY)
        while prop is not None:
            errors.append(f"{kind}: {prop.get_xlicerror()}")
            prop = node.get_next_property(ical.PropertyKind.XLICERROR_PROPERTY)
        child = node.get_first_component(ical.ComponentKind.ANY_COMPONENT)
        while child is not None:
            walk(child)
            child = node.get_next_component(ical.ComponentKind.ANY_COMPONENT)

    walk(component)
    return errors


def icaljs_errors(paths: Iterable[Path]) -> dict[str, list[str]] | None:
    """Every error ical.js finds, per file; None: no ical.js."""
    files = [str(p) for p in paths]
    node = _node()
    if node is None:
        return None
    if not files:
        return {}
    out = subprocess.run(
        [node, str(JS / "lint_ics.mjs"), *files],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    report: dict[str, list[str]] = json.loads(out.stdout)
    return report


def calendar_errors(paths: Iterable[Path]) -> list[str]:
    """`path: checker: error` for every error either checker finds in the files."""
    files = sorted(paths)
    found: list[str] = []
    for path in files:
        for error in libical_errors(path.read_bytes()) or []:
            found.append(f"{path}: libical: {error}")
    for file, errors in (icaljs_errors(files) or {}).items():
        found += [f"{file}: ical.js: {error}" for error in errors]
    return found


def bytes_errors(raw: bytes, tmp: Path, name: str = "calendar.ics") -> list[str]:
    """`calendar_errors` for calendar bytes not written by a command (e.g. a feed)."""
    path = tmp / name
    path.write_bytes(raw)
    return calendar_errors([path])
