"""The one error the case module raises for bad input: a message and a hint.

Problems that point into a file (an invalid SOP, a bad CSV row) travel as
`sopgen.problems.InputError` instead; both end in exit code 1.
"""

from __future__ import annotations


class CaseError(Exception):
    """A case command cannot be done as asked; nothing was changed."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
