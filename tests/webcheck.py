"""The standard web checkers, run over the desk's pages and the generated HTML documents.

- axe-core (Deque's accessibility rules, `tests/js/node_modules/axe-core`),
  injected into a page that Playwright has loaded in Debian's chromium;
- the Nu HTML Checker (vnu, the W3C validator: `tests/js/node_modules/vnu-jar`),
  run with Debian's Java (`default-jre-headless`) over saved files, all in one
  invocation (the JVM starts once).

Both come from `npm ci --prefix tests/js` (setup.sh runs it; Java comes from
setup.sh's PACKAGES). Where one is not installed, the checks are skipped on a
developer's machine but fail in CI (`CI=true`), as in `icscheck`: a missing
checker must never pass silently.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from icscheck import in_ci

JS = Path(__file__).resolve().parent / "js"
AXE = JS / "node_modules" / "axe-core" / "axe.min.js"
VNU = JS / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
INSTALL = {
    "axe-core": "run `npm ci --prefix tests/js` (setup.sh does)",
    "vnu": "install Debian's default-jre-headless and run `npm ci --prefix tests/js` "
    "(setup.sh does both)",
}
# axe-core's rule tags the pages are held to: WCAG 2.0, 2.1 and 2.2 A and AA, and
# Deque's best practices (empty-table-header is one of these)
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


@cache
def _axe() -> Path | None:
    if not AXE.is_file():
        if in_ci():
            raise RuntimeError(f"axe-core is missing: {INSTALL['axe-core']}")
        return None
    return AXE


@cache
def _java() -> str | None:
    java = shutil.which("java")
    if java is None or not VNU.is_file():
        if in_ci():
            raise RuntimeError(f"the Nu HTML Checker is missing: {INSTALL['vnu']}")
        return None
    return java


def require() -> None:
    """Skip a test of the checkers' findings when one is missing (never in CI)."""
    absent = [
        name
        for name, present in (("axe-core", _axe() is not None), ("vnu", _java() is not None))
        if not present
    ]
    if absent:
        import pytest

        pytest.skip(f"needs {' and '.join(absent)}: " + "; ".join(INSTALL[a] for a in absent))


# Runs in the page: axe.run over the whole document, violations only, each with the
# elements it found them on.
_RUN_AXE = """async (tags) => {
  const result = await axe.run(document, {
    runOnly: {type: "tag", values: tags},
    resultTypes: ["violations"],
  });
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => n.target.join(" ")),
  }));
}"""


def axe_violations(page: Any, where: str) -> list[str]:
    """`where: rule (impact): what it asks, on: elements` for every axe-core violation
    on the page Playwright's `page` shows now (the script is injected into it)."""
    axe = _axe()
    if axe is None:
        return []
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(axe))
    found = page.evaluate(_RUN_AXE, AXE_TAGS)
    return [
        f"{where}: {v['id']} ({v['impact']}): {v['help']}, on: {', '.join(v['nodes'][:5])}"
        for v in found
    ]


def vnu_errors(files: Iterable[Path], names: dict[Path, str] | None = None) -> list[str]:
    """`name:line:column: message` for every error the Nu HTML Checker finds in the HTML
    `files` (one run for all of them); `names` says what each file is (else its path)."""
    paths = sorted(files)
    java = _java()
    if java is None or not paths:
        return []
    out = subprocess.run(
        [java, "-Xss4m", "-jar", str(VNU), "--format", "json", "--exit-zero-always",
         *map(str, paths)],
        capture_output=True, text=True, check=True, timeout=300,
    )  # fmt: skip
    report = json.loads(out.stderr or out.stdout)
    by_path = {str(p.resolve()): (names or {}).get(p, str(p)) for p in paths}
    found = []
    for message in report["messages"]:
        if message["type"] == "info":  # warnings and notes: not errors
            continue
        url = message.get("url", "?")  # file:/tmp/… as vnu spells it
        name = by_path.get(unquote(urlsplit(url).path), url)
        found.append(
            f"{name}:{message.get('lastLine', '?')}:{message.get('firstColumn', '?')}: "
            f"{message['type']}: {message['message']}"
            + (f" [{message['extract'].strip()}]" if message.get("extract") else "")
        )
    return found
