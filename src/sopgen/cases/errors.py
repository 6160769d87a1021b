"""The one error the case module raises for bad input: a message and a hint.

Problems that point into a file (an invalid SOP, a bad CSV row) travel as
`sopgen.problems.InputError` instead; both end in exit code 1. A `CaseError`
about one row of a file becomes such a problem through `CaseError.problem`.
"""

from __future__ import annotations

from sopgen.problems import Problem, error

INVALID, NOT_FOUND, CONFLICT = "invalid", "not-found", "conflict"


class CaseError(Exception):
    """A case command cannot be done as asked; nothing was changed.

    `kind` tells machines (the desk's API) why: `invalid` input, `not-found`
    (no such case), or `conflict` with the current state (a case id already
    used, a step already done).
    """

    def __init__(self, message: str, hint: str | None = None, kind: str = INVALID):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.kind = kind

    def problem(self, file: str, line: int, code: str = "bad-row") -> Problem:
        """This error as a problem of line `line` of `file` (a row of a CSV file)."""
        return error(file, line, 1, code, self.message, self.hint)
