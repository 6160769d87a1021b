"""HTML rendering: view data in, HTML text out (the same page feeds WeasyPrint)."""

from __future__ import annotations

from pathlib import Path

from sopgen.render.environment import environment
from sopgen.render.view import IndexView, SopView

SOP_TEMPLATE = "sop.html.j2"
INDEX_TEMPLATE = "index.html.j2"


def render_sop(root: Path, view: SopView) -> str:
    """One SOP page; `view.medium` selects the web page or the page WeasyPrint prints."""
    return environment(root).get_template(SOP_TEMPLATE).render(v=view)


def render_index(root: Path, view: IndexView) -> str:
    return environment(root).get_template(INDEX_TEMPLATE).render(v=view)
