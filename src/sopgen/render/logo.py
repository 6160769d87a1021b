"""The company logo (`branding.logo` in sopgen.yaml): the one loader for documents and checklists.

The logo becomes a data: URI inside the page, so pages work from file:// and
PDFs fetch nothing. A URL, a path outside the project, a file that is not
PNG, JPEG or SVG, or a missing file is refused with a problem that points
at the `logo:` line; the page is then made without a logo.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from pathlib import Path

from sopgen.model import Config
from sopgen.problems import Problem, error

LOGO_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".svg": "image/svg+xml",
}

_HINT = "put the logo file in the repository, e.g. branding/logo.png, and give that path"


@dataclass(frozen=True)
class Logo:
    data_uri: str | None
    digest: str  # of the file's bytes: a new logo rebuilds every document


NO_LOGO = Logo(None, "")


def load_logo(root: Path, config: Config) -> tuple[Logo, list[Problem]]:
    """The configured logo as a data: URI, or no logo and the problem with it."""
    if not config.logo:
        return NO_LOGO, []
    mark = config.source.value(("branding", "logo")) if config.source else None
    line, column = (mark.line, mark.column) if mark else (1, 1)

    def refuse(message: str, hint: str) -> tuple[Logo, list[Problem]]:
        return Logo(None, "refused"), [error(config.path, line, column, "bad-logo", message, hint)]

    if "://" in config.logo or config.logo.startswith(("data:", "file:")):
        return refuse(
            f"logo '{config.logo}' is a URL; sopgen never fetches anything for a build", _HINT
        )
    path = root / config.logo
    try:
        inside = path.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError):
        inside = False
    if not inside:
        return refuse(f"logo '{config.logo}' lies outside the project", _HINT)
    mime = LOGO_TYPES.get(path.suffix.lower())
    if mime is None:
        return refuse(
            f"logo '{config.logo}' is not a PNG, JPEG or SVG file",
            "use a .png, .jpg, .jpeg or .svg file",
        )
    try:
        data = path.read_bytes()
    except OSError:
        return refuse(
            f"logo file '{config.logo}' does not exist or cannot be read",
            "give the path of the logo relative to the repository root",
        )
    payload = base64.b64encode(data).decode("ascii")
    return Logo(f"data:{mime};base64,{payload}", hashlib.sha256(data).hexdigest()), []
