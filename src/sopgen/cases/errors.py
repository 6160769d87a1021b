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

    `hint` speaks to someone at the command line (`--at`, `sopgen case …`);
    `web_hint`, when given, says the same for people at the desk or using the
    API, where those words mean nothing. `people_hint` picks the one to show
    there (the one place that maps).
    """

    def __init__(
        self,
        message: str,
        hint: str | None = None,
        kind: str = INVALID,
        *,
        web_hint: str | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.kind = kind
        self.web_hint = web_hint

    @property
    def people_hint(self) -> str | None:
        """The hint for the desk and the API: `web_hint`, else `hint` unless it names a
        command or an option (then none: a command-line hint misleads there)."""
        if self.web_hint is not None:
            return self.web_hint or None
        if self.hint and ("sopgen " in self.hint or "--" in self.hint):
            return None
        return self.hint

    def problem(self, file: str, line: int, code: str = "bad-row", column: int = 1) -> Problem:
        """This error as a problem of line `line` of `file` (a row of a CSV file), at the
        cell in `column` (1-based)."""
        return error(file, line, column, code, self.message, self.hint)
