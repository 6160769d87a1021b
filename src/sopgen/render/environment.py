"""The Jinja2 environment: the company's `templates/` first, sopgen's defaults second.

Autoescape is on for every template, so text from YAML is always escaped;
the environment is built once per root and reused (compiling templates per
call cost sphinx-needs almost half of a build).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import jinja2

from sopgen.assets import templates_dir
from sopgen.render import barchart, markdown


@cache
def environment(root: Path) -> jinja2.Environment:
    search = []
    override = (root / "templates").resolve()
    default = templates_dir().resolve()
    if override.is_dir() and override != default:
        search.append(str(override))
    search.append(str(default))
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(search),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["md_escape"] = markdown.md_escape  # Markdown output (case checklists)
    env.filters["md_text"] = markdown.md_text
    env.filters["label_lines"] = barchart.label_lines  # chart labels (barchart.svg.j2)
    return env


def template_paths(root: Path) -> list[Path]:
    """Every template file that could shape the output (for the build's content hash)."""
    env = environment(root)
    loader = env.loader
    assert isinstance(loader, jinja2.FileSystemLoader)
    files: list[Path] = []
    for folder in loader.searchpath:
        files.extend(sorted(p for p in Path(folder).rglob("*") if p.is_file()))
    return files
