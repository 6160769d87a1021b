"""Problems found in user input: what is wrong, where, and how to fix it.

Every check in sopgen yields `Problem`s instead of raising, so one run reports
everything that is wrong (Doorstop's `get_issues()` pattern).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an input file, pointed at 1-based line and column."""

    file: str
    line: int
    column: int
    severity: Severity
    code: str
    message: str
    hint: str | None = None

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def format(self) -> str:
        text = f"{self.file}:{self.line}:{self.column}: {self.severity}: {self.message}"
        if self.hint:
            text += f"\n    hint: {self.hint}"
        return text

    def to_json(self) -> dict[str, object]:
        data = asdict(self)
        data["severity"] = str(self.severity)
        return data


def error(
    file: str, line: int, column: int, code: str, message: str, hint: str | None = None
) -> Problem:
    return Problem(file, line, column, Severity.ERROR, code, message, hint)


def warning(
    file: str, line: int, column: int, code: str, message: str, hint: str | None = None
) -> Problem:
    return Problem(file, line, column, Severity.WARNING, code, message, hint)


def has_errors(problems: Iterable[Problem]) -> bool:
    return any(p.is_error for p in problems)


def sort_key(problem: Problem) -> tuple[str, int, int, str]:
    return (problem.file, problem.line, problem.column, problem.code)


def to_json(problems: Iterable[Problem]) -> str:
    return json.dumps([p.to_json() for p in sorted(problems, key=sort_key)], indent=2)


class InputError(Exception):
    """Raised at the edges (CLI, build, cases) when input problems stop the work."""

    def __init__(self, problems: list[Problem]):
        super().__init__("\n".join(p.format() for p in problems))
        self.problems = problems
