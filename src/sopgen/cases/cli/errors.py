"""One answer to bad input for every case-store command: a message and exit 1."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from sopgen.cases.errors import CaseError
from sopgen.console import fail, report
from sopgen.problems import InputError

F = TypeVar("F", bound=Callable[..., Any])


def reports_case_errors(command: F) -> F:
    """Bad input → a message and exit 1, never a traceback."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except CaseError as exc:
            fail(exc.message, exc.hint)
        except InputError as exc:
            report(exc.problems)
            raise SystemExit(1) from None

    return wrapper  # type: ignore[return-value]
