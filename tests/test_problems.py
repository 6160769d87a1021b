"""One registry of problem codes: every code the source uses is registered, once, with
the severity it is used with, and docs/authoring.md lists exactly the registered codes."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from sopgen.problems import CODES, Severity

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "src" / "sopgen"
CODE = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
# functions that make a Problem from a code given as a literal argument
ERROR_MAKERS = {"error", "at", "fail", "_at", "key_error", "_problem", "at_value", "problem"}
WARNING_MAKERS = {"warning", "warn"}
NOT_PROBLEMS = {"desk"}  # the desk's `error()` builds JSON API errors, not problems


def used_codes() -> dict[str, set[tuple[Severity, str]]]:
    """Every literal code passed to a problem-making call in sopgen's source."""
    found: dict[str, set[tuple[Severity, str]]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if NOT_PROBLEMS & set(path.relative_to(PACKAGE).parts):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = getattr(func, "attr", None) or getattr(func, "id", None)
            if name not in ERROR_MAKERS | WARNING_MAKERS:
                continue
            severity = Severity.WARNING if name in WARNING_MAKERS else Severity.ERROR
            where = f"{path.relative_to(REPO)}:{node.lineno}"
            for arg in [*node.args[:5], *(k.value for k in node.keywords if k.arg == "code")]:
                text = arg.value if isinstance(arg, ast.Constant) else None
                if isinstance(text, str) and CODE.match(text):
                    found.setdefault(text, set()).add((severity, where))
    return found


def test_the_scan_finds_the_codes_it_should() -> None:
    used = used_codes()
    assert {"yaml-syntax", "unknown-role", "review-overdue", "bad-row"} <= set(used)


def test_every_code_in_the_source_is_registered_with_its_severity() -> None:
    for code, uses in used_codes().items():
        places = ", ".join(sorted(w for _, w in uses))
        assert code in CODES, f"problem code '{code}' ({places}) is not in sopgen.problems.CODES"
        for severity, where in uses:
            assert severity is CODES[code].severity, (
                f"{where}: '{code}' is used as {severity}, registered as {CODES[code].severity}"
            )


def test_every_registered_code_is_used() -> None:
    used = set(used_codes()) | {"unknown-sop"}  # raised through `library.unknown_sop`
    assert set(CODES) - used == set()


def test_the_docs_list_exactly_the_registered_codes() -> None:
    page = (REPO / "docs" / "authoring.md").read_text(encoding="utf-8")
    section = page.split("\n## Problem codes\n", 1)[1].split("\n## ", 1)[0]
    listed = dict(re.findall(r"^\| `([a-z0-9-]+)` \| (error|warning) \|", section, re.M))
    assert listed == {code: str(kind.severity) for code, kind in CODES.items()}
