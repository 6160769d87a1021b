"""Where the shipped schemas and default templates live.

In a source checkout (and an editable install) they are the repository's
`schema/` and `templates/`; a wheel carries copies inside the package.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_CHECKOUT = _PACKAGE.parent.parent


def _find(name: str) -> Path:
    for candidate in (_CHECKOUT / name, _PACKAGE / f"_default_{name}"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"sopgen's {name}/ folder is missing from the installation")


@cache
def schema_dir() -> Path:
    return _find("schema")


@cache
def templates_dir() -> Path:
    return _find("templates")
